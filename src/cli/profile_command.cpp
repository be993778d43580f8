// `eclip profile`: measures real models' kernel groups at each partition size on the NVIDIA GPU by
// running the eclip Python package's profiler, `<python> -m eclip.torch.profile`, with PYTHONPATH
// leading to the package installed beside this executable (or the source tree's python/ when run
// from the build tree) and ECLIP_LIBRARY naming libeclip_c.so. The profiler checks PyTorch, the GPU
// and libeclip_c's cuda backend itself and says which is missing; a missing interpreter is
// reported here.
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "commands.hpp"
#include "errors.hpp"
#include "messages.hpp"
#include "install_paths.hpp"
#include "values.hpp"

extern char** environ;

namespace eclip::cli {
namespace {

struct ProfileOptions {
  std::string python = "python3", tool, lib, models, batches = "1,8", out = "profile_h100", reps;
  std::vector<std::string> extra;
};

/// The environment for the profiler: ours, with PYTHONPATH led by the package folder and
/// ECLIP_LIBRARY set when a library was given or found.
std::vector<std::string> child_environment(const std::string& lib) {
  std::vector<std::string> env;
  const auto package = python_package_dir();
  for (char** e = environ; *e; ++e) {
    const std::string_view kv(*e);
    if (package && kv.starts_with("PYTHONPATH=")) continue;
    if (!lib.empty() && kv.starts_with("ECLIP_LIBRARY=")) continue;
    env.emplace_back(kv);
  }
  if (package) {
    const char* old = std::getenv("PYTHONPATH");
    env.push_back("PYTHONPATH=" + package->string() + (old && *old ? std::string(":") + old : std::string()));
  }
  if (!lib.empty()) env.push_back("ECLIP_LIBRARY=" + lib);
  return env;
}

int run(const ProfileOptions& o) {
  if (o.out.empty()) throw UsageError("--out: empty folder name");
  std::vector<std::string> args{o.python};
  if (o.tool.empty()) {
    args.insert(args.end(), {"-m", "eclip.torch.profile"});
  } else {
    check_input_file("--tool", o.tool);
    args.push_back(o.tool);
  }
  args.insert(args.end(), {"--out", o.out, "--batches", o.batches});
  if (!o.models.empty()) args.insert(args.end(), {"--models", o.models});
  if (!o.reps.empty())
    args.insert(args.end(), {"--reps", std::to_string(parse_unsigned("--reps", o.reps, 1, 1000000))});
  args.insert(args.end(), o.extra.begin(), o.extra.end());

  std::string lib = o.lib;
  if (!lib.empty())
    check_input_file("--lib", lib);
  else if (const char* env = std::getenv("ECLIP_LIBRARY"); env && *env)
    lib = env;
  else if (const auto found = c_library())
    lib = found->string();
  if (!python_package_dir() && o.tool.empty())
    note("the eclip Python package is not beside this eclip; relying on the interpreter's own path");

  std::vector<std::string> env = child_environment(lib);
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::fflush(stdout);
  pid_t pid = 0;
  // posix_spawnp searches PATH for the interpreter; envp is the child's environment.
  if (int rc = posix_spawnp(&pid, o.python.c_str(), nullptr, nullptr, argv.data(), envp.data()); rc != 0)
    throw IoError(fmt::format("eclip profile: cannot run {}: {} (the profiler needs Python 3 with PyTorch and an NVIDIA "
                              "GPU; pass --python PATH)",
                              o.python, std::strerror(rc)));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) throw IoError(fmt::format("waitpid: {}", std::strerror(errno)));
  if (WIFEXITED(status)) {
    const int code = WEXITSTATUS(status);
    if (code == 127) throw IoError(fmt::format("eclip profile: cannot run {} (exit 127)", o.python));
    return code;
  }
  throw IoError(fmt::format("eclip profile: {} was killed by signal {}", o.python,
                            WIFSIGNALED(status) ? WTERMSIG(status) : 0));
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
  prof->add_option("--reps", o->reps, "timed repetitions per config, 1 to 1000000 (default: the profiler's)");
  prof->add_option("--python", o->python, "Python interpreter with PyTorch")->capture_default_str();
  prof->add_option("--tool", o->tool, "a profiler script to run instead of the eclip.torch.profile module");
  prof->add_option("--lib", o->lib,
                   "libeclip_c.so built with the CUDA backend, passed as ECLIP_LIBRARY (default: $ECLIP_LIBRARY, else "
                   "beside eclip)");
  prof->add_option("extra", o->extra, "further arguments for the profiler, after --");
  return [o] { return run(*o); };
}

}  // namespace eclip::cli
