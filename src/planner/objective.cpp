#include "eclip/planner/objective.hpp"

#include <cmath>
#include <numeric>

#include <fmt/format.h>

namespace eclip {

double Evaluation::total_rps() const { return std::accumulate(throughput_rps.begin(), throughput_rps.end(), 0.0); }

std::vector<double> Evaluation::normalized(const std::vector<double>& alone_rps) const {
  if (alone_rps.size() != throughput_rps.size())
    throw Error(Errc::invalid_argument, fmt::format("objective: {} solo throughputs for {} workers", alone_rps.size(),
                                                    throughput_rps.size()));
  std::vector<double> n(throughput_rps.size());
  for (std::size_t w = 0; w < n.size(); ++w) n[w] = alone_rps[w] > 0 ? throughput_rps[w] / alone_rps[w] : 0;
  return n;
}

double jain(const std::vector<double>& x) {
  double s = 0, s2 = 0;
  for (double v : x) s += v, s2 += v * v;
  return s2 > 0 ? s * s / (static_cast<double>(x.size()) * s2) : 0;
}

const char* to_string(ObjectiveKind k) {
  switch (k) {
    case ObjectiveKind::throughput: return "throughput";
    case ObjectiveKind::energy: return "energy";
    case ObjectiveKind::normalized: return "normalized";
  }
  return "?";
}

ObjectiveKind objective_from_string(const std::string& s) {
  for (ObjectiveKind k : {ObjectiveKind::throughput, ObjectiveKind::energy, ObjectiveKind::normalized})
    if (s == to_string(k)) return k;
  throw Error(Errc::invalid_argument,
              fmt::format("unknown objective \"{}\" (known: throughput, energy, normalized)", s));
}

void Objective::validate(std::size_t workers) const {
  if (!alone_rps.empty() && alone_rps.size() != workers)
    throw Error(Errc::invalid_argument,
                fmt::format("objective: {} solo throughputs (alone_rps) for {} workers", alone_rps.size(), workers));
  for (std::size_t w = 0; w < alone_rps.size(); ++w)
    if (!(alone_rps[w] > 0) || !std::isfinite(alone_rps[w]))
      throw Error(Errc::invalid_argument,
                  fmt::format("objective: alone_rps[{}] = {}: expected a positive finite rate", w, alone_rps[w]));
  if (kind == ObjectiveKind::normalized && alone_rps.empty())
    throw Error(Errc::invalid_argument, "objective: \"normalized\" needs each worker's solo throughput (alone_rps)");
  if (!(jain_floor >= 0 && jain_floor <= 1))
    throw Error(Errc::invalid_argument, fmt::format("objective: jain_floor {} is outside [0, 1]", jain_floor));
  if (!p95_limit_ms.empty() && p95_limit_ms.size() != workers)
    throw Error(Errc::invalid_argument,
                fmt::format("objective: {} p95 limits for {} workers", p95_limit_ms.size(), workers));
  for (std::size_t w = 0; w < p95_limit_ms.size(); ++w)
    if (std::isnan(p95_limit_ms[w]))
      throw Error(Errc::invalid_argument, fmt::format("objective: p95_limit_ms[{}] is NaN", w));
  if (!(tolerance >= 0 && tolerance < 1))
    throw Error(Errc::invalid_argument, fmt::format("objective: tolerance {} is outside [0, 1)", tolerance));
}

double Objective::value(const Evaluation& e) const {
  switch (kind) {
    case ObjectiveKind::throughput: return e.total_rps();
    case ObjectiveKind::energy: return e.inferences_per_j();
    case ObjectiveKind::normalized: {
      const auto n = e.normalized(alone_rps);
      return std::accumulate(n.begin(), n.end(), 0.0);
    }
  }
  return 0;
}

double Objective::score(const Evaluation& e, std::string* why) const {
  constexpr double kRefused = -std::numeric_limits<double>::infinity();
  if (!alone_rps.empty() && jain_floor > 0) {
    const double j = jain(e.normalized(alone_rps));
    // A hair of tolerance: the floor is usually Baseline's own measured index.
    if (j < jain_floor * (1 - tolerance) * (1 - 1e-9)) {
      if (why) *why = fmt::format("Jain's index {:.3f} < floor {:.3f}", j, jain_floor * (1 - tolerance));
      return kRefused;
    }
  }
  for (std::size_t w = 0; w < p95_limit_ms.size() && w < e.p95_ms.size(); ++w)
    if (p95_limit_ms[w] > 0 && e.p95_ms[w] > p95_limit_ms[w] * (1 + tolerance)) {
      if (why)
        *why = fmt::format("worker {} p95 {:.3f} ms > limit {:.3f} ms", w, e.p95_ms[w], p95_limit_ms[w] * (1 + tolerance));
      return kRefused;
    }
  if (kind == ObjectiveKind::energy && !(e.power_w > 0)) {
    if (why) *why = "no power reading: the energy objective needs one";
    return kRefused;
  }
  return value(e);
}

double Objective::violation(const Evaluation& e) const {
  if (kind == ObjectiveKind::energy && !(e.power_w > 0)) return std::numeric_limits<double>::infinity();
  double v = 0;
  if (!alone_rps.empty() && jain_floor > 0) {
    const double j = jain(e.normalized(alone_rps));
    const double floor = jain_floor * (1 - tolerance);
    if (j < floor * (1 - 1e-9)) v += (floor - j) / floor;
  }
  for (std::size_t w = 0; w < p95_limit_ms.size() && w < e.p95_ms.size(); ++w)
    if (p95_limit_ms[w] > 0 && e.p95_ms[w] > p95_limit_ms[w] * (1 + tolerance))
      v += e.p95_ms[w] / (p95_limit_ms[w] * (1 + tolerance)) - 1;
  return v;
}

}  // namespace eclip
