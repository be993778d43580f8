#pragma once
// Co-location experiments on the simulated device: workers in closed loops, each request a
// model's kernel sequence, routed by a strategy's plan through the real PartitionPool and
// KernelRouter onto a SimDevice. This is what `eclip simulate` runs.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "eclip/backend/sim.hpp"
#include "eclip/runtime/observer.hpp"
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

struct RunOptions {
  double duration_ms = 1000;  ///< simulated time, warm-up included
  double warmup_ms = 100;     ///< requests completing before this are not counted
  std::uint64_t seed = 1;     ///< start offsets and kernel-time jitter
  double jitter = 0.05;       ///< each kernel's time is scaled by a uniform factor in [1-j, 1+j]
  /// Sees every routing decision of the run (e.g. an eclip::TraceObserver for `eclip simulate
  /// --trace FILE`): the run is announced by on_run_begin with the name "<device> <mix>
  /// <strategy>" and the simulator's clock (events carry simulated microseconds). Not owned; the
  /// solo reference runs of alone_throughputs are not observed.
  Observer* observer = nullptr;
};

struct WorkerResult {
  std::string model;
  std::uint64_t requests = 0;
  double throughput_rps = 0;
  double p50_ms = 0, p95_ms = 0;
  double switches_per_request = 0, barriers_per_request = 0;
  double normalized = 0;  ///< throughput / throughput alone on the whole device (0 if unknown)
};

struct RunResult {
  std::string device, mix;
  Strategy strategy = Strategy::baseline;
  std::vector<WorkerResult> workers;
  double window_s = 0;
  double throughput_rps = 0;
  double energy_j = 0, avg_power_w = 0, idle_power_w = 0;
  double requests_per_joule = 0;
  double switches_per_request = 0, barriers_per_request = 0, remasks_per_request = 0;
  double jain = 0;  ///< Jain's index over the workers' normalized throughputs (0 if unknown)
  std::uint64_t unrouted = 0, order_violations = 0, masked_streams = 0;
  std::uint64_t kernels_launched = 0, kernels_completed = 0;

  /// Fills each worker's normalized throughput and Jain's index from throughputs alone.
  void normalize(const std::vector<double>& alone_rps);
};

/// Runs one strategy plan on a fresh SimDevice. Deterministic for a given seed.
RunResult simulate(const SimDeviceModel& device, const Profile& profile, const Mix& mix, const StrategyPlan& sp,
                   const RunOptions& opt);

/// Each model of `mix` alone on the whole device (the reference for normalized throughput).
std::vector<double> alone_throughputs(const SimDeviceModel& device, const Profile& profile, const Mix& mix,
                                      const RunOptions& opt);

double jain_index(const std::vector<double>& x);

nlohmann::json to_json(const RunResult& r);

}  // namespace eclip
