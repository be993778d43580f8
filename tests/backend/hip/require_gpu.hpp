#pragma once
// Hardware tests start with require_amd_gpu(): without an AMD GPU it prints
// "SKIPPED: no AMD GPU (hipGetDeviceCount = hipErrorNoDevice)" and exits with 77, which ctest
// reports as skipped (SKIP_RETURN_CODE 77). A hardware test never passes silently.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "eclip/backend/hip.hpp"

namespace eclip::testing {

inline void require_amd_gpu() {
  const std::string why = hip::unavailable_reason();
  if (why.empty()) return;
  std::printf("SKIPPED: %s\n", why.c_str());
  std::fflush(stdout);
  std::exit(77);
}

}  // namespace eclip::testing
