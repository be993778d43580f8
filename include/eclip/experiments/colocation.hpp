#pragma once
// Co-location experiments: the co-location simulation
// (eclip/model/colocation_sim.hpp) taking a Mix. This is what `eclip simulate` runs.
#include <string>
#include <vector>

#include "eclip/backend/sim.hpp"
#include "eclip/model/colocation_sim.hpp"
#include "eclip/plan/mix.hpp"
#include "eclip/plan/plan.hpp"
#include "eclip/plan/profile.hpp"
#include "eclip/planner/strategy.hpp"

namespace eclip {

/// make_strategy_plan (eclip/planner/strategy.hpp) for a mix's models.
StrategyPlan make_strategy_plan(Strategy s, const Mix& mix, const Profile& profile, const Topology& topo,
                                SwitchBudget budget = SwitchBudget::per_request(SwitchBudget::kEclipDefault),
                                double threshold_tolerance = kDefaultThresholdTolerance);

/// simulate (eclip/model/colocation_sim.hpp) for a mix: its models, labelled with its name.
RunResult simulate(const SimDeviceModel& device, const Profile& profile, const Mix& mix, const StrategyPlan& sp,
                   const RunOptions& opt);

/// alone_throughputs (eclip/model/colocation_sim.hpp) for a mix's models.
std::vector<double> alone_throughputs(const SimDeviceModel& device, const Profile& profile, const Mix& mix,
                                      const RunOptions& opt);

}  // namespace eclip
