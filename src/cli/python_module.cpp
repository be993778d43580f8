#include "python_module.hpp"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "errors.hpp"
#include "install_paths.hpp"
#include "messages.hpp"
#include "values.hpp"

extern char** environ;

namespace eclip::cli {
namespace {

/// The environment for the module: ours, with PYTHONPATH led by the package folder and
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

}  // namespace

int run_python(const std::string& python, const std::vector<std::string>& module_args, const std::string& lib_option,
               const std::string& command) {
  std::vector<std::string> args{python};
  args.insert(args.end(), module_args.begin(), module_args.end());
  std::string lib = lib_option;
  if (!lib.empty())
    check_input_file("--lib", lib);
  else if (const char* env = std::getenv("ECLIP_LIBRARY"); env && *env)
    lib = env;
  else if (const auto found = c_library())
    lib = found->string();
  if (!python_package_dir())
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
  if (int rc = posix_spawnp(&pid, python.c_str(), nullptr, nullptr, argv.data(), envp.data()); rc != 0)
    throw IoError(fmt::format("{}: cannot run {}: {} (it needs Python 3 with PyTorch and an NVIDIA GPU; pass "
                              "--python PATH)",
                              command, python, std::strerror(rc)));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) throw IoError(fmt::format("waitpid: {}", std::strerror(errno)));
  if (WIFEXITED(status)) {
    const int code = WEXITSTATUS(status);
    if (code == 127) throw IoError(fmt::format("{}: cannot run {} (exit 127)", command, python));
    return code;
  }
  throw IoError(fmt::format("{}: {} was killed by signal {}", command, python,
                            WIFSIGNALED(status) ? WTERMSIG(status) : 0));
}

}  // namespace eclip::cli
