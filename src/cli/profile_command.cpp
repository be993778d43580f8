// `eclip profile`: measures real models' kernel groups at each partition size on the NVIDIA GPU by
// running the eclip Python package's profiler, `<python> -m eclip.torch.profile`, with PYTHONPATH
// leading to the package installed beside this executable (or the source tree's python/ when run
// from the build tree) and ECLIP_LIBRARY naming libeclip_c.so. The profiler checks PyTorch, the GPU
// and libeclip_c's cuda backend itself and says which is missing; a missing interpreter is
// reported here.
#include <string>
#include <vector>

#include <fmt/format.h>

#include "commands.hpp"
#include "errors.hpp"
#include "messages.hpp"
#include "python_module.hpp"
#include "values.hpp"

namespace eclip::cli {
namespace {

struct ProfileOptions {
  std::string python = "python3", tool, lib, models, batches = "1,8", out = "profile_h100", reps, sizes, energy_s;
  std::vector<std::string> extra;
};

int run(const ProfileOptions& o) {
  if (o.out.empty()) throw UsageError("--out: empty folder name");
  std::vector<std::string> args;
  if (o.tool.empty()) {
    args.insert(args.end(), {"-m", "eclip.torch.profile"});
  } else {
    check_input_file("--tool", o.tool);
    args.push_back(o.tool);
  }
  args.insert(args.end(), {"--out", o.out, "--batches", o.batches});
  if (!o.models.empty()) args.insert(args.end(), {"--models", o.models});
  if (!o.sizes.empty()) {
    if (o.sizes != "classes" && o.sizes != "all")
      throw UsageError(fmt::format("--sizes \"{}\": expected classes or all", o.sizes));
    args.insert(args.end(), {"--sizes", o.sizes});
  }
  if (!o.reps.empty())
    args.insert(args.end(), {"--reps", std::to_string(parse_unsigned("--reps", o.reps, 1, 1000000))});
  if (!o.energy_s.empty()) {
    parse_real("--energy-s", o.energy_s, 0, 3600);  // refused here, naming the value, before Python starts
    args.insert(args.end(), {"--energy-s", o.energy_s});
  }
  args.insert(args.end(), o.extra.begin(), o.extra.end());

  return run_python(o.python, args, o.lib, "eclip profile");
}

}  // namespace

std::function<int()> add_profile(CLI::App& app) {
  auto o = std::make_shared<ProfileOptions>();
  CLI::App* prof = app.add_subcommand(
      "profile", "measure real models' kernel groups at each partition size on the NVIDIA GPU (needs python3, "
                 "PyTorch and the GPU): runs `python3 -m eclip.torch.profile`, which writes eclip.profile JSON, one "
                 "file per batch size");
  prof->add_option("--out", o->out, "output folder (profile_b<batch>.json, log)")->capture_default_str();
  prof->add_option("--models", o->models, "comma-separated models (default: the paper's seven)");
  prof->add_option("--batches", o->batches, "comma-separated batch sizes")->capture_default_str();
  prof->add_option("--sizes", o->sizes,
                   "classes (the size classes, what eclip-budget reads) or all (every partition size 1..N, what the "
                   "co-location model reads); default: the profiler's (classes)");
  prof->add_option("--reps", o->reps, "timed repetitions per config, 1 to 1000000 (default: the profiler's)");
  prof->add_option("--energy-s", o->energy_s,
                   "seconds each model runs alone on the whole GPU in an NVML energy window, so that the profile "
                   "records each group's dynamic energy (what the simulator's power reads), 0 to 3600; 0: none "
                   "(default: the profiler's, 1)");
  prof->add_option("--python", o->python, "Python interpreter with PyTorch")->capture_default_str();
  prof->add_option("--tool", o->tool, "a profiler script to run instead of the eclip.torch.profile module");
  prof->add_option("--lib", o->lib,
                   "libeclip_c.so built with the CUDA backend, passed as ECLIP_LIBRARY (default: $ECLIP_LIBRARY, else "
                   "beside eclip)");
  prof->add_option("extra", o->extra, "further arguments for the profiler, after --");
  return [o] { return run(*o); };
}

}  // namespace eclip::cli
