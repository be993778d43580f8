#pragma once
// Progress on stderr for runs that take a while: silent for the first few seconds (a quick run
// prints nothing extra), then one line per finished step. $ECLIP_PROGRESS_AFTER sets the seconds
// (default 3; 0 reports every step).
#include <chrono>
#include <string>

namespace eclip::cli {

class Progress {
 public:
  explicit Progress(unsigned total_steps);
  /// Counts one step done; prints "eclip: [n/total] <what> (t s)" once the run is past the delay.
  void step(const std::string& what);

 private:
  std::chrono::steady_clock::time_point start_;
  double after_s_ = 3;
  unsigned total_ = 0, done_ = 0;
};

}  // namespace eclip::cli
