#pragma once
// CuMaskLayout: which compute unit each bit of a HIP/HSA CU mask enables, and the translation
// between eclip's unit numbering and those bits.
//
// The driver does not read mask bit i as "CU i". hipExtStreamCreateWithCUMask and
// hsa_amd_queue_cu_set_mask pass the words through (ROCclr Device::acquireQueue, ROCr
// AqlQueue::SetCUMasking) to the amdkfd ioctl, whose mqd_symmetrically_map_cu_mask deals the bits
// out round-robin (Linux drivers/gpu/drm/amd/amdkfd/kfd_mqd_manager.c):
//   for each compute die (XCC; MI300X has 8, bits interleave over dies first: bit i -> die i % 8)
//     for cu = 0, 1, ... 15
//       for each shader array (SH) of an engine
//         for each shader engine (SE)
//           if that (SE, SH) has more than `cu` active CUs: the next bit enables its CU `cu`
// Only active (not harvested) CUs take a bit. On an MI50 (4 SEs x 15 CUs, 1 SH) this gives
//   bit 0 -> SE0 CU0, bit 1 -> SE1 CU0, bit 2 -> SE2 CU0, bit 3 -> SE3 CU0, bit 4 -> SE0 CU1, ...
// so the "first 15 CUs" mask 0x7fff spans all four SEs, and shader engine 0 alone is bits
// 0, 4, 8, ..., 56. RDNA (gfx10+) hands out bits in WGP pairs (two CUs per step).
//
// eclip numbers units shader-engine-major, as Topology assumes (group g = engine g, units
// [first(g), first(g)+size(g))): unit = first unit of its engine + the CU's index within the engine
// (arrays in order). CuMaskLayout maps those units to driver bits and back. Example (MI50):
//   CuMaskLayout l = CuMaskLayout::uniform(60, 4);
//   l.group_sizes()                    == {15, 15, 15, 15}
//   l.hip_words(CuMask::range(60, 0, 15)) == {0x11111111, 0x01111111}   // SE 0 only
//
// Which CUs of an engine are harvested is not visible through HSA; uniform() assumes the active
// CUs are spread evenly (true for MI50 15/SE, MI100 15/SE, MI210 13/SE); uneven parts (MI250X
// 110 CUs over 8 SEs, MI300X 38 per die over 4 SEs) get the remainder on the lowest engines, which
// may differ from the die's real harvest: a partition then may gain or lose a CU at the edge of an
// engine. tests/backend/hip checks confinement on hardware by reading each wave's HW_ID.
#include <cstdint>
#include <numeric>
#include <span>
#include <vector>

#include <fmt/format.h>

#include "eclip/core/cu_mask.hpp"
#include "eclip/core/error.hpp"

namespace eclip::hsa {

/// The hardware the driver's bit dealing walks over.
struct CuLayoutSpec {
  unsigned xccs = 1;               ///< compute dies (XCCs) in the device (MI300X: 8)
  unsigned engines_per_xcc = 1;    ///< shader engines per die
  unsigned arrays_per_engine = 1;  ///< shader arrays (SH) per engine
  unsigned cus_per_step = 1;       ///< 1 on gfx9 (GCN/CDNA); 2 on gfx10+ (WGP mode)
  /// Active CUs of each (xcc, engine, array), nested in that order: xccs x engines x arrays
  /// entries, each at most 16 (the driver's per-array limit).
  std::vector<unsigned> active;
};

class CuMaskLayout {
 public:
  struct Location {
    unsigned xcc = 0, engine = 0, array = 0, cu = 0;  ///< engine within its die; cu within its array
    friend bool operator==(const Location&, const Location&) = default;
  };

  explicit CuMaskLayout(CuLayoutSpec spec) : spec_(std::move(spec)) {
    validate();
    build();
  }

