#pragma once
// What the CLI tells the user besides its results, on stderr so stdout stays the tables or JSON.
#include <string>

#include <fmt/format.h>

namespace eclip::cli {

/// "eclip: note: ..." (a duplicate dropped, a fallback taken).
inline void note(const std::string& text) { fmt::print(stderr, "eclip: note: {}\n", text); }
/// "eclip: warning: ..." (a result missing or undefined).
inline void warn(const std::string& text) { fmt::print(stderr, "eclip: warning: {}\n", text); }

}  // namespace eclip::cli
