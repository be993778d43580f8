#pragma once
// The co-location planner: strategy "eclip". It searches the plan space (eclip/planner/
// plan_space.hpp: static splits with per-worker homes, plus per-segment moves to larger or smaller
// partitions under the switch budget) with the co-location model as the evaluator: the simulation
// of colocation_sim.hpp on a device model whose contention parameters (fair_share: block dispatch;
// bandwidth_slowdown: memory/L2 interference between disjoint partitions) are fitted from measured
// co-runs. The objective is the user's (throughput, inferences/J or normalised throughput) under a
// fairness floor (by default Baseline's predicted Jain index) and optional p95 limits; no
// per-kernel tolerance proxy. The search starts from Baseline, the equal split and splits in
// proportion to each model's solo time, so its plan is never predicted worse than those.
//
// make_plan() is the one entry for every strategy: "eclip" here, the others through
// make_strategy_plan (eclip/planner/strategy.hpp).
#include <string>
#include <vector>

#include "eclip/backend/sim.hpp"
#include "eclip/model/colocation_sim.hpp"
#include "eclip/planner/objective.hpp"
#include "eclip/planner/search.hpp"
#include "eclip/planner/strategy.hpp"

namespace eclip {

struct ColocationPlanOptions {
  ObjectiveKind objective = ObjectiveKind::throughput;
  /// Jain's index floor; < 0 (default): Baseline's predicted index.
  double jain_floor = -1;
  std::vector<double> p95_limit_ms;  ///< per worker, optional
  /// Segments per worker a plan may place apart (equal shares of its solo time); 1 = static splits only.
  unsigned segments = 4;
  SwitchBudget budget = SwitchBudget::per_request(SwitchBudget::kEclipDefault);
  /// The simulation each candidate is predicted with: 400 ms with a 50-ms warm-up by default,
  /// enough requests of the slowest paper model for a stable rate and a plan in seconds; `eclip
  /// simulate` passes its own options, so the plan it picks is the one its table shows best.
  RunOptions run = [] {
    RunOptions r;
    r.duration_ms = 400;
    r.warmup_ms = 50;
    return r;
  }();
  SearchOptions search = [] {
    SearchOptions s;
    s.noise = 0;  // a deterministic model: any gain is a gain
    s.max_trials = 150;
    return s;
  }();
};

/// The model's prediction for one plan.
Evaluation predict(const SimDeviceModel& device, const Profile& profile, const std::vector<std::string>& models,
                   const Plan& plan, const RunOptions& run);

struct ColocationPlan {
  Plan plan;
  SearchResult search;
  Objective objective;
  std::vector<double> alone_rps;  ///< predicted, each model alone on the whole device
};

/// The search with the model; throws naming the model or option that is wrong.
ColocationPlan plan_colocation(const SimDeviceModel& device, const Profile& profile,
                               const std::vector<std::string>& models, const ColocationPlanOptions& options = {});

/// The model's best plans as starts of a measured search in `space` (eclip_search with a
/// predictor): for each objective kind of `kinds` in turn, the best plan of plan_colocation (with
/// `options`, its objective that kind) that `space` can spell (PlanSpace::translated: valid within
/// its budget) and that `starts` does not hold already, appended to `starts`; none for a kind whose
/// every plan is refused or a start already.
void add_model_starts(const SimDeviceModel& device, const Profile& profile, const PlanSpace& space,
                      ColocationPlanOptions options, const std::vector<ObjectiveKind>& kinds,
                      std::vector<Candidate>& starts);

/// The plan space of `models` on `profile` (segments of equal solo time, the budget).
PlanSpace plan_space(const Topology& topo, const Profile& profile, const std::vector<std::string>& models,
                     unsigned segments, SwitchBudget budget);

/// Every strategy's plan: "eclip" by plan_colocation (with `options`, its budget replaced by
/// `budget`), the others by make_strategy_plan, from `profile` restricted to the topology's size
/// classes when they need them (a profile of every partition size holds them).
StrategyPlan make_plan(Strategy s, const SimDeviceModel& device, const std::vector<std::string>& models,
                       const Profile& profile, SwitchBudget budget, double threshold_tolerance,
                       ColocationPlanOptions options = {});

}  // namespace eclip
