#include <catch2/catch.hpp>

#include "eclip/runtime/partition_pool.hpp"
#include "fake_backend.hpp"

using namespace eclip;
using eclip::testing::FakeBackend;

TEST_CASE("the pool creates every stream up front, fallbacks unmasked", "[pool]") {
  FakeBackend be(presets::mi50());
  std::vector<PartitionSpec> specs{{0, {1}}, {0, {2}}, {1, {1}}, {1, {4}}, {0, {1}}};
  PartitionPool pool(be, 2, specs);
  CHECK(pool.masked_stream_count() == 3);  // duplicates merged, whole-device maps to the fallback
  CHECK(be.masks.size() == 5);             // 2 fallbacks + 3 masked
  CHECK(be.masks[0].full());
  CHECK(be.masks[1].full());
  REQUIRE(pool.find(0, {2}));
  CHECK(pool.slots(0)[*pool.find(0, {2})].mask.to_string() == "0-29");  // worker 0 home SE 0
  CHECK(pool.slots(1)[*pool.find(1, {1})].mask.to_string() == "30-44");  // worker 1 of 2: home SE 2
  CHECK(*pool.find(1, {4}) == PartitionPool::kFallbackSlot);
  CHECK_FALSE(pool.find(1, {3}));
}

TEST_CASE("more masked streams than the queue limit is refused, naming both numbers", "[pool]") {
  FakeBackend be(presets::mi50());
  std::vector<PartitionSpec> specs;
  for (unsigned w = 0; w < 4; ++w)
    for (unsigned c = 1; c <= 3; ++c) specs.push_back({w, {c}});
  CHECK_THROWS_WITH(PartitionPool(be, 4, specs),
                    Catch::Contains("needs 12 CU-masked streams") && Catch::Contains("MI50 holds at most 7"));
  CHECK(be.masks.empty());  // refused before creating anything
  specs.resize(7);
  CHECK_NOTHROW(PartitionPool(be, 4, specs));
}

TEST_CASE("a failed stream creation leaves no half-built pool", "[pool]") {
  FakeBackend be(presets::mi50());
  be.fail_create_after = 3;
  std::vector<PartitionSpec> specs{{0, {1}}, {1, {2}}, {1, {3}}};
  try {
    PartitionPool pool(be, 2, specs);
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::backend);
    CHECK_THAT(e.what(), Catch::Contains("worker 1") && Catch::Contains("out of queues"));
  }
  REQUIRE(be.live.size() == 3);
  for (bool l : be.live) CHECK_FALSE(l);  // all destroyed
  // ... in reverse creation order
  std::vector<std::uint64_t> destroyed;
  for (auto& c : be.calls)
    if (c.kind == FakeBackend::Call::destroy) destroyed.push_back(c.a);
  CHECK(destroyed == std::vector<std::uint64_t>{3, 2, 1});
}

TEST_CASE("bad specs name the worker and the size", "[pool]") {
  FakeBackend be(presets::mi50());
  std::vector<PartitionSpec> bad_worker{{2, {1}}};
  CHECK_THROWS_WITH(PartitionPool(be, 2, bad_worker), Catch::Contains("worker 2") && Catch::Contains("2 workers"));
  std::vector<PartitionSpec> bad_size{{0, {5}}};
  CHECK_THROWS_WITH(PartitionPool(be, 1, bad_size), Catch::Contains("5 groups"));
  CHECK_THROWS_WITH(PartitionPool(be, 0, {}), Catch::Contains("0 workers"));
}

TEST_CASE("the pool destroys its streams in reverse order", "[pool]") {
  FakeBackend be(presets::h100());
  {
    std::vector<PartitionSpec> specs{{0, {2}}, {1, {4}}};
    PartitionPool pool(be, 2, specs);
  }
  std::vector<std::uint64_t> destroyed;
  for (auto& c : be.calls)
    if (c.kind == FakeBackend::Call::destroy) destroyed.push_back(c.a);
  CHECK(destroyed == std::vector<std::uint64_t>{4, 3, 2, 1});
}
