#pragma once
// Topology: how a device's compute units are grouped and how many masked queues it can hold.
//
// AMD: a group is a shader engine (SE). A CU mask that covers whole SEs keeps each partition's
// work on its own SE's workgroup dispatcher, which is why ECLIP sizes partitions in SEs.
// NVIDIA: a group is an allocation atom, the granule green contexts split SMs into (8 SMs on
// Hopper, cc 9.0). Groups are numbered units: group g covers units [first(g), first(g)+size(g)).
#include <numeric>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "eclip/core/cu_mask.hpp"
#include "eclip/core/error.hpp"

namespace eclip {

enum class Vendor { amd, nvidia };

struct Topology {
  std::string name;
  Vendor vendor = Vendor::amd;
  std::vector<unsigned> group_sizes;  ///< units per group, in unit order
  /// Most CU-masked streams the pool may create. More oversubscribes the hardware queues:
  /// queues then time-share, and tail latency spikes (ECLIP, measured on MI50).
  unsigned max_masked_streams = 0;
  /// Partition size classes, in groups, ascending; the last one is the whole device.
  std::vector<unsigned> size_classes;
  std::string source;  ///< where the numbers come from

  unsigned units() const { return std::accumulate(group_sizes.begin(), group_sizes.end(), 0U); }
  unsigned group_count() const { return static_cast<unsigned>(group_sizes.size()); }
  unsigned group_first_unit(unsigned g) const {
    check_group(g);
    return std::accumulate(group_sizes.begin(), group_sizes.begin() + g, 0U);
  }
  CuMask group_mask(unsigned g) const { return CuMask::range(units(), group_first_unit(g), group_sizes[g]); }
  CuMask all() const { return CuMask::all(units()); }

  /// The mask of `groups` consecutive groups starting at `home` (wrapping), so each worker's
  /// partitions grow from its own home group and co-located workers overlap as little as possible.
  CuMask grow_from(unsigned home, unsigned groups) const {
    check_group(home);
    if (groups == 0 || groups > group_count())
      throw Error(Errc::invalid_argument,
                  fmt::format("{}: a partition of {} groups is out of range (1..{})", name, groups, group_count()));
    CuMask m(units());
    for (unsigned i = 0; i < groups; ++i) m |= group_mask((home + i) % group_count());
    return m;
  }
  /// Home group of worker `w` of `workers`: spread evenly so workers start as far apart as possible.
  unsigned home_group(unsigned w, unsigned workers) const {
    if (workers == 0 || w >= workers)
      throw Error(Errc::invalid_argument, fmt::format("worker {} out of range: {} workers", w, workers));
    return static_cast<unsigned>((static_cast<unsigned long>(w) * group_count()) / workers);
  }
  /// Whether a partition of group `g` alone can run any kernel. On NVIDIA the split's last group
  /// is the remainder of SMs no whole atom took (12 on an H100/H200): a green context of only those
  /// SMs could not launch cuDNN's thread-block-cluster kernels on the H200
  /// (cudaErrorInvalidClusterSize, docs/hardware.md).
  bool stands_alone(unsigned g) const {
    check_group(g);
    const bool remainder = vendor == Vendor::nvidia && g + 1 == group_count() && group_sizes[g] != group_sizes.front();
    return !remainder;
  }
  /// Units in a partition of `groups` groups starting at group 0 (sizes may be uneven).
  unsigned units_of(unsigned groups) const { return grow_from(0, groups).count(); }

  /// Throws unless the topology is self-consistent; names the field that is wrong.
  void validate() const {
    if (group_sizes.empty()) throw Error(Errc::invalid_argument, fmt::format("topology {}: no groups", name));
    for (unsigned g = 0; g < group_count(); ++g)
      if (group_sizes[g] == 0)
        throw Error(Errc::invalid_argument, fmt::format("topology {}: group {} has 0 units", name, g));
    if (units() > CuMask::kMaxUnits)
      throw Error(Errc::invalid_argument,
                  fmt::format("topology {}: {} units exceed the supported {}", name, units(), CuMask::kMaxUnits));
    if (size_classes.empty() || size_classes.back() != group_count())
      throw Error(Errc::invalid_argument,
                  fmt::format("topology {}: size_classes {} must end with the whole device ({} groups)", name,
                              size_classes, group_count()));
    for (size_t i = 0; i < size_classes.size(); ++i)
      if (size_classes[i] == 0 || (i > 0 && size_classes[i] <= size_classes[i - 1]))
        throw Error(Errc::invalid_argument,
                    fmt::format("topology {}: size_classes {} must be ascending and > 0", name, size_classes));
  }

