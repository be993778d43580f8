#include "install_paths.hpp"

#include <cstdlib>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "errors.hpp"

// Set by CMake (src/cli/CMakeLists.txt): paths from the install's bin folder to its data, Python
// and library folders, and the build tree this executable was built in. The build-tree paths are
// used only while the executable runs from that build folder.
#ifndef ECLIP_BIN_TO_DATA
#error "ECLIP_BIN_TO_DATA must be defined (bin -> share/eclip, relative)"
#endif

namespace fs = std::filesystem;

namespace eclip::cli {
namespace {

bool same_folder(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  return !a.empty() && fs::equivalent(a, b, ec);
}

bool running_from_build_tree() { return same_folder(executable_dir(), ECLIP_BUILD_BIN_DIR); }

}  // namespace

fs::path executable_dir() {
  std::error_code ec;
  const fs::path p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : p.parent_path();
}

fs::path bundled_workloads() {
  std::vector<fs::path> tried;
  if (const char* env = std::getenv("ECLIP_WORKLOADS"); env && *env) {
    if (fs::is_directory(env)) return env;
    throw UsageError(fmt::format("ECLIP_WORKLOADS \"{}\" is not a folder", env));
  }
  const fs::path here = executable_dir();
  if (!here.empty()) tried.push_back((here / ECLIP_BIN_TO_DATA / "workloads").lexically_normal());
  if (running_from_build_tree()) tried.push_back(fs::path(ECLIP_SOURCE_DIR) / "workloads");
  for (const fs::path& p : tried)
    if (fs::is_directory(p)) return p;
  std::vector<std::string> names;
  for (const fs::path& p : tried) names.push_back(p.string());
  throw UsageError(fmt::format("cannot find the bundled workloads (tried {}); pass --workloads DIR or set ECLIP_WORKLOADS",
                               names.empty() ? std::string("nothing: /proc/self/exe unreadable") : fmt::format("{}", fmt::join(names, ", "))));
}

std::optional<fs::path> python_package_dir() {
  const fs::path here = executable_dir();
  if (here.empty()) return std::nullopt;
  std::vector<fs::path> tried{(here / ECLIP_BIN_TO_PYTHON).lexically_normal()};
  if (running_from_build_tree()) tried.push_back(fs::path(ECLIP_SOURCE_DIR) / "python");
  for (const fs::path& p : tried)
    if (fs::is_directory(p / "eclip")) return p;
  return std::nullopt;
}

std::optional<fs::path> c_library() {
  const fs::path here = executable_dir();
  if (here.empty()) return std::nullopt;
  std::vector<fs::path> tried{(here / ECLIP_BIN_TO_LIB / "libeclip_c.so").lexically_normal()};
  if (running_from_build_tree()) tried.push_back(here / "src" / "c_api" / "libeclip_c.so");
  for (const fs::path& p : tried)
    if (fs::exists(p)) return p;
  return std::nullopt;
}

}  // namespace eclip::cli
