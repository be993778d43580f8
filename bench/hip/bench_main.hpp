#pragma once
// Shared pieces of the hip benchmark programs: their main() (without an AMD GPU it prints
// "SKIPPED: <reason>" and exits 0, so CI can run them), and small helpers.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench_kernels.hpp"
#include "eclip/backend/hip_launch.hpp"

namespace eclip::bench {

inline void ok(hipError_t e, const char* call) { hip::detail::check(e, call); }

/// The q-quantile (0..1) of `v` (sorted in place); 0 for an empty vector.
inline double quantile(std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

}  // namespace eclip::bench

/// main() for a hip benchmark program.
#define ECLIP_HIP_BENCHMARK_MAIN()                                    \
  int main(int argc, char** argv) {                                   \
    const std::string why = eclip::hip::unavailable_reason();        \
    if (!why.empty()) {                                               \
      std::printf("SKIPPED: %s\n", why.c_str());                      \
      return 0;                                                       \
    }                                                                 \
    benchmark::Initialize(&argc, argv);                               \
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1; \
    benchmark::RunSpecifiedBenchmarks();                              \
    benchmark::Shutdown();                                            \
    return 0;                                                         \
  }                                                                   \
  static_assert(true, "")
