#include "install_paths.hpp"

#include <cstdlib>
#include <fstream>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "errors.hpp"

// Set by CMake (src/cli/CMakeLists.txt): paths from the install's bin folder to its data, Python
// and library folders, relative. No absolute path is compiled in: in the build tree a file beside
// the executable, eclip.source-dir, names the source tree (it is not installed).
#ifndef ECLIP_BIN_TO_DATA
#error "ECLIP_BIN_TO_DATA must be defined (bin -> share/eclip, relative)"
#endif

namespace fs = std::filesystem;

namespace eclip::cli {
namespace {

/// The source tree, when this executable runs from its build folder (eclip.source-dir beside it).
std::optional<fs::path> source_tree() {
  const fs::path here = executable_dir();
  if (here.empty()) return std::nullopt;
  std::ifstream in(here / "eclip.source-dir");
  std::string line;
  if (!in || !std::getline(in, line) || line.empty()) return std::nullopt;
  return fs::path(line);
}

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
  if (const auto src = source_tree()) tried.push_back(*src / "workloads");
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
  if (const auto src = source_tree()) tried.push_back(*src / "python");
  for (const fs::path& p : tried)
    if (fs::is_directory(p / "eclip")) return p;
  return std::nullopt;
}

std::optional<fs::path> c_library() {
  const fs::path here = executable_dir();
  if (here.empty()) return std::nullopt;
  std::vector<fs::path> tried{(here / ECLIP_BIN_TO_LIB / "libeclip_c.so").lexically_normal()};
  if (source_tree()) tried.push_back(here / "src" / "c_api" / "libeclip_c.so");
  for (const fs::path& p : tried)
    if (fs::exists(p)) return p;
  return std::nullopt;
}

}  // namespace eclip::cli
