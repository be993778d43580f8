#include <catch2/catch.hpp>

#include "eclip/core/cu_mask.hpp"

using eclip::CuMask;

TEST_CASE("empty and full masks", "[cu_mask]") {
  CuMask m(60);
  CHECK(m.empty());
  CHECK_FALSE(m.full());
  CHECK(m.count() == 0);
  CHECK(m.to_string().empty());
  CHECK(m.hip_words() == std::vector<uint32_t>{0, 0});
  CuMask all = CuMask::all(60);
  CHECK(all.full());
  CHECK(all.count() == 60);
  CHECK(all.to_string() == "0-59");
  CHECK(all.hip_words() == std::vector<uint32_t>{0xffffffffU, 0x0fffffffU});
}

TEST_CASE("range list and HIP words of an SE-aligned MI50 mask", "[cu_mask]") {
  CuMask m = CuMask::range(60, 15, 30);
  CHECK(m.to_string() == "15-44");
  CHECK(m.hip_words() == std::vector<uint32_t>{0xffff8000U, 0x00001fffU});
  CuMask two = CuMask::range(60, 0, 15) | CuMask::range(60, 30, 15);
  CHECK(two.to_string() == "0-14,30-44");
  CHECK(CuMask::parse(60, "0-14,30-44") == two);
  CHECK(CuMask::parse(60, "") == CuMask(60));
  CHECK(CuMask::parse(60, "7").to_string() == "7");
}

TEST_CASE("masks larger than 64 units: MI300X and 1024", "[cu_mask]") {
  CuMask m(304);
  m.set(0);
  m.set(63);
  m.set(64);
  m.set(303);
  CHECK(m.count() == 4);
  CHECK(m.to_string() == "0,63-64,303");
  const auto w = m.hip_words();
  REQUIRE(w.size() == 10);  // ceil(304 / 32)
  CHECK(w[0] == 0x1U);
  CHECK(w[1] == 0x80000000U);
  CHECK(w[2] == 0x1U);
  CHECK(w[9] == (1U << 15));  // unit 303 = word 9 bit 15
  CuMask big = CuMask::all(1024);
  CHECK(big.count() == 1024);
  CHECK(big.hip_words().size() == 32);
  CHECK_THROWS_WITH(CuMask(1025), Catch::Contains("1025"));
  CHECK_THROWS(CuMask(0));
}

TEST_CASE("out-of-range units are errors naming the unit and the device size", "[cu_mask]") {
  CuMask m(60);
  CHECK_THROWS_WITH(m.set(60), "CuMask: unit 60 out of range: device has 60 units");
  CHECK_THROWS_WITH(m.test(61), Catch::Contains("unit 61"));
  CHECK_THROWS_WITH(CuMask::range(60, 50, 15), Catch::Contains("50..64"));
  CHECK_THROWS_WITH(CuMask::parse(60, "0-60"), Catch::Contains("unit 60 out of range"));
  CHECK_THROWS_WITH(CuMask::parse(60, "5-3"), Catch::Contains("reversed"));
  CHECK_THROWS_WITH(CuMask::parse(60, "1;2"), Catch::Contains("unexpected ';'"));
  CHECK_THROWS_WITH(CuMask(60) | CuMask(132), Catch::Contains("60 and 132"));
  CHECK_THROWS_WITH(CuMask::parse(60, "1,"), Catch::Contains("trailing ','"));
  CHECK_THROWS_WITH(CuMask::range(60, 4294967295U, 2), Catch::Contains("out of range"));
}

TEST_CASE("set algebra", "[cu_mask]") {
  CuMask a = CuMask::range(132, 0, 16), b = CuMask::range(132, 8, 16);
  CHECK(a.overlaps(b));
  CHECK((a & b).to_string() == "8-15");
  CHECK((a | b).to_string() == "0-23");
  CHECK((a & b).subset_of(a));
  CHECK_FALSE(a.subset_of(b));
  CHECK_FALSE(CuMask::range(132, 0, 8).overlaps(CuMask::range(132, 8, 8)));
  a.reset(3);
  CHECK(a.to_string() == "0-2,4-15");
}
