#pragma once
// Co-location experiments: the paper's models and mixes, and the co-location simulation
// (eclip/model/colocation_sim.hpp) taking a Mix. This is what `eclip simulate` runs.
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "eclip/backend/sim.hpp"
#include "eclip/model/colocation_sim.hpp"
#include "eclip/plan/plan.hpp"
#include "eclip/plan/profile.hpp"
#include "eclip/planner/strategy.hpp"

namespace eclip {

/// The paper's seven models (ECLIP, arXiv 2506.12598), in the order mixes index them.
inline const std::vector<std::string>& paper_models() {
  static const std::vector<std::string> m{"albert",           "densenet201",        "alexnet", "resnet152",
                                          "resnext101_32x8d", "shufflenet_v2_x1_0", "vgg19"};
  return m;
}

struct Mix {
  std::string name;
  std::vector<std::string> models;  ///< one worker per entry

  /// The seven default mixes of four workers: mix i holds models {i, i+1, i+2, i+4} (mod 7) of
  /// paper_models(). {0,1,2,4} is a (7,4,2) difference set, so every model is in exactly 4 mixes
  /// and every pair of models shares exactly 2: each model and each pairing is weighed equally.
  static std::vector<Mix> defaults();
  /// {"name": "...", "models": ["...", ...]}; errors name the field.
  static Mix from_json(const nlohmann::json& j);
  /// {"format": "eclip.mix", "version": 1, "mixes": [ {...}, ... ]}
  static std::vector<Mix> list_from_json(const nlohmann::json& j);
};

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
