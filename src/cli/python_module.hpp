#pragma once
// Runs a module of the eclip Python package (eclip.torch.profile, eclip.torch.tune) the way the
// installed `eclip` finds it: PYTHONPATH led by the package beside this executable (or the source
// tree's python/), ECLIP_LIBRARY naming libeclip_c.so (--lib, else $ECLIP_LIBRARY, else the one
// beside eclip). Returns the module's exit code; a missing interpreter or a killed child is an
// IoError naming it.
#include <string>
#include <vector>

namespace eclip::cli {

/// args: everything after the interpreter (e.g. {"-m", "eclip.torch.tune", "--models", ...}).
/// command: the eclip subcommand, for messages ("eclip tune").
int run_python(const std::string& python, const std::vector<std::string>& args, const std::string& lib_option,
               const std::string& command);

}  // namespace eclip::cli
