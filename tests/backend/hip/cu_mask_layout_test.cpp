// CuMaskLayout: eclip's engine-major CU units <-> the driver's round-robin mask bits
// (amdkfd mqd_symmetrically_map_cu_mask), and the topology the hip backend builds from it.
#include <catch2/catch.hpp>

#include <bit>
#include <random>
#include <set>

#include "eclip/backend/hip.hpp"
#include "eclip/backend/hsa/cu_mask_layout.hpp"

using namespace eclip;
using hsa::CuMaskLayout;

TEST_CASE("MI50: bit i enables CU i/4 of shader engine i%4", "[hsa][cu_mask]") {
  const CuMaskLayout l = CuMaskLayout::uniform(60, 4);
  CHECK(l.units() == 60);
  CHECK(l.group_sizes() == std::vector<unsigned>{15, 15, 15, 15});
  for (unsigned bit = 0; bit < 60; ++bit) {
    const auto loc = l.location_of_unit(l.unit_of_bit(bit));
    CHECK(loc.engine == bit % 4);
    CHECK(loc.cu == bit / 4);
    CHECK(l.bit_of_unit(l.unit_of_bit(bit)) == bit);
  }
  // Shader engine 0 = eclip units 0-14 = driver bits 0, 4, ..., 56.
  CHECK(l.hip_words(CuMask::range(60, 0, 15)) == std::vector<std::uint32_t>{0x11111111, 0x01111111});
  CHECK(l.hip_words(CuMask::range(60, 15, 15)) == std::vector<std::uint32_t>{0x22222222, 0x02222222});
  CHECK(l.hip_words(CuMask::range(60, 0, 30)) == std::vector<std::uint32_t>{0x33333333, 0x03333333});
  CHECK(l.hip_words(CuMask::all(60)) == std::vector<std::uint32_t>{0xffffffff, 0x0fffffff});
  // The naive "first 15 bits" mask (0x7fff) enables 15 CUs spread over all four engines.
  const CuMask naive = l.from_hip_words(std::vector<std::uint32_t>{0x7fff, 0});
  CHECK(naive.count() == 15);
  for (unsigned g = 0; g < 4; ++g) CHECK(naive.overlaps(CuMask::range(60, 15 * g, 15)));
}

TEST_CASE("the MI50 layout gives the MI50 preset's topology", "[hsa][cu_mask][topology]") {
  const Topology t = hip::topology_from_layout("MI50", CuMaskLayout::uniform(60, 4), 7, "test");
  const Topology p = presets::mi50();
  CHECK(t.group_sizes == p.group_sizes);
  CHECK(t.size_classes == p.size_classes);
  CHECK(t.max_masked_streams == p.max_masked_streams);
  CHECK(t.vendor == Vendor::amd);
  // Each SE-aligned partition of the preset maps onto exactly its engines' driver bits.
  const CuMaskLayout l = CuMaskLayout::uniform(60, 4);
  for (unsigned home = 0; home < 4; ++home)
    for (unsigned groups = 1; groups <= 4; ++groups) {
      const CuMask m = p.grow_from(home, groups);
      std::set<unsigned> engines;
      for (unsigned u = 0; u < 60; ++u)
        if (m.test(u)) engines.insert(l.location_of_unit(u).engine);
      CHECK(engines.size() == groups);
      CHECK(l.from_hip_words(l.hip_words(m)) == m);
    }
}

TEST_CASE("MI100 and MI210: 8 engines of 15 and 13 CUs match their presets", "[hsa][cu_mask][topology]") {
  const CuMaskLayout mi100 = CuMaskLayout::uniform(120, 8);
  CHECK(mi100.group_sizes() == presets::mi100().group_sizes);
  CHECK(hip::topology_from_layout("MI100", mi100, 7, "t").size_classes == presets::mi100().size_classes);
  // Engine 0: bits 0, 8, ..., 112.
  CHECK(mi100.hip_words(CuMask::range(120, 0, 15)) ==
        std::vector<std::uint32_t>{0x01010101, 0x01010101, 0x01010101, 0x00010101});
  const CuMaskLayout mi210 = CuMaskLayout::uniform(104, 8);
  CHECK(mi210.group_sizes() == presets::mi210().group_sizes);
  CHECK(hip::topology_from_layout("MI210", mi210, 7, "t").size_classes == presets::mi210().size_classes);
  CHECK(mi210.bit_of_unit(12) == 96);  // engine 0's 13th CU: round 12 of 8 engines
}

TEST_CASE("uneven engines (MI250X GCD, 110 CUs over 8): the last round skips full engines", "[hsa][cu_mask]") {
  const CuMaskLayout l = CuMaskLayout::uniform(110, 8);
  CHECK(l.group_sizes() == std::vector<unsigned>{14, 14, 14, 14, 14, 14, 13, 13});
  // Rounds 0-12 cover all 8 engines (104 bits); round 13 only engines 0-5 (bits 104-109).
  CHECK(l.location_of_unit(l.unit_of_bit(103)).engine == 7);
  CHECK(l.location_of_unit(l.unit_of_bit(104)) == CuMaskLayout::Location{0, 0, 0, 13});
  CHECK(l.location_of_unit(l.unit_of_bit(109)) == CuMaskLayout::Location{0, 5, 0, 13});
  std::set<unsigned> bits;
  for (unsigned u = 0; u < 110; ++u) bits.insert(l.bit_of_unit(u));
  CHECK(bits.size() == 110);
  CHECK(*bits.rbegin() == 109);
}

