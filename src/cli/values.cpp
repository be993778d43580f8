#include "values.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>

#include <fmt/format.h>

#include "errors.hpp"

namespace fs = std::filesystem;

namespace eclip::cli {

std::uint64_t parse_unsigned(std::string_view option, const std::string& text, std::uint64_t min, std::uint64_t max) {
  const bool digits = !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits) {
    if (!text.empty() && text[0] == '-' && text.size() > 1 &&
        std::all_of(text.begin() + 1, text.end(), [](char c) { return c >= '0' && c <= '9'; }))
      throw UsageError(fmt::format("{} \"{}\" is negative: expected a whole number from {} to {}", option, text, min, max));
    throw UsageError(fmt::format("{} \"{}\" is not a whole number (expected {} to {})", option, text, min, max));
  }
  errno = 0;
  const unsigned long long v = std::strtoull(text.c_str(), nullptr, 10);
  if (errno == ERANGE || v > max || v < min)
    throw UsageError(fmt::format("{} \"{}\" is out of range: expected {} to {}", option, text, min, max));
  return v;
}

double parse_real(std::string_view option, const std::string& text, double min, double max) {
  char* end = nullptr;
  errno = 0;
  const double v = text.empty() ? 0.0 : std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || std::isspace(static_cast<unsigned char>(text[0])))
    throw UsageError(fmt::format("{} \"{}\" is not a number", option, text));
  if (!std::isfinite(v) || errno == ERANGE)
    throw UsageError(fmt::format("{} \"{}\" is not a finite number", option, text));
  if (v < min || v > max)
    throw UsageError(std::isinf(max) ? fmt::format("{} \"{}\" is out of range: expected at least {}", option, text, min)
                                     : fmt::format("{} \"{}\" is out of range: expected {} to {}", option, text, min, max));
  return v;
}

SwitchBudget parse_budget(std::string_view option, const std::string& text) {
  if (text == "unlimited") return SwitchBudget::unlimited();
  constexpr std::uint64_t most = std::numeric_limits<unsigned>::max() - 1ULL;  // the largest finite budget
  try {
    return SwitchBudget::per_request(static_cast<long long>(parse_unsigned(option, text, 0, most)));
  } catch (const UsageError& e) {
    throw UsageError(fmt::format("{} (a number of switches per request, or \"unlimited\")", e.what()));
  }
}

std::string lower(std::string_view text) {
  std::string s(text);
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

void check_input_file(std::string_view option, const std::string& path) {
  if (path.empty()) throw UsageError(fmt::format("{}: empty file name", option));
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (!fs::exists(st)) throw UsageError(fmt::format("{} \"{}\": no such file", option, path));
  if (fs::is_directory(st)) throw UsageError(fmt::format("{} \"{}\" is a directory, not a file", option, path));
}

void check_input_folder(std::string_view option, const std::string& path) {
  if (path.empty()) throw UsageError(fmt::format("{}: empty folder name", option));
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (!fs::exists(st)) throw UsageError(fmt::format("{} \"{}\": no such folder", option, path));
  if (!fs::is_directory(st)) throw UsageError(fmt::format("{} \"{}\" is not a folder", option, path));
}

std::vector<std::string> unique_items(const std::vector<std::string>& values, std::vector<std::string>& duplicates) {
  std::vector<std::string> out;
  for (const std::string& v : values) {
    size_t start = 0;
    while (start <= v.size()) {
      const size_t comma = std::min(v.find(',', start), v.size());
      std::string item = v.substr(start, comma - start);
      start = comma + 1;
      if (item.empty()) continue;
      if (std::find(out.begin(), out.end(), item) == out.end())
        out.push_back(std::move(item));
      else if (std::find(duplicates.begin(), duplicates.end(), item) == duplicates.end())
        duplicates.push_back(std::move(item));
    }
  }
  return out;
}

}  // namespace eclip::cli
