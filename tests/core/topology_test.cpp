#include <catch2/catch.hpp>

#include "eclip/core/partition_config.hpp"
#include "eclip/core/switch_budget.hpp"
#include "eclip/core/topology.hpp"

using namespace eclip;

TEST_CASE("presets are self-consistent and cite a source", "[topology]") {
  for (const auto& name : presets::names()) {
    Topology t = presets::by_name(name);
    CHECK_NOTHROW(t.validate());
    CHECK_FALSE(t.source.empty());
    CHECK(t.units() <= CuMask::kMaxUnits);
  }
  CHECK(presets::mi50().units() == 60);
  CHECK(presets::mi50().group_count() == 4);
  CHECK(presets::mi50().max_masked_streams == 7);
  CHECK(presets::mi300x().units() == 304);
  CHECK(presets::h100().units() == 132);
  CHECK(presets::h100().group_count() == 16);
  // The H200 is the H100's processor: the same split, its own name (plans name their device).
  CHECK(presets::h200().units() == 132);
  CHECK(presets::h200().group_sizes == presets::h100().group_sizes);
  CHECK(presets::h200().name == "H200");
  CHECK_THROWS_WITH(presets::by_name("mi9000"), Catch::Contains("unknown device preset \"mi9000\""));
}

TEST_CASE("MI50 size classes are 15/30/45/60 CUs, shader-engine aligned", "[topology]") {
  Topology t = presets::mi50();
  std::vector<unsigned> units;
  for (unsigned c : t.size_classes) units.push_back(PartitionConfig{c}.units(t));
  CHECK(units == std::vector<unsigned>{15, 30, 45, 60});
  CHECK(t.grow_from(1, 2).to_string() == "15-44");
  CHECK(t.grow_from(3, 2).to_string() == "0-14,45-59");  // wraps around
  CHECK(PartitionConfig{4}.whole_device(t));
}

TEST_CASE("H100 size classes follow the measured 8-SM atoms", "[topology]") {
  Topology t = presets::h100();
  std::vector<unsigned> units;
  for (unsigned c : t.size_classes) units.push_back(t.units_of(c));
  CHECK(units == std::vector<unsigned>{8, 16, 32, 64, 132});
  CHECK(t.group_mask(15).to_string() == "120-131");  // the 12-SM remainder
}

TEST_CASE("workers start from spread home groups so 4 one-SE partitions are disjoint", "[topology]") {
  Topology t = presets::mi50();
  CuMask seen(60);
  for (unsigned w = 0; w < 4; ++w) {
    CuMask m = t.grow_from(t.home_group(w, 4), 1);
    CHECK_FALSE(m.overlaps(seen));
    seen |= m;
  }
  CHECK(seen.full());
  Topology h = presets::h100();
  CHECK(h.home_group(1, 4) == 4);
  CHECK(h.home_group(3, 4) == 12);
  CHECK_THROWS_WITH(t.home_group(4, 4), Catch::Contains("worker 4 out of range"));
  CHECK_THROWS_WITH(t.grow_from(0, 5), Catch::Contains("5 groups is out of range"));
}

TEST_CASE("validate names the bad field", "[topology]") {
  Topology t = presets::mi50();
  t.size_classes = {1, 2, 3};
  CHECK_THROWS_WITH(t.validate(), Catch::Contains("must end with the whole device"));
  t = presets::mi50();
  t.group_sizes[2] = 0;
  CHECK_THROWS_WITH(t.validate(), Catch::Contains("group 2 has 0 units"));
}

TEST_CASE("switch budgets: negative and too large are errors, never truncated", "[budget]") {
  CHECK(SwitchBudget::per_request(14).limit() == 14);
  CHECK(SwitchBudget::per_request(0).allows(0));
  CHECK_FALSE(SwitchBudget::per_request(0).allows(1));
  CHECK(SwitchBudget::unlimited().is_unlimited());
  CHECK_THROWS_WITH(SwitchBudget::per_request(-1), Catch::Contains("-1 is negative"));
  CHECK_THROWS_WITH(SwitchBudget::per_request(4294967296LL), Catch::Contains("4294967296 is too large"));
  CHECK_THROWS_WITH(SwitchBudget::per_request(4294967295LL), Catch::Contains("too large"));
}