  /// `compute_units` active CUs spread evenly over `xccs` dies, then over each die's engines, then
  /// over each engine's arrays; remainders go to the lowest-numbered ones. `shader_engines` is the
  /// device total (HSA_AMD_AGENT_INFO_NUM_SHADER_ENGINES; MI300X: 32 for 8 dies).
  static CuMaskLayout uniform(unsigned compute_units, unsigned shader_engines, unsigned arrays_per_engine = 1,
                              unsigned xccs = 1, unsigned cus_per_step = 1) {
    if (xccs == 0 || shader_engines == 0 || arrays_per_engine == 0 || shader_engines % xccs != 0)
      throw Error(Errc::invalid_argument,
                  fmt::format("CuMaskLayout: {} shader engines cannot be split over {} dies ({} arrays per engine)",
                              shader_engines, xccs, arrays_per_engine));
    if (compute_units % xccs != 0)
      throw Error(Errc::invalid_argument,
                  fmt::format("CuMaskLayout: {} CUs do not split evenly over {} dies", compute_units, xccs));
    CuLayoutSpec s;
    s.xccs = xccs;
    s.engines_per_xcc = shader_engines / xccs;
    s.arrays_per_engine = arrays_per_engine;
    s.cus_per_step = cus_per_step;
    const unsigned per_xcc = compute_units / xccs;
    for (unsigned x = 0; x < xccs; ++x)
      for (unsigned e = 0; e < s.engines_per_xcc; ++e) {
        const unsigned per_engine = share(per_xcc, s.engines_per_xcc, e);
        for (unsigned a = 0; a < arrays_per_engine; ++a) s.active.push_back(share(per_engine, arrays_per_engine, a));
      }
    return CuMaskLayout(std::move(s));
  }

  const CuLayoutSpec& spec() const noexcept { return spec_; }
  unsigned units() const noexcept { return static_cast<unsigned>(bit_of_unit_.size()); }
  /// Shader engines in the device (eclip topology groups), die-major.
  unsigned groups() const noexcept { return static_cast<unsigned>(group_sizes_.size()); }
  /// Active CUs per engine, die-major: the Topology's group_sizes.
  const std::vector<unsigned>& group_sizes() const noexcept { return group_sizes_; }

  unsigned bit_of_unit(unsigned unit) const { return bit_of_unit_.at(check_unit(unit)); }
  unsigned unit_of_bit(unsigned bit) const {
    if (bit >= units())
      throw Error(Errc::invalid_argument,
                  fmt::format("CuMaskLayout: mask bit {} out of range: the device has {} CUs", bit, units()));
    return unit_of_bit_[bit];
  }
  Location location_of_unit(unsigned unit) const { return location_.at(check_unit(unit)); }

  /// The uint32 words to pass to hipExtStreamCreateWithCUMask / hsa_amd_queue_cu_set_mask so
  /// that exactly `mask`'s units are enabled: ceil(units / 32) words, bit b of word w = driver
  /// bit 32w + b.
  std::vector<std::uint32_t> hip_words(const CuMask& mask) const {
    check_mask(mask);
    std::vector<std::uint32_t> words((units() + 31) / 32, 0);
    for (unsigned u = 0; u < units(); ++u)
      if (mask.test(u)) {
        const unsigned b = bit_of_unit_[u];
        words[b / 32] |= std::uint32_t{1} << (b % 32);
      }
    return words;
  }
  /// The eclip mask the driver words enable (bits past the device's CUs are ignored, as the
  /// runtime ignores them).
  CuMask from_hip_words(std::span<const std::uint32_t> words) const {
    CuMask m(units());
    for (unsigned b = 0; b < units() && b / 32 < words.size(); ++b)
      if ((words[b / 32] >> (b % 32)) & 1U) m.set(unit_of_bit_[b]);
    return m;
  }

