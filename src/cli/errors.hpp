#pragma once
// The CLI's own failures, by exit code: bad input exits 2, a write or run that fails exits 1.
#include <stdexcept>
#include <string>

namespace eclip::cli {

/// Exit codes, documented in `eclip --help` and README.md ("Exit codes").
enum ExitCode : int {
  kOk = 0,
  kFailed = 1,   ///< a run or a write failed (the message says which and why)
  kUsage = 2,    ///< bad input: the message names the option or file and the value
  kGaps = 3,     ///< completed, but some results are missing: a strategy or mix could not run, or a
                 ///< run in which no request finished at all (figures printed as n/a). A single
                 ///< worker with no finished request is a warning (its latency n/a), exit 0.
};

/// Bad input: the message names the option or file and the value. Exit 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
/// A file that could not be written completely. Exit 1.
struct IoError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace eclip::cli
