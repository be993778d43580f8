#pragma once
// Shared by the libFuzzer harnesses: the readers' contract is that bad input raises eclip::Error
// (naming the field); anything else escaping - a nlohmann exception, std::out_of_range, a crash,
// a sanitizer report, a leak, a hang - is a bug the fuzzer reports.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "eclip/core/error.hpp"

namespace eclip_fuzz {

inline std::string text(const std::uint8_t* data, std::size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

/// Parsed JSON, or a discarded value for invalid text (never throws).
inline nlohmann::json parse(const std::string& s) { return nlohmann::json::parse(s, nullptr, /*allow_exceptions=*/false); }

/// A property that must hold for every accepted input; aborts (a finding) when it does not.
inline void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
    std::abort();
  }
}

}  // namespace eclip_fuzz
