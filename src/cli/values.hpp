#pragma once
// Command-line values read strictly: every number is checked whole, in range and finite, and every
// refusal is a UsageError naming the option and the value as typed. Options are taken as text and
// parsed here rather than by CLI11, so "-1" is never wrapped into an unsigned seed and "nan" never
// passes a range check.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "eclip/core/switch_budget.hpp"

namespace eclip::cli {

/// A whole number in [min, max]: "-1" for a count is refused as negative, 2^64 as out of range.
std::uint64_t parse_unsigned(std::string_view option, const std::string& text, std::uint64_t min, std::uint64_t max);

/// A finite real number in [min, max] (max may be infinity); "nan", "inf", "1e999" refused.
double parse_real(std::string_view option, const std::string& text, double min, double max);

/// "unlimited" or a switch count per request; the message for 18446744073709551615 says it is
/// too large, never that it is negative.
SwitchBudget parse_budget(std::string_view option, const std::string& text);

/// ASCII lower case: device presets are matched without regard to case ("MI50" = "mi50").
std::string lower(std::string_view text);

/// A file to read: it must exist and not be a folder. Throws UsageError naming `option` and `path`.
void check_input_file(std::string_view option, const std::string& path);

/// A folder to read from: it must exist and be a folder.
void check_input_folder(std::string_view option, const std::string& path);

/// The comma-separated items of each value, in order, each kept once; `duplicates` gets the ones
/// given more than once (for a note), without repeats.
std::vector<std::string> unique_items(const std::vector<std::string>& values, std::vector<std::string>& duplicates);

}  // namespace eclip::cli
