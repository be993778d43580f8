#pragma once
// Errors eclip raises. Every message names the offending value and what was expected
// ("unit 61 out of range: device has 60 units"), never just "invalid argument".
#include <stdexcept>
#include <string>

namespace eclip {

/// What kind of failure an Error is; the C ABI returns these as codes.
enum class Errc : int {
  invalid_argument = 1,  ///< a value outside its documented range
  capacity = 2,          ///< more partitions/streams than the hardware holds
  parse = 3,             ///< a malformed plan, profile or workload file
  backend = 4,           ///< a GPU API call failed (the message names the call)
  unavailable = 5,       ///< a backend or device is missing at run time
};

class Error : public std::runtime_error {
 public:
  Error(Errc code, const std::string& what) : std::runtime_error(what), code_(code) {}
  Errc code() const noexcept { return code_; }

 private:
  Errc code_;
};

}  // namespace eclip