 private:
  void check_group(unsigned g) const {
    if (g >= group_count())
      throw Error(Errc::invalid_argument, fmt::format("{}: group {} out of range: {} groups", name, g, group_count()));
  }
};

/// Device presets. Each cites where its numbers come from; a backend reads the real device instead.
namespace presets {

inline Topology uniform(std::string name, Vendor vendor, unsigned groups, unsigned group_size,
                        unsigned max_masked, std::vector<unsigned> size_classes, std::string source) {
  Topology t{std::move(name), vendor, std::vector<unsigned>(groups, group_size), max_masked,
             std::move(size_classes), std::move(source)};
  t.validate();
  return t;
}

/// AMD Instinct MI50 (gfx906, Vega 20): 60 CUs in 4 shader engines of 15; ECLIP found more than 7
/// CU-masked streams (+ the default = 8 hardware queues) oversubscribes. ECLIP, arXiv 2506.12598.
inline Topology mi50() {
  return uniform("MI50", Vendor::amd, 4, 15, 7, {1, 2, 3, 4},
                 "ECLIP (arXiv 2506.12598): 60 CUs, 4 SEs x 15, at most 7 masked streams");
}
/// AMD Instinct MI100 (gfx908, CDNA1): 120 CUs, 8 shader engines of 15 (rocminfo reports
/// "Shader Engines: 8"). The 7-stream limit is ECLIP's MI50 finding, assumed to carry over.
inline Topology mi100() {
  return uniform("MI100", Vendor::amd, 8, 15, 7, {1, 2, 4, 8},
                 "AMD CDNA whitepaper: 120 CUs; rocminfo: 8 SEs; queue limit assumed from ECLIP's MI50");
}
/// AMD Instinct MI210 (gfx90a, CDNA2, one GCD): 104 CUs, 8 shader engines of 13.
inline Topology mi210() {
  return uniform("MI210", Vendor::amd, 8, 13, 7, {1, 2, 4, 8},
                 "AMD MI210 datasheet: 104 CUs; rocminfo: 8 SEs; queue limit assumed from ECLIP's MI50");
}
/// AMD Instinct MI300X (gfx942, CDNA3): 304 CUs in 8 XCDs of 38, each XCD 4 shader engines
/// (rocminfo: "Shader Engines: 32"), so SEs hold 10 or 9 active CUs (ROCm docs, GPU hardware
/// specifications: "304 (38 per XCD)").
inline Topology mi300x() {
  Topology t{"MI300X", Vendor::amd, {}, 7, {1, 2, 4, 8, 16, 32},
             "AMD CDNA3 whitepaper: 304 CUs, 8 XCDs x 38; rocminfo: 32 SEs; queue limit assumed from ECLIP's MI50"};
  // Which engines keep 10 CUs is per-die harvesting; assumed 10,10,9,9 per XCD (as the hip
  // backend builds it when the device does not say).
  for (unsigned g = 0; g < 32; ++g) t.group_sizes.push_back(g % 4 < 2 ? 10 : 9);
  t.validate();
  return t;
}
/// NVIDIA H100 SXM5 80GB: 132 SMs. cuDevSmResourceSplitByCount(min 8) on the H100 gives 15 groups
/// of 8 SMs and a remainder of 12 (measured 2026-11-25, docs/hardware.md); 15 green streams of 8 SMs ran
/// fully concurrently, so 15 is the measured safe stream count.
inline Topology h100() {
  Topology t{"H100", Vendor::nvidia, std::vector<unsigned>(15, 8), 15, {1, 2, 4, 8, 16},
             "measured on H100 80GB HBM3, driver 580.159.04: 132 SMs, split by 8 = 15 x 8 + 12"};
  t.group_sizes.push_back(12);
  t.validate();
  return t;
}

/// NVIDIA H200 SXM 141GB: the H100's Hopper processor (132 SMs), so the same split: 15 atoms of 8
/// SMs + 12 (measured 2026-11-30, docs/hardware.md). Plans name the device, so an H200 needs its own.
inline Topology h200() {
  Topology t = h100();
  t.name = "H200";
  t.source = "measured on H200 141GB HBM3e, driver 580.159: 132 SMs, split by 8 = 15 x 8 + 12";
  return t;
}

inline std::vector<std::string> names() { return {"mi50", "mi100", "mi210", "mi300x", "h100", "h200"}; }

inline Topology by_name(const std::string& name) {
  if (name == "mi50") return mi50();
  if (name == "mi100") return mi100();
  if (name == "mi210") return mi210();
  if (name == "mi300x") return mi300x();
  if (name == "h100") return h100();
  if (name == "h200") return h200();
  throw Error(Errc::invalid_argument,
              fmt::format("unknown device preset \"{}\" (known: {})", name, fmt::join(names(), ", ")));
}

}  // namespace presets
}  // namespace eclip
