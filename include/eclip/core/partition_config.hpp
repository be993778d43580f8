#pragma once
// PartitionConfig: a partition size class, counted in topology groups (shader engines on AMD,
// allocation atoms on NVIDIA). MI50: 1/2/3/4 SEs = 15/30/45/60 CUs; H100: 1/2/4/8/16 atoms =
// 8/16/32/64/132 SMs. The largest class is the whole device and needs no mask.
#include <compare>
#include <optional>

#include "eclip/core/topology.hpp"

namespace eclip {

struct PartitionConfig {
  unsigned groups = 0;
  friend auto operator<=>(const PartitionConfig&, const PartitionConfig&) = default;

  bool whole_device(const Topology& t) const { return groups == t.group_count(); }
  unsigned units(const Topology& t) const { return t.units_of(groups); }
  /// The mask of this config for a worker whose partitions grow from `home_group`.
  CuMask mask(const Topology& t, unsigned home_group) const { return t.grow_from(home_group, groups); }
};

/// One partition a pool must hold: `config` for `worker`, grown from `first_group` when the plan
/// gives the worker a home range, else from the topology's spread home (Topology::home_group).
struct PartitionSpec {
  unsigned worker = 0;
  PartitionConfig config;
  std::optional<unsigned> first_group = std::nullopt;
  friend auto operator<=>(const PartitionSpec&, const PartitionSpec&) = default;
};

}  // namespace eclip
