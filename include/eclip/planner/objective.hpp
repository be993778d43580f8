#pragma once
// Objective: what a co-location plan is judged by, measured or predicted, the same way.
//
// An Evaluation is one window of a plan running (measured on the GPU, or predicted by the
// co-location model): each worker's completed requests per second and p95 latency, and the
// device's average power. The Objective turns it into one number to maximise:
//   throughput  sum_w rps_w                                      (requests/s of the whole mix)
//   energy      sum_w rps_w / power                              (inferences per joule)
//   normalized  sum_w rps_w / alone_w                            (each worker's share of its solo speed)
// subject to a fairness floor (Jain's index over rps_w / alone_w at least `jain_floor`) and
// optional per-worker p95 limits. A plan that breaks a constraint scores -infinity and is never
// chosen over one that keeps them; it is still recorded with the reason.
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "eclip/core/error.hpp"
#include "eclip/core/stats.hpp"  // jain

namespace eclip {

struct Evaluation {
  std::vector<double> throughput_rps;  ///< per worker
  std::vector<double> p95_ms;          ///< per worker; empty when unknown
  double power_w = 0;                  ///< average device power over the window; 0 when unknown
  double window_s = 0;                 ///< how long the window was (measured or simulated)

  double total_rps() const;
  double inferences_per_j() const { return power_w > 0 ? total_rps() / power_w : 0; }
  /// Per-worker throughput over its solo throughput (alone_rps, one per worker).
  std::vector<double> normalized(const std::vector<double>& alone_rps) const;
};


enum class ObjectiveKind { throughput, energy, normalized };
/// "throughput", "energy", "normalized".
const char* to_string(ObjectiveKind k);
/// Throws Errc::invalid_argument naming the value and the known names.
ObjectiveKind objective_from_string(const std::string& s);

struct Objective {
  ObjectiveKind kind = ObjectiveKind::throughput;
  /// Each worker's throughput alone on the whole device; needed for `normalized` and for the
  /// fairness floor (without it there is no floor).
  std::vector<double> alone_rps;
  /// Jain's index over normalized throughputs must be at least this. The tuner sets it to
  /// Baseline's measured index by default ("no less fair than not partitioning").
  double jain_floor = 0;
  /// Per worker; <= 0 or absent: no limit.
  std::vector<double> p95_limit_ms;
  /// The constraints hold within this relative margin: Jain's index >= floor x (1 - tolerance),
  /// p95 <= limit x (1 + tolerance). The tuner sets its noise band here: the floor and limits are
  /// usually Baseline's own measured values, which a remeasured Baseline misses half the time by
  /// noise alone (on the H200 at batch 8, Jain 0.963 against a floor of 0.966).
  double tolerance = 0;

  /// Throws naming the field: NaN/negative values, alone_rps missing for `normalized`.
  void validate(std::size_t workers) const;
  /// The value to maximise: -infinity when a constraint is broken (`why` says which, if given).
  double score(const Evaluation& e, std::string* why = nullptr) const;
  /// The objective's value ignoring the constraints.
  double value(const Evaluation& e) const;
  /// What breaks a tie in value (plans within a search's noise band of the best): inferences per
  /// joule for throughput and normalized throughput, total throughput for energy.
  double secondary(const Evaluation& e) const;
  /// The secondary's name: "inferences/J" or "throughput".
  const char* secondary_name() const;
  /// How far e is from keeping the constraints: 0 when it keeps them, else the sum of the relative
  /// shortfalls (the Jain floor's, (floor - index) / floor, and each p95 limit's, p95 / limit - 1),
  /// or infinity without the power reading the energy objective needs. When no plan keeps the
  /// constraints, the search keeps the one that breaks them least.
  double violation(const Evaluation& e) const;
  /// a ranks above b as a search ranks plans: it breaks the constraints less (those that keep them
  /// first), ties broken by the higher value.
  bool ranks_above(const Evaluation& a, const Evaluation& b) const;
  /// The workers a broken constraint points at, ascending: each one over its p95 limit, and while
  /// Jain's index is under the floor, the one furthest below its solo speed (lowest normalized
  /// throughput). Empty when e keeps the constraints. The search tries giving them more SMs first:
  /// the model ranks by throughput, which a move toward a small, latency-bound worker lowers.
  std::vector<unsigned> breaking_workers(const Evaluation& e) const;
};

}  // namespace eclip
