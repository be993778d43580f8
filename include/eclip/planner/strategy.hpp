#pragma once
// The co-location strategies a plan can be built with, from a profile and a list of models (one
// worker each): no partitioning, one static partition per worker, one partition per kernel, or
// ECLIP's optimizer under a switch budget. `eclip plan`, the simulation and the C ABI's
// eclip_plan_make all build their plans here.
#include <string>
#include <vector>

#include "eclip/core/partition_config.hpp"
#include "eclip/core/switch_budget.hpp"
#include "eclip/core/topology.hpp"
#include "eclip/plan/plan.hpp"
#include "eclip/plan/profile.hpp"

namespace eclip {

enum class Strategy {
  baseline,      ///< no partitioning: every worker on its whole-device stream
  model_wise,    ///< one static partition per worker (the MIG/MPS analogue): an equal size class
  static_equal,  ///< the equal static split: every group of the device, N / W to each worker's home
  kernel_wise,   ///< each kernel on its minimum-threshold partition, switching whenever it changes
  remask,        ///< kernel-wise choices, but one stream remasked by an IOCTL before every kernel
  eclip_budget,  ///< ECLIP's optimizer (per-kernel thresholds, even-sharing contention) under the budget
  eclip,         ///< the co-location planner: the plan space searched with the co-location model
};
/// "baseline", "model-wise", "static-equal", "kernel-wise", "remask", "eclip-budget", "eclip".
const char* to_string(Strategy s);
inline constexpr Strategy kAllStrategies[] = {Strategy::baseline,    Strategy::model_wise,   Strategy::static_equal,
                                             Strategy::kernel_wise, Strategy::remask,       Strategy::eclip_budget,
                                             Strategy::eclip};
/// The inverse of to_string; throws Errc::invalid_argument naming the unknown name and the known ones.
Strategy strategy_from_string(const std::string& s);
/// "baseline, model-wise, ..." for messages.
std::string strategy_names();

/// A strategy's routing: the plan for the router, and (remask only) each kernel's mask config.
struct StrategyPlan {
  Strategy strategy = Strategy::baseline;
  Plan plan;
  std::vector<std::vector<PartitionConfig>> remask;  ///< [worker][kernel], remask strategy only
};

/// Builds a strategy's plan for `models` (one worker each, names in `profile`). Kernel-wise: if
/// the per-kernel choices need more masked streams than the topology holds, the least-used
/// partitions (by kernel time) are merged into the next larger partition the worker already has,
/// until the pool fits. eclip-budget: the Optimizer's plan under `budget` (the other strategies
/// ignore it). "eclip" needs the co-location model, which lives above the planner: it is made by
/// eclip::make_plan (eclip/model/colocation_planner.hpp); here it is an error that says so. The
/// plan is validated against `topo`.
StrategyPlan make_strategy_plan(Strategy s, const std::vector<std::string>& models, const Profile& profile,
                                const Topology& topo,
                                SwitchBudget budget = SwitchBudget::per_request(SwitchBudget::kEclipDefault),
                                double threshold_tolerance = kDefaultThresholdTolerance);

}  // namespace eclip
