#include "eclip/experiments/colocation.hpp"

namespace eclip {

StrategyPlan make_strategy_plan(Strategy s, const Mix& mix, const Profile& profile, const Topology& topo,
                                SwitchBudget budget, double threshold_tolerance) {
  return make_strategy_plan(s, mix.models, profile, topo, budget, threshold_tolerance);
}

RunResult simulate(const SimDeviceModel& device, const Profile& profile, const Mix& mix, const StrategyPlan& sp,
                   const RunOptions& opt) {
  return simulate(device, profile, mix.models, mix.name, sp, opt);
}

std::vector<double> alone_throughputs(const SimDeviceModel& device, const Profile& profile, const Mix& mix,
                                      const RunOptions& opt) {
  return alone_throughputs(device, profile, mix.models, opt);
}

}  // namespace eclip
