#pragma once
// Plan: for each worker, its request's kernels cut into consecutive groups, each with the
// partition config it runs on. A switch can happen only at a group boundary. Plans are written
// and read as versioned JSON ("format": "eclip.plan"; version 2 adds home ranges, version 1 plans
// are still read, and a plan without homes is still written as version 1).
//
// Home ranges: a plan may give every worker a home, a range of consecutive groups of one split
// (atoms on NVIDIA, shader engines on AMD), disjoint between workers. Each of the worker's
// configs then grows from the first group of its home: a config of the home's size is the
// worker's own partition, a larger one borrows the next workers' groups, a smaller one keeps
// part of its home. Every static split (e.g. 5/4/4/3 atoms of an H200) is a plan of this kind
// with one group per worker. Without homes, workers grow from Topology::home_group (spread
// evenly) and configs are the topology's size classes.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "eclip/core/partition_config.hpp"
#include "eclip/core/switch_budget.hpp"

namespace eclip {

struct KernelGroup {
  std::uint32_t first = 0;  ///< index of the group's first kernel in the request
  std::uint32_t count = 0;  ///< kernels in the group (> 0)
  PartitionConfig config;
  friend bool operator==(const KernelGroup&, const KernelGroup&) = default;
};

/// A worker's own groups: [first, first + groups), no wrap-around.
struct HomeRange {
  unsigned first = 0;
  unsigned groups = 0;
  unsigned end() const { return first + groups; }
  friend bool operator==(const HomeRange&, const HomeRange&) = default;
};

struct WorkerPlan {
  std::string model;
  std::vector<KernelGroup> groups;  ///< consecutive, covering kernels [0, kernel_count())
  /// Optional: the name of every kernel of the request, as the profile recorded it (possibly
  /// truncated; whitespace is not significant). The transparent interposer matches launches to
  /// positions by name, so launches it cannot see (a library's static CUDA runtime) or a drifted
  /// request do not shift the plan. Empty: positions only.
  std::vector<std::string> kernel_names = {};
  /// The worker's home range; all workers of a plan have one or none (see the file comment).
  std::optional<HomeRange> home = std::nullopt;

  std::uint32_t kernel_count() const { return groups.empty() ? 0 : groups.back().first + groups.back().count; }
  /// Partition switches per request: adjacent groups on different configs.
  unsigned switches() const {
    unsigned n = 0;
    for (size_t i = 1; i < groups.size(); ++i) n += groups[i].config != groups[i - 1].config;
    return n;
  }
  /// Config of every kernel, expanded (the router's O(1) lookup table).
  std::vector<PartitionConfig> per_kernel() const;
  /// One group per run of equal configs: the same plan with no redundant boundaries.
  static WorkerPlan from_per_kernel(std::string model, const std::vector<PartitionConfig>& configs);
  friend bool operator==(const WorkerPlan&, const WorkerPlan&) = default;
};

struct Plan {
  static constexpr int kVersion = 2;  ///< written when the plan has homes; 1 otherwise
  /// Upper bound on a worker's kernels per request, so a malformed plan cannot make the router
  /// allocate an absurd lookup table (the paper's largest requests have ~1300 kernels).
  static constexpr std::uint64_t kMaxKernelsPerRequest = std::uint64_t{1} << 24;
  std::string device;    ///< topology name the plan was made for
  std::string strategy;  ///< who made it: "baseline", "model-wise", "kernel-wise", "eclip", ...
  std::optional<SwitchBudget> budget;
  std::vector<WorkerPlan> workers;

  /// The partitions the pool must hold for this plan (whole-device configs need no stream).
  std::vector<PartitionSpec> pool_specs(const Topology& topo) const;
  bool has_homes() const { return !workers.empty() && workers.front().home.has_value(); }
  /// The group a worker's partitions grow from: its home's first group, or Topology::home_group.
  unsigned first_group(unsigned worker, const Topology& topo) const;
  /// Units of `config` for `worker`, as the plan's JSON reports them.
  unsigned units(unsigned worker, PartitionConfig config, const Topology& topo) const;
  /// Throws eclip::Error naming the worker/group/field that is wrong for `topo`: gaps or overlaps
  /// between groups, empty groups, configs the topology lacks, a worker with no kernels, a
  /// budget exceeded, more masked streams than the queue limit, homes that overlap, leave the
  /// device or are given to some workers only.
  void validate(const Topology& topo) const;

  nlohmann::json to_json(const Topology& topo) const;
  /// Parses and validates; errors name the JSON field ("workers[2].groups[5].config").
  static Plan from_json(const nlohmann::json& j, const Topology& topo);
  static Plan from_json_text(const std::string& text, const Topology& topo);
  friend bool operator==(const Plan&, const Plan&) = default;
};

}  // namespace eclip