 private:
  static unsigned share(unsigned total, unsigned parts, unsigned index) {
    return total / parts + (index < total % parts ? 1U : 0U);
  }
  unsigned check_unit(unsigned unit) const {
    if (unit >= units())
      throw Error(Errc::invalid_argument,
                  fmt::format("CuMaskLayout: unit {} out of range: the device has {} CUs", unit, units()));
    return unit;
  }
  void check_mask(const CuMask& mask) const {
    if (mask.device_units() != units())
      throw Error(Errc::invalid_argument,
                  fmt::format("CuMaskLayout: a mask of a {}-unit device cannot address this device's {} CUs",
                              mask.device_units(), units()));
  }
  unsigned active(unsigned x, unsigned e, unsigned a) const {
    return spec_.active[(x * spec_.engines_per_xcc + e) * spec_.arrays_per_engine + a];
  }
  void validate() const {
    const CuLayoutSpec& s = spec_;
    if (s.xccs == 0 || s.engines_per_xcc == 0 || s.arrays_per_engine == 0)
      throw Error(Errc::invalid_argument,
                  fmt::format("CuMaskLayout: {} dies x {} engines x {} arrays: each must be >= 1", s.xccs,
                              s.engines_per_xcc, s.arrays_per_engine));
    if (s.cus_per_step != 1 && s.cus_per_step != 2)
      throw Error(Errc::invalid_argument,
                  fmt::format("CuMaskLayout: cus_per_step {} unsupported (1: gfx9, 2: gfx10+ WGP)", s.cus_per_step));
    if (s.cus_per_step == 2 && s.xccs != 1)
      throw Error(Errc::invalid_argument, "CuMaskLayout: WGP-pair dealing (cus_per_step 2) is single-die only");
    const std::size_t want = std::size_t{s.xccs} * s.engines_per_xcc * s.arrays_per_engine;
    if (s.active.size() != want)
      throw Error(Errc::invalid_argument,
                  fmt::format("CuMaskLayout: {} active-CU counts given, {} dies x {} engines x {} arrays need {}",
                              s.active.size(), s.xccs, s.engines_per_xcc, s.arrays_per_engine, want));
    unsigned die_total = 0;
    for (unsigned x = 0; x < s.xccs; ++x) {
      unsigned total = 0;
      for (unsigned e = 0; e < s.engines_per_xcc; ++e)
        for (unsigned a = 0; a < s.arrays_per_engine; ++a) {
          const unsigned n = active(x, e, a);
          if (n > 16)
            throw Error(Errc::invalid_argument,
                        fmt::format("CuMaskLayout: die {} engine {} array {} has {} CUs; the driver maps at most 16",
                                    x, e, a, n));
          if (n % s.cus_per_step != 0)
            throw Error(Errc::invalid_argument,
                        fmt::format("CuMaskLayout: die {} engine {} array {} has {} CUs, not whole WGP pairs", x, e,
                                    a, n));
          total += n;
        }
      if (x > 0 && total != die_total)
        throw Error(Errc::invalid_argument,
                    fmt::format("CuMaskLayout: die {} has {} active CUs but die 0 has {}; the driver's die "
                                "interleave needs equal dies",
                                x, total, die_total));
      die_total = total;
    }
    if (die_total * s.xccs == 0 || die_total * s.xccs > CuMask::kMaxUnits)
      throw Error(Errc::invalid_argument,
                  fmt::format("CuMaskLayout: {} CUs in total; supported 1..{}", die_total * s.xccs, CuMask::kMaxUnits));
  }
  void build() {
    const CuLayoutSpec& s = spec_;
    // eclip units: engine-major, die-major.
    std::vector<unsigned> first_unit;  // per (x, e)
    for (unsigned x = 0; x < s.xccs; ++x)
      for (unsigned e = 0; e < s.engines_per_xcc; ++e) {
        unsigned n = 0;
        for (unsigned a = 0; a < s.arrays_per_engine; ++a) n += active(x, e, a);
        first_unit.push_back(std::accumulate(group_sizes_.begin(), group_sizes_.end(), 0U));
        group_sizes_.push_back(n);
      }
    const unsigned total = std::accumulate(group_sizes_.begin(), group_sizes_.end(), 0U);
    bit_of_unit_.assign(total, 0);
    unit_of_bit_.assign(total, 0);
    location_.assign(total, Location{});
    // Driver bits: kfd_mqd_manager.c mqd_symmetrically_map_cu_mask, per die `inst`.
    for (unsigned x = 0; x < s.xccs; ++x) {
      unsigned bit = x;
      for (unsigned cu = 0; cu < 16; cu += s.cus_per_step)
        for (unsigned a = 0; a < s.arrays_per_engine; ++a)
          for (unsigned e = 0; e < s.engines_per_xcc; ++e) {
            if (active(x, e, a) <= cu) continue;
            unsigned offset = cu;
            for (unsigned b = 0; b < a; ++b) offset += active(x, e, b);
            for (unsigned k = 0; k < s.cus_per_step; ++k) {
              const unsigned unit = first_unit[x * s.engines_per_xcc + e] + offset + k;
              bit_of_unit_[unit] = bit + k;
              unit_of_bit_[bit + k] = unit;
              location_[unit] = Location{x, e, a, cu + k};
            }
            bit += s.cus_per_step * s.xccs;
          }
    }
  }

  CuLayoutSpec spec_;
  std::vector<unsigned> group_sizes_;
  std::vector<unsigned> bit_of_unit_;
  std::vector<unsigned> unit_of_bit_;
  std::vector<Location> location_;
};

}  // namespace eclip::hsa
