#pragma once
// The co-location simulation: workers in closed loops, each request a model's kernel sequence,
// routed by a strategy's plan through the real PartitionPool and KernelRouter onto a SimDevice.
// `eclip simulate` runs it (through eclip/experiments/colocation.hpp's Mix overloads), and
// callers of the library or the C ABI can predict a co-location plan's throughput, latency and
// energy with it before running it on hardware. Every figure it returns is simulated
// (docs/simulator.md says what the device model does and does not capture).
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "eclip/backend/sim.hpp"
#include "eclip/plan/profile.hpp"
#include "eclip/planner/strategy.hpp"
#include "eclip/runtime/observer.hpp"

namespace eclip {

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

/// Runs one strategy plan on a fresh SimDevice: worker w runs `models[w]` (a model of `profile`)
/// under `sp.plan.workers[w]`. `mix_name` only labels the result and the observed run.
/// Deterministic for a given seed. Throws Error(invalid_argument) on bad options, a plan whose
/// worker count or kernel counts do not match the models, or a model without kernels.
RunResult simulate(const SimDeviceModel& device, const Profile& profile, const std::vector<std::string>& models,
                   const std::string& mix_name, const StrategyPlan& sp, const RunOptions& opt);

/// Each of `models` alone on the whole device under Baseline (the reference for normalized
/// throughput), in the order given.
std::vector<double> alone_throughputs(const SimDeviceModel& device, const Profile& profile,
                                      const std::vector<std::string>& models, const RunOptions& opt);

nlohmann::json to_json(const RunResult& r);

}  // namespace eclip
