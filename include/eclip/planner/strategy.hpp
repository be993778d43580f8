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
  baseline,     ///< no partitioning: every worker on its whole-device stream
  model_wise,   ///< one static partition per worker (the MIG/MPS analogue): an equal share
  kernel_wise,  ///< each kernel on its minimum-threshold partition, switching whenever it changes
  remask,       ///< kernel-wise choices, but one stream remasked by an IOCTL before every kernel
  eclip,        ///< the optimizer's plan under the switch budget
};
/// "baseline", "model-wise", "kernel-wise", "remask", "eclip".
const char* to_string(Strategy s);
/// The inverse of to_string; throws Errc::invalid_argument naming the unknown name and the known ones.
Strategy strategy_from_string(const std::string& s);

/// A strategy's routing: the plan for the router, and (remask only) each kernel's mask config.
struct StrategyPlan {
  Strategy strategy = Strategy::baseline;
  Plan plan;
  std::vector<std::vector<PartitionConfig>> remask;  ///< [worker][kernel], remask strategy only
};

/// Builds a strategy's plan for `models` (one worker each, names in `profile`). Kernel-wise: if
/// the per-kernel choices need more masked streams than the topology holds, the least-used
/// partitions (by kernel time) are merged into the next larger partition the worker already has,
/// until the pool fits. ECLIP: the Optimizer's plan under `budget` (the other strategies ignore
/// it). The plan is validated against `topo`.
StrategyPlan make_strategy_plan(Strategy s, const std::vector<std::string>& models, const Profile& profile,
                                const Topology& topo,
                                SwitchBudget budget = SwitchBudget::per_request(SwitchBudget::kEclipDefault),
                                double threshold_tolerance = kDefaultThresholdTolerance);

}  // namespace eclip
