#include <cmath>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "eclip/plan/profile.hpp"

using namespace eclip;

TEST_CASE("interpolation is linear in 1/units between measured points", "[profile]") {
  const std::vector<unsigned> u{8, 16, 32};
  const std::vector<double> t{40, 24, 16};
  CHECK(interpolate_us(u, t, 8) == Approx(40));
  CHECK(interpolate_us(u, t, 16) == Approx(24));
  CHECK(interpolate_us(u, t, 64) == Approx(16));  // flat beyond the last point
  CHECK(interpolate_us(u, t, 4) == Approx(80));   // 1/units below the first
  // Between 16 and 32: x = 1/24 is 1/3 of the way from 1/16 to 1/32 in x... t = 16 + 8 * (1/24-1/32)/(1/16-1/32)
  CHECK(interpolate_us(u, t, 24) == Approx(16 + 8 * (1.0 / 24 - 1.0 / 32) / (1.0 / 16 - 1.0 / 32)));
}

TEST_CASE("minimum-units threshold", "[profile]") {
  CHECK(min_config_index(KernelProfile{"k", {30, 12, 10.5, 10}}) == 2);
  CHECK(min_config_index(KernelProfile{"k", {10, 10, 10, 10}}) == 0);
  CHECK(min_config_index(KernelProfile{"k", {40, 30, 20, 10}}) == 3);
  CHECK(min_config_index(KernelProfile{"k", {40, 30, 20, 10}}, 1.0) == 2);
}

TEST_CASE("a workload projects onto MI50 size classes by device fraction", "[profile]") {
  nlohmann::json j = {{"format", "eclip.workload"}, {"version", 1},      {"model", "toy"},
                      {"device", "H100"},           {"unit_counts", {33, 66, 99, 132}},
                      {"request_latency_us", {{"eager", {100, 90, 80, 40}}}},
                      {"kernels", {{{"name", "a"}, {"us", {4, 3, 2, 1}}}, {{"name", "b"}, {"us", {8, 6, 4, 2}}}}}};
  Workload w = Workload::from_json(j, "toy.json");
  ModelProfile mp = w.project(presets::mi50(), 3.0, 5.0);
  REQUIRE(mp.kernels.size() == 2);
  CHECK(mp.kernels[0].us == std::vector<double>{12, 9, 6, 3});  // 15/60 of MI50 = 33/132 of H100
  CHECK(mp.host_gap_us == Approx(5));  // the target's launch pace, not the recorded eager pace
  REQUIRE(w.eager_latency_full_us);
  CHECK(*w.eager_latency_full_us == Approx(40));
  w.kernels[1].blocks = 40;
  Profile p = make_profile(presets::mi50(), {w}, 3.0, 5.0);
  CHECK(p.units == std::vector<unsigned>{15, 30, 45, 60});
  CHECK(p.models[0].kernels[1].blocks == 40);
  CHECK(Profile::from_json(p.to_json()) == p);
}

TEST_CASE("malformed workloads and profiles name the field", "[profile]") {
  nlohmann::json j = {{"format", "eclip.workload"}, {"version", 1}, {"model", "toy"}, {"device", "H100"},
                      {"unit_counts", {8, 16}},     {"kernels", {{{"name", "a"}, {"us", {4, 3}}}}}};
  auto bad = [&](auto edit) {
    auto c = j;
    edit(c);
    return c;
  };
  CHECK_NOTHROW(Workload::from_json(j, "w.json"));
  CHECK_THROWS_WITH(Workload::from_json(bad([](auto& c) { c.erase("model"); }), "w.json"),
                    Catch::Contains("w.json") && Catch::Contains("missing field \"model\""));
  CHECK_THROWS_WITH(Workload::from_json(bad([](auto& c) { c["kernels"][0]["us"] = {4}; }), "w.json"),
                    Catch::Contains("kernels[0].us") && Catch::Contains("expected 2 times"));
  CHECK_THROWS_WITH(Workload::from_json(bad([](auto& c) { c["kernels"][0]["us"][1] = -1; }), "w.json"),
                    Catch::Contains("kernels[0].us[1]") && Catch::Contains("must be finite and > 0"));
  CHECK_THROWS_WITH(Workload::from_json(bad([](auto& c) { c["unit_counts"] = {16, 8}; }), "w.json"),
                    Catch::Contains("ascending"));
  CHECK_THROWS_WITH(Workload::from_json(bad([](auto& c) { c["kernels"][0].erase("name"); }), "w.json"),
                    Catch::Contains("kernels[0]") && Catch::Contains("\"name\""));
  CHECK_THROWS_WITH(Workload::from_json(bad([](auto& c) { c["kernels"][0]["blocks"] = 0; }), "w.json"),
                    Catch::Contains("kernels[0].blocks") && Catch::Contains("positive integer"));
  CHECK(Workload::from_json(bad([](auto& c) { c["kernels"][0]["blocks"] = 96; }), "w.json").kernels[0].blocks == 96);
  CHECK(Workload::from_json(j, "w.json").kernels[0].blocks == 0);  // optional: unknown
  CHECK_THROWS_WITH(Workload::load("/nonexistent/x.json"), Catch::Contains("cannot open"));
  Profile p = make_profile(presets::mi50(), {Workload::from_json(j, "w")}, 1, 1);
  auto pj = p.to_json();
  pj["models"][0]["kernels"][0]["us"] = {1, 2};
  CHECK_THROWS_WITH(Profile::from_json(pj), Catch::Contains("models[0].kernels[0].us") && Catch::Contains("expected 4"));
  CHECK_THROWS_WITH(p.model("vgg19"), Catch::Contains("no model \"vgg19\""));
}

TEST_CASE("a profile's measured energy per kernel is optional, checked and kept", "[profile]") {
  nlohmann::json j = {{"format", "eclip.profile"}, {"version", 1}, {"device", "H200"}, {"configs", {1, 2}},
                      {"units", {8, 16}},
                      {"models", {{{"model", "m"}, {"kernels", {{{"name", "a"}, {"us", {4, 3}}, {"energy_uj", 250.5}},
                                                               {{"name", "b"}, {"us", {2, 1}}}}}}}}};
  Profile p = Profile::from_json(j);
  CHECK(p.models[0].kernels[0].energy_uj == 250.5);
  CHECK(p.models[0].kernels[1].energy_uj == 0);  // unknown: the device model's power per unit
  CHECK(Profile::from_json(p.to_json()) == p);
  CHECK(p.restricted_to({2}).models[0].kernels[0].energy_uj == 250.5);
  for (const nlohmann::json& bad : {nlohmann::json(-1.0), nlohmann::json("lots")}) {
    auto c = j;
    c["models"][0]["kernels"][0]["energy_uj"] = bad;
    CHECK_THROWS_WITH(Profile::from_json(c), Catch::Contains("models[0].kernels[0].energy_uj") &&
                                                 Catch::Contains("microjoules >= 0") && Catch::Contains(bad.dump()));
  }
  p.models[0].kernels[1].energy_uj = std::nan("");
  CHECK_THROWS_WITH(p.validate(), Catch::Contains("kernel 1 (b)") && Catch::Contains("energy nan uJ"));
}