TEST_CASE("MI300X: bits interleave over 8 dies first, then engines", "[hsa][cu_mask]") {
  const CuMaskLayout l = CuMaskLayout::uniform(304, 32, 1, 8);
  CHECK(l.units() == 304);
  CHECK(l.groups() == 32);
  for (unsigned x = 0; x < 8; ++x) {
    CHECK(l.group_sizes()[4 * x] == 10);
    CHECK(l.group_sizes()[4 * x + 1] == 10);
    CHECK(l.group_sizes()[4 * x + 2] == 9);
    CHECK(l.group_sizes()[4 * x + 3] == 9);
  }
  // kfd_mqd_manager.c: bit0 -> XCC0 SE0 CU0, bit1 -> XCC1 SE0 CU0, ..., bit8 -> XCC0 SE1 CU0.
  CHECK(l.location_of_unit(l.unit_of_bit(0)) == CuMaskLayout::Location{0, 0, 0, 0});
  CHECK(l.location_of_unit(l.unit_of_bit(1)) == CuMaskLayout::Location{1, 0, 0, 0});
  CHECK(l.location_of_unit(l.unit_of_bit(7)) == CuMaskLayout::Location{7, 0, 0, 0});
  CHECK(l.location_of_unit(l.unit_of_bit(8)) == CuMaskLayout::Location{0, 1, 0, 0});
  CHECK(l.location_of_unit(l.unit_of_bit(32)) == CuMaskLayout::Location{0, 0, 0, 1});
  const Topology t = hip::topology_from_layout("MI300X", l, 7, "t");
  CHECK(t.units() == presets::mi300x().units());
  CHECK(t.group_count() == presets::mi300x().group_count());
  CHECK(t.size_classes == presets::mi300x().size_classes);
}

TEST_CASE("two shader arrays per engine and WGP pairs (gfx10+)", "[hsa][cu_mask]") {
  // 4 engines x 2 arrays x 10 CUs in WGP mode: bits go in pairs; arrays before engines per round.
  const CuMaskLayout l = CuMaskLayout::uniform(80, 4, 2, 1, 2);
  CHECK(l.group_sizes() == std::vector<unsigned>{20, 20, 20, 20});
  CHECK(l.location_of_unit(l.unit_of_bit(0)) == CuMaskLayout::Location{0, 0, 0, 0});
  CHECK(l.location_of_unit(l.unit_of_bit(1)) == CuMaskLayout::Location{0, 0, 0, 1});
  CHECK(l.location_of_unit(l.unit_of_bit(2)) == CuMaskLayout::Location{0, 1, 0, 0});
  CHECK(l.location_of_unit(l.unit_of_bit(8)) == CuMaskLayout::Location{0, 0, 1, 0});
  CHECK(l.location_of_unit(l.unit_of_bit(16)) == CuMaskLayout::Location{0, 0, 0, 2});
  // Non-WGP, 2 arrays, 4 engines: the kernel comment's example (bit 4 -> SE0 SH1 CU0).
  const CuMaskLayout g9 = CuMaskLayout::uniform(64, 4, 2);
  CHECK(g9.location_of_unit(g9.unit_of_bit(4)) == CuMaskLayout::Location{0, 0, 1, 0});
  CHECK(g9.location_of_unit(g9.unit_of_bit(5)) == CuMaskLayout::Location{0, 1, 1, 0});
  CHECK(g9.location_of_unit(g9.unit_of_bit(8)) == CuMaskLayout::Location{0, 0, 0, 1});
}

TEST_CASE("translation round-trips random masks and is a bijection", "[hsa][cu_mask]") {
  std::mt19937 rng(7);
  for (const CuMaskLayout& l : {CuMaskLayout::uniform(60, 4), CuMaskLayout::uniform(110, 8),
                                CuMaskLayout::uniform(304, 32, 1, 8), CuMaskLayout::uniform(80, 4, 2, 1, 2)}) {
    for (int trial = 0; trial < 50; ++trial) {
      CuMask m(l.units());
      for (unsigned u = 0; u < l.units(); ++u)
        if (rng() % 3 == 0) m.set(u);
      const auto words = l.hip_words(m);
      CHECK(words.size() == (l.units() + 31) / 32);
      unsigned bits = 0;
      for (auto w : words) bits += static_cast<unsigned>(std::popcount(w));
      CHECK(bits == m.count());
      CHECK(l.from_hip_words(words) == m);
    }
  }
}

TEST_CASE("CuMaskLayout refuses what the driver cannot map, naming the value", "[hsa][cu_mask]") {
  auto fails_with = [](auto&& f, const char* text) {
    try {
      f();
      FAIL("expected an error containing: " << text);
    } catch (const Error& e) {
      CHECK(e.code() == Errc::invalid_argument);
      CHECK_THAT(e.what(), Catch::Contains(text));
    }
  };
  fails_with([] { CuMaskLayout::uniform(60, 0); }, "0 shader engines");
  fails_with([] { CuMaskLayout::uniform(304, 32, 1, 7); }, "32 shader engines cannot be split over 7 dies");
  fails_with([] { CuMaskLayout::uniform(68, 4); }, "has 17 CUs; the driver maps at most 16");
  fails_with([] { CuMaskLayout::uniform(60, 4, 1, 1, 2); }, "not whole WGP pairs");
  fails_with([] { CuMaskLayout(hsa::CuLayoutSpec{2, 1, 1, 1, {8, 7}}); }, "die 1 has 7 active CUs but die 0 has 8");
  fails_with([] { CuMaskLayout(hsa::CuLayoutSpec{1, 2, 1, 1, {8}}); }, "1 active-CU counts given");
  const CuMaskLayout l = CuMaskLayout::uniform(60, 4);
  fails_with([&] { l.hip_words(CuMask::all(64)); }, "a mask of a 64-unit device cannot address this device's 60 CUs");
  fails_with([&] { l.bit_of_unit(60); }, "unit 60 out of range");
  fails_with([&] { l.unit_of_bit(60); }, "mask bit 60 out of range");
}
