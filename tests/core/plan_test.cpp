#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "eclip/plan/plan.hpp"

using namespace eclip;

namespace {
Plan sample() {
  return Plan{"MI50", "eclip", SwitchBudget::per_request(14),
              {WorkerPlan{"resnet152", {{0, 10, {1}}, {10, 5, {3}}, {15, 3, {1}}}}, WorkerPlan{"alexnet", {{0, 4, {4}}}}}};
}
}  // namespace

TEST_CASE("plans round-trip through versioned JSON", "[plan]") {
  const Topology t = presets::mi50();
  Plan p = sample();
  auto j = p.to_json(t);
  CHECK(j["format"] == "eclip.plan");
  CHECK(j["version"] == 1);
  CHECK(j["workers"][0]["groups"][1]["units"] == 45);
  CHECK(j["pool"].size() == 2);
  CHECK(Plan::from_json_text(j.dump(), t) == p);
  CHECK(p.workers[0].switches() == 2);
  CHECK(p.workers[0].kernel_count() == 18);
}

TEST_CASE("kernel names are optional, round-trip, and must cover every kernel", "[plan]") {
  const Topology t = presets::mi50();
  Plan p = sample();
  CHECK_FALSE(p.to_json(t)["workers"][1].contains("kernel_names"));
  p.workers[1].kernel_names = {"void k0<int>(int)", "k1", "", "k3"};
  auto j = p.to_json(t);
  CHECK(j["workers"][1]["kernel_names"].size() == 4);
  CHECK(Plan::from_json_text(j.dump(), t) == p);
  auto c = j;
  c["workers"][1]["kernel_names"].erase(3);
  CHECK_THROWS_WITH(Plan::from_json_text(c.dump(), t),
                    Catch::Contains("workers[1] (alexnet).kernel_names") && Catch::Contains("3 names for 4 kernels"));
  c = j;
  c["workers"][1]["kernel_names"][2] = 7;
  CHECK_THROWS_WITH(Plan::from_json_text(c.dump(), t), Catch::Contains("workers[1].kernel_names[2]: expected a string"));
  c = j;
  c["workers"][1]["kernel_names"] = "k";
  CHECK_THROWS_WITH(Plan::from_json_text(c.dump(), t), Catch::Contains("kernel_names") && Catch::Contains("array"));
}

TEST_CASE("per-kernel expansion and run-length grouping invert each other", "[plan]") {
  WorkerPlan w = sample().workers[0];
  CHECK(WorkerPlan::from_per_kernel(w.model, w.per_kernel()) == w);
}

TEST_CASE("malformed plans are errors naming the field", "[plan]") {
  const Topology t = presets::mi50();
  auto j = sample().to_json(t);
  auto with = [&](auto edit) {
    auto c = j;
    edit(c);
    return c.dump();
  };
  CHECK_THROWS_WITH(Plan::from_json_text("{", t), Catch::Contains("not valid JSON"));
  CHECK_THROWS_WITH(Plan::from_json_text(with([](auto& c) { c["version"] = 3; }), t), Catch::Contains("version 3"));
  CHECK_THROWS_WITH(Plan::from_json_text(with([](auto& c) { c["workers"][1].erase("model"); }), t),
                    Catch::Contains("workers[1]") && Catch::Contains("\"model\""));
  CHECK_THROWS_WITH(Plan::from_json_text(with([](auto& c) { c["workers"][0]["groups"][1]["config"] = 5; }), t),
                    Catch::Contains("workers[0] (resnet152).groups[1]") && Catch::Contains("config 5"));
  CHECK_THROWS_WITH(Plan::from_json_text(with([](auto& c) { c["workers"][0]["groups"][1]["first"] = 11; }), t),
                    Catch::Contains("starts at kernel 11"));
  CHECK_THROWS_WITH(Plan::from_json_text(with([](auto& c) { c["workers"][0]["groups"][0]["count"] = -1; }), t),
                    Catch::Contains("groups[0].count") && Catch::Contains("non-negative"));
  CHECK_THROWS_WITH(Plan::from_json_text(with([](auto& c) { c["switch_budget"] = 1; }), t),
                    Catch::Contains("2 switches per request exceed the budget of 1"));
  CHECK_THROWS_WITH(Plan::from_json_text(with([](auto& c) { c["switch_budget"] = -3; }), t),
                    Catch::Contains("-3 is negative"));
  CHECK_THROWS_WITH(Plan::from_json_text(with([](auto& c) { c["workers"][1]["groups"] = nlohmann::json::array(); }), t),
                    Catch::Contains("worker has no kernels"));
  CHECK_THROWS_WITH(Plan::from_json_text(with([](auto& c) { c["device"] = "H100"; }), t),
                    Catch::Contains("made for H100"));
  // Integers are range-checked, never narrowed: 2^32 + 1 is not 1.
  CHECK_THROWS_WITH(Plan::from_json_text(with([](auto& c) { c["version"] = 4294967297ULL; }), t),
                    Catch::Contains("version") && Catch::Contains("out of range"));
  CHECK_THROWS_WITH(Plan::from_json_text(with([](auto& c) { c["workers"][0]["groups"][0]["count"] = 4294967299ULL; }), t),
                    Catch::Contains("groups[0].count") && Catch::Contains("out of range"));
  CHECK_THROWS_WITH(Plan::from_json_text(with([](auto& c) { c["workers"][0]["groups"][1]["config"] = 4294967297ULL; }), t),
                    Catch::Contains("groups[1].config") && Catch::Contains("out of range"));
  // first + count may not wrap around 2^32 to pass the coverage check, nor ask for a huge table.
  CHECK_THROWS_WITH(Plan::from_json_text(with([](auto& c) {
                      c["workers"][1]["groups"] = {{{"first", 0}, {"count", 4294967295U}, {"config", 4}},
                                                   {{"first", 4294967295U}, {"count", 2}, {"config", 4}}};
                    }), t),
                    Catch::Contains("workers[1]") && Catch::Contains("more than the"));
}

