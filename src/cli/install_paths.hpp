#pragma once
// Where eclip's bundled files are, found from the running executable (/proc/self/exe), never from a
// path fixed when eclip was configured: an installed prefix can be moved or copied and still works.
//   installed:   <prefix>/bin/eclip  ->  <prefix>/share/eclip/workloads,
//                <prefix>/lib/python3/dist-packages (the eclip Python package), <prefix>/<libdir>/libeclip_c.so
//   build tree:  eclip.source-dir beside the executable (written by CMake, never installed) names
//                the source tree -> its workloads/ and python/, the build's src/c_api/libeclip_c.so
#include <filesystem>
#include <optional>
#include <string>

namespace eclip::cli {

/// The folder of the running executable, or empty when /proc/self/exe cannot be read.
std::filesystem::path executable_dir();

/// The recorded workloads: $ECLIP_WORKLOADS, else beside the executable as above. Throws
/// UsageError listing what was tried when none exists.
std::filesystem::path bundled_workloads();

/// The folder to put on PYTHONPATH for `python3 -m eclip.torch.profile`; nullopt when the package
/// is neither installed beside this executable nor in its source tree.
std::optional<std::filesystem::path> python_package_dir();

/// libeclip_c.so beside this executable (build tree or install); nullopt when not found.
std::optional<std::filesystem::path> c_library();

}  // namespace eclip::cli
