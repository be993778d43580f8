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
#include <string_view>
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
  /// Home groups per worker of static splits the search starts from besides Baseline, the equal
  /// split and the solo-time-proportional splits (e.g. the model's best static split, so that its
  /// per-segment moves are searched around it).
  std::vector<std::vector<unsigned>> start_splits;
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

/// The model's prediction for candidate `c` of `space` (its models; its positions the profile's
/// kernels).
Evaluation predict(const SimDeviceModel& device, const Profile& profile, const PlanSpace& space, const Candidate& c,
                   const RunOptions& run);

/// predict() for each candidate of `space`, in order, on up to `threads` threads (0: one per hardware thread). The candidates are
/// independent and the simulation deterministic for a seed, so the answer does not depend on the
/// count. Throws the first candidate's error (in order) when one cannot be predicted.
std::vector<Evaluation> predict_each(const SimDeviceModel& device, const Profile& profile, const PlanSpace& space,
                                     const std::vector<Candidate>& candidates, const RunOptions& run,
                                     unsigned threads = 0);

/// The objective the model judges plans of `models` by: options' kind and p95 limits, each model's
/// predicted solo throughput, and options' Jain floor or, when it is < 0, the model's Baseline's
/// predicted index.
Objective model_objective(const SimDeviceModel& device, const Profile& profile, const std::vector<std::string>& models,
                          const ColocationPlanOptions& options);

/// Of `evaluations` (one per candidate), the index of the best under `objective`: the highest score
/// (ties: value); when none keeps the constraints, the one that breaks them least (ties: value),
/// as the search ranks them. Throws when there are none.
std::size_t best_of(const Objective& objective, const std::vector<Evaluation>& evaluations);

struct ColocationPlan {
  Plan plan;
  SearchResult search;
  Objective objective;
  std::vector<double> alone_rps;  ///< predicted, each model alone on the whole device
};

/// The search with the model; throws naming the model or option that is wrong.
ColocationPlan plan_colocation(const SimDeviceModel& device, const Profile& profile,
                               const std::vector<std::string>& models, const ColocationPlanOptions& options = {});

/// Which of the model's picks start a measured search. "Other" is the other of throughput and
/// energy than the search's objective (normalized: energy).
enum class ModelStart {
  best_static,        ///< the best static split (every one predicted) under the objective
  best_static_other,  ///< the same under the other objective
  best_plan,          ///< plan_colocation's best plan (per-segment moves), searched from best_static too
  best_plan_other,    ///< the same under the other objective
};
std::string_view to_string(ModelStart s) noexcept;
/// "static", "static-other", "plan", "plan-other"; throws naming the text otherwise.
ModelStart model_start_from_string(std::string_view s);
/// What a measured search starts from by default: both best static splits and the best plan grown
/// from the best static split. On the H200 at batch 1 (docs/results/h200-colocation-2026-11-30,
/// static_rank_*.json) the model ordered the measured static splits of each mix with Spearman
/// 0.84-0.99 (mix4: 0.65), its pick among them the measured best or within 1.2 % of it; its plans
/// with per-segment moves it over-rates (mix5's plan start 4/4+/4+/3 measured 2097 req/s, 6 % under
/// the static 2/4/8/2 of a 28-split search that session, which it ranked first).
inline const std::vector<ModelStart> kDefaultModelStarts{ModelStart::best_static, ModelStart::best_static_other,
                                                         ModelStart::best_plan};

/// The model's picks as starts of a measured search in `space` (eclip_search with a predictor),
/// options.objective the search's: each of `which` in turn, as `space` spells it
/// (PlanSpace::translated: valid within its budget) and not a start already, appended to `starts`
/// (a plan pick falls back to its next best plan; none when every one is refused or a start).
void add_model_starts(const SimDeviceModel& device, const Profile& profile, const PlanSpace& space,
                      ColocationPlanOptions options, const std::vector<ModelStart>& which,
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