TEST_CASE("a plan needing more masked streams than the device holds is refused", "[plan]") {
  Plan p{"MI50", "t", {}, {}};
  for (int w = 0; w < 3; ++w) p.workers.push_back(WorkerPlan{"m", {{0, 1, {1}}, {1, 1, {2}}, {2, 1, {3}}}});
  CHECK_THROWS_WITH(p.validate(presets::mi50()), Catch::Contains("needs 9 CU-masked streams") && Catch::Contains("at most 7"));
}

TEST_CASE("the plan reader refuses fields it does not know", "[plan]") {
  const Topology t = presets::mi50();
  const auto j = sample().to_json(t);
  auto c = j;
  c["swtich_budget"] = 3;  // misspelt: must not be ignored
  CHECK_THROWS_WITH(Plan::from_json_text(c.dump(), t), Catch::Contains("unknown field \"swtich_budget\""));
  c = j;
  c["workers"][0]["priority"] = 1;
  CHECK_THROWS_WITH(Plan::from_json_text(c.dump(), t),
                    Catch::Contains("workers[0]") && Catch::Contains("unknown field \"priority\""));
  c = j;
  c["workers"][0]["groups"][0]["mask"] = "0xff";
  CHECK_THROWS_WITH(Plan::from_json_text(c.dump(), t),
                    Catch::Contains("workers[0].groups[0]") && Catch::Contains("unknown field \"mask\""));
  c = j;
  c["pool"][0]["stream"] = 3;
  CHECK_THROWS_WITH(Plan::from_json_text(c.dump(), t), Catch::Contains("pool[0]") && Catch::Contains("\"stream\""));
}

TEST_CASE("the plan reader checks units, kernels, switches and pool against the groups", "[plan]") {
  const Topology t = presets::mi50();
  const auto j = sample().to_json(t);
  auto with = [&](auto edit) {
    auto c = j;
    edit(c);
    return c.dump();
  };
  CHECK_THROWS_WITH(Plan::from_json_text(with([](auto& c) { c["workers"][0]["groups"][1]["units"] = 9999; }), t),
                    Catch::Contains("workers[0].groups[1].units") && Catch::Contains("9999") && Catch::Contains("45"));
  CHECK_THROWS_WITH(Plan::from_json_text(with([](auto& c) { c["workers"][0]["kernels"] = 17; }), t),
                    Catch::Contains("workers[0].kernels") && Catch::Contains("17"));
  CHECK_THROWS_WITH(Plan::from_json_text(with([](auto& c) { c["workers"][0]["switches"] = 0; }), t),
                    Catch::Contains("workers[0].switches") && Catch::Contains("give 2"));
  CHECK_THROWS_WITH(Plan::from_json_text(with([](auto& c) { c["workers"][0]["switches"] = "two"; }), t),
                    Catch::Contains("workers[0].switches") && Catch::Contains("integer"));
  CHECK_THROWS_WITH(Plan::from_json_text(with([](auto& c) { c["pool"][0]["units"] = 9999; }), t),
                    Catch::Contains("pool[0].units") && Catch::Contains("9999"));
  CHECK_THROWS_WITH(Plan::from_json_text(with([](auto& c) { c["pool"].erase(1); }), t),
                    Catch::Contains("pool") && Catch::Contains("lists 1 partitions but the workers' groups need 2"));
  CHECK_THROWS_WITH(Plan::from_json_text(with([](auto& c) { c["pool"][0]["worker"] = 7; }), t),
                    Catch::Contains("pool[0].worker") && Catch::Contains("2 workers"));
  CHECK_THROWS_WITH(Plan::from_json_text(with([](auto& c) { c["pool"] = "all"; }), t), Catch::Contains("pool: expected an array"));
  // The derived fields are optional: a hand-written plan may leave them out.
  CHECK(Plan::from_json_text(with([](auto& c) {
          c.erase("pool");
          for (auto& w : c["workers"]) {
            w.erase("kernels");
            w.erase("switches");
            for (auto& g : w["groups"]) g.erase("units");
          }
        }), t) == sample());
}

TEST_CASE("a switch budget of 2^64-1 is too large, not -1", "[plan]") {
  const Topology t = presets::mi50();
  auto j = sample().to_json(t);
  j["switch_budget"] = 18446744073709551615ULL;
  CHECK_THROWS_WITH(Plan::from_json_text(j.dump(), t),
                    Catch::Contains("18446744073709551615 is too large") && !Catch::Contains("negative"));
}
