#include "eclip/planner/objective.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>

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

double Objective::secondary(const Evaluation& e) const {
  return kind == ObjectiveKind::energy ? e.total_rps() : e.inferences_per_j();
}

const char* Objective::secondary_name() const { return kind == ObjectiveKind::energy ? "throughput" : "inferences/J"; }

// The constraints, one definition for score, violation and breaking_workers. The floor and the
// limits hold within `tolerance`, and a hair more: they are usually Baseline's own measured values.
namespace {
double effective_floor(const Objective& o) { return o.jain_floor * (1 - o.tolerance); }
/// Jain's index of e when it is under the floor, else nothing (no floor: nothing).
std::optional<double> jain_under_floor(const Objective& o, const Evaluation& e) {
  if (o.alone_rps.empty() || !(o.jain_floor > 0)) return std::nullopt;
  const double j = jain(e.normalized(o.alone_rps));
  if (j < effective_floor(o) * (1 - 1e-9)) return j;
  return std::nullopt;
}
double effective_limit(const Objective& o, std::size_t w) { return o.p95_limit_ms[w] * (1 + o.tolerance); }
bool over_p95_limit(const Objective& o, const Evaluation& e, std::size_t w) {
  return w < o.p95_limit_ms.size() && w < e.p95_ms.size() && o.p95_limit_ms[w] > 0 && e.p95_ms[w] > effective_limit(o, w);
}
}  // namespace

double Objective::score(const Evaluation& e, std::string* why) const {
  constexpr double kRefused = -std::numeric_limits<double>::infinity();
  if (const auto j = jain_under_floor(*this, e)) {
    if (why) *why = fmt::format("Jain's index {:.3f} < floor {:.3f}", *j, effective_floor(*this));
    return kRefused;
  }
  for (std::size_t w = 0; w < e.p95_ms.size(); ++w)
    if (over_p95_limit(*this, e, w)) {
      if (why) *why = fmt::format("worker {} p95 {:.3f} ms > limit {:.3f} ms", w, e.p95_ms[w], effective_limit(*this, w));
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
  if (const auto j = jain_under_floor(*this, e)) v += (effective_floor(*this) - *j) / effective_floor(*this);
  for (std::size_t w = 0; w < e.p95_ms.size(); ++w)
    if (over_p95_limit(*this, e, w)) v += e.p95_ms[w] / effective_limit(*this, w) - 1;
  return v;
}

bool Objective::ranks_above(const Evaluation& a, const Evaluation& b) const {
  const double va = violation(a), vb = violation(b);
  return va < vb || (va == vb && value(a) > value(b));
}

std::vector<unsigned> Objective::breaking_workers(const Evaluation& e) const {
  std::vector<unsigned> out;
  for (std::size_t w = 0; w < e.p95_ms.size(); ++w)
    if (over_p95_limit(*this, e, w)) out.push_back(static_cast<unsigned>(w));
  if (jain_under_floor(*this, e)) {
    const std::vector<double> n = e.normalized(alone_rps);
    const auto slowest = static_cast<unsigned>(std::min_element(n.begin(), n.end()) - n.begin());
    if (std::find(out.begin(), out.end(), slowest) == out.end()) out.push_back(slowest);
    std::sort(out.begin(), out.end());
  }
  return out;
}

}  // namespace eclip
