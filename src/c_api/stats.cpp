// The C ABI's statistics: the library's percentile and Jain's index (eclip/core/stats.hpp), so a
// measured run (Python's eclip.stats) reports with the simulator's and the planner's definitions.
#include <cmath>
#include <vector>

#include <fmt/format.h>

#include "eclip/core/stats.hpp"
#include "eclip/eclip_c.h"
#include "last_error.hpp"

using namespace eclip::c_abi;

extern "C" {

int eclip_percentile(const double* values, size_t n, double q, double* out) {
  return guarded([&] {
    require(out, "out");
    if (n == 0) throw invalid("percentile of no values");
    require(values, "values");
    if (!(q >= 0 && q <= 1)) throw invalid(fmt::format("q {} is outside [0, 1]", q));
    for (size_t i = 0; i < n; ++i)
      if (std::isnan(values[i])) throw invalid(fmt::format("values[{}] is NaN", i));
    *out = eclip::percentile(std::vector<double>(values, values + n), q);
  });
}

int eclip_jain_index(const double* values, size_t n, double* out) {
  return guarded([&] {
    require(out, "out");
    if (n > 0) require(values, "values");
    *out = n ? eclip::jain(std::vector<double>(values, values + n)) : 0.0;
  });
}

}  // extern "C"
