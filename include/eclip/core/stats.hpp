#pragma once
// The statistics every layer reports runs with, defined once: the simulator (p50/p95 latency), the
// planner (Jain's index over normalised throughputs) and, through the C ABI, the Python runner on
// the GPU, so a measured run and a simulated one are compared on one footing.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace eclip {

/// Jain's fairness index of x: (sum x)^2 / (n sum x^2), 1 = perfectly even, 1/n = one has all;
/// 0 for an empty x or all zeros.
inline double jain(const std::vector<double>& x) {
  double s = 0, s2 = 0;
  for (double v : x) s += v, s2 += v * v;
  return s2 > 0 ? s * s / (static_cast<double>(x.size()) * s2) : 0;
}

/// Nearest rank: the smallest value with at least q (0..1, clamped; NaN counts as 0) of the
/// samples at or below it (no interpolation: a p95 is a latency some request had); 0 for no
/// samples. The samples must not be NaN (the C ABI refuses them).
inline double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  q = q > 0 ? std::min(q, 1.0) : 0.0;
  std::sort(v.begin(), v.end());
  const std::size_t rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
}

}  // namespace eclip
