#include "progress.hpp"

#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

namespace eclip::cli {

Progress::Progress(unsigned total_steps) : start_(std::chrono::steady_clock::now()), total_(total_steps) {
  if (const char* env = std::getenv("ECLIP_PROGRESS_AFTER"); env && *env) {
    char* end = nullptr;
    const double v = std::strtod(env, &end);
    if (end && *end == '\0' && v >= 0) after_s_ = v;  // a malformed value keeps the default
  }
}

void Progress::step(const std::string& what) {
  ++done_;
  const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  if (t < after_s_) return;
  fmt::print(stderr, "eclip: [{}/{}] {} ({:.1f} s)\n", done_, total_, what, t);
  std::fflush(stderr);
}

}  // namespace eclip::cli
