#pragma once
// Profiles: how long each kernel of a model takes at each partition size.
//
// A Workload is a raw recording on one device at measured unit counts (workloads/h100/*.json:
// per kernel, microseconds at 8/16/32/64/132 SMs; see docs/workloads.md). A Profile is what the
// optimizer and the simulator read: per kernel, microseconds at each size class of a target
// topology. Workload::project() maps one onto the other by fraction of the device.
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "eclip/core/topology.hpp"

namespace eclip {

struct KernelProfile {
  std::string name;
  std::vector<double> us;  ///< microseconds, one per unit count / size class (same order)
  /// Thread blocks (workgroups) of one launch, 0 if unknown. A kernel of B blocks occupies at
  /// most B units at once, and up to that many it spreads over every unit its mask allows,
  /// whether or not it runs faster there: the waste partitioning removes.
  unsigned blocks = 0;
  /// Dynamic energy of one execution, microjoules above the idle device's power, 0 if unknown.
  /// A profile of measured power carries it (`eclip profile` on a device with an energy counter:
  /// each model's energy per request alone, split over its groups by their whole-device time);
  /// the simulated device then charges each kernel this energy however many units it runs on,
  /// not a power per busy unit (docs/simulator.md, "Power").
  double energy_uj = 0;
  friend bool operator==(const KernelProfile&, const KernelProfile&) = default;
};

/// ECLIP's per-kernel minimum-units threshold: the smallest size class whose time is within
/// (1 + tolerance) of the whole-device time ("not noticeably worse", arXiv 2506.12598). 10% by
/// default. Returns the index into the kernel's times (the last index is the whole device).
inline constexpr double kDefaultThresholdTolerance = 0.10;
inline size_t min_config_index(const KernelProfile& k, double tolerance = kDefaultThresholdTolerance) {
  if (k.us.empty()) throw Error(Errc::invalid_argument, fmt::format("kernel {} has no times", k.name));
  for (size_t i = 0; i < k.us.size(); ++i)
    if (k.us[i] <= (1.0 + tolerance) * k.us.back()) return i;
  return k.us.size() - 1;
}

/// Time of a kernel at `units` units, given its times at ascending `unit_counts`. Piecewise
/// linear in 1/units between measured points (time ~ a + b/units, Amdahl's shape); below the
/// smallest count it scales as 1/units; above the largest it stays flat.
double interpolate_us(const std::vector<unsigned>& unit_counts, const std::vector<double>& us, double units);

struct ModelProfile {
  std::string model;
  /// Host time between consecutive launches of this model (framework + launch API), so a
  /// simulated worker launches no faster than the real one did.
  double host_gap_us = 0;
  std::vector<KernelProfile> kernels;
  friend bool operator==(const ModelProfile&, const ModelProfile&) = default;
};

struct Profile {
  static constexpr int kVersion = 1;
  std::string device;                ///< topology name
  std::vector<unsigned> configs;     ///< size classes, in groups (= topology.size_classes)
  std::vector<unsigned> units;       ///< units of each size class
  std::vector<ModelProfile> models;

  /// Throws naming the model when absent.
  const ModelProfile& model(const std::string& name) const;
  /// The same profile at a subset of its configs (e.g. a profile of every partition size
  /// restricted to the topology's size classes); throws naming a config it lacks.
  Profile restricted_to(const std::vector<unsigned>& configs) const;
  /// Throws naming model/kernel/field: wrong number of times, non-positive or non-finite times.
  void validate() const;
  nlohmann::json to_json() const;
  static Profile from_json(const nlohmann::json& j);
  static Profile load(const std::string& path);
  friend bool operator==(const Profile&, const Profile&) = default;
};

struct Workload {
  static constexpr int kVersion = 1;
  std::string model;
  std::string device;
  std::vector<unsigned> unit_counts;  ///< ascending; the last one is the whole recording device
  std::optional<double> eager_latency_full_us;  ///< one eager request alone on the whole device (informational)
  std::vector<KernelProfile> kernels;

  static Workload from_json(const nlohmann::json& j, const std::string& source);
  static Workload load(const std::string& path);

  /// This model's profile on `topo`: a size class covering fraction f of the target device gets
  /// the recorded time at f of the recording device, times `time_scale` (how much slower the
  /// target runs the same kernel on the same fraction of itself). `min_host_gap_us` is the
  /// target's launch API cost, the simulated host's pace between launches.
  ModelProfile project(const Topology& topo, double time_scale, double min_host_gap_us) const;
};

/// Loads workloads/<dir>/<model>.json for each model and projects them onto `topo`.
Profile make_profile(const Topology& topo, const std::vector<Workload>& workloads, double time_scale,
                     double min_host_gap_us);

}  // namespace eclip
