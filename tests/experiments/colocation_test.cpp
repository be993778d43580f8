#include <cstdio>
#include <fstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "eclip/core/stats.hpp"
#include "eclip/experiments/colocation.hpp"
#include "eclip/model/colocation_planner.hpp"
#include "eclip/runtime/trace_observer.hpp"
#include "support/synthetic_profile.hpp"

using namespace eclip;

namespace {

Profile synthetic(const Topology& t) { return testing::synthetic_profile(t); }

}  // namespace

TEST_CASE("default mixes: 7 mixes of 4, every model in 4, every pair in 2", "[colocation]") {
  auto mixes = Mix::defaults();
  REQUIRE(mixes.size() == 7);
  std::map<std::string, int> count;
  std::map<std::pair<std::string, std::string>, int> pairs;
  for (const auto& m : mixes) {
    REQUIRE(m.models.size() == 4);
    for (size_t i = 0; i < 4; ++i) {
      ++count[m.models[i]];
      for (size_t j = i + 1; j < 4; ++j) ++pairs[std::minmax(m.models[i], m.models[j])];
    }
  }
  for (auto& [model, n] : count) CHECK(n == 4);
  CHECK(pairs.size() == 21);
  for (auto& [pair, n] : pairs) CHECK(n == 2);
}

TEST_CASE("mix JSON errors name the field", "[colocation]") {
  using json = nlohmann::json;
  CHECK(Mix::list_from_json(json{{"format", "eclip.mix"}, {"version", 1}, {"mixes", {{{"name", "x"}, {"models", {"a"}}}}}})
            .front()
            .models == std::vector<std::string>{"a"});
  CHECK_THROWS_WITH(Mix::from_json(json{{"name", "x"}}), Catch::Contains("x.models"));
  CHECK_THROWS_WITH(Mix::from_json(json{{"name", "x"}, {"models", {1}}}), Catch::Contains("x.models[0]"));
  CHECK_THROWS_WITH(Mix::from_json(json{{"name", "x"}, {"models", json::array()}}), Catch::Contains("at least one"));
  // The mix-file document of the defaults (what eclip_default_mixes hands to Python) reads back.
  const std::vector<Mix> back = Mix::list_from_json(Mix::list_to_json(Mix::defaults()));
  REQUIRE(back.size() == 7);
  for (size_t i = 0; i < back.size(); ++i) {
    CHECK(back[i].name == Mix::defaults()[i].name);
    CHECK(back[i].models == Mix::defaults()[i].models);
  }
}

TEST_CASE("every strategy keeps each worker's order and loses no kernel", "[colocation]") {
  const SimDeviceModel dm = SimDeviceModel::mi50();
  const Profile p = synthetic(dm.topology);
  const Mix mix{"m", {"a", "b", "c", "d"}};
  RunOptions opt;
  opt.duration_ms = 60;
  opt.warmup_ms = 10;
  for (Strategy s : kAllStrategies) {
    INFO(to_string(s));
    ColocationPlanOptions co;
    co.run = opt;
    StrategyPlan sp = make_plan(s, dm, mix.models, p, SwitchBudget::per_request(SwitchBudget::kEclipDefault),
                                kDefaultThresholdTolerance, co);
    RunResult r = simulate(dm, p, mix, sp, opt);
    CHECK(r.order_violations == 0);
    CHECK(r.unrouted == 0);
    CHECK(r.masked_streams <= dm.topology.max_masked_streams);
    CHECK(r.throughput_rps > 0);
    CHECK(r.avg_power_w >= dm.idle_power_w());
    CHECK(r.avg_power_w <= dm.full_power_w());
    CHECK(r.kernels_launched >= r.kernels_completed);
    CHECK(r.kernels_launched - r.kernels_completed <= 4 * 60);  // at most one request in flight per worker
    for (const auto& w : r.workers) CHECK(w.p95_ms >= w.p50_ms);
    if (s == Strategy::baseline || s == Strategy::model_wise) CHECK(r.switches_per_request == 0);
    if (s == Strategy::kernel_wise) CHECK(r.switches_per_request > 5);
    if (s == Strategy::remask) CHECK(r.remasks_per_request == Approx(60).epsilon(0.05));
    // The budget bounds switches within a request; the counters also see the one at each seam.
    if (s == Strategy::eclip || s == Strategy::eclip_budget)
      CHECK(r.switches_per_request <= SwitchBudget::kEclipDefault + 1.0);
  }
}

TEST_CASE("kernel-wise plans are merged until they fit the queue limit", "[colocation]") {
  SimDeviceModel dm = SimDeviceModel::mi50();
  Profile p = synthetic(dm.topology);
  // Give every model kernels of all three masked sizes: 4 x 3 = 12 masked streams wanted.
  for (auto& m : p.models) {
    m.kernels.push_back(KernelProfile{"mid", {60, 25, 25, 25}});
    m.kernels.push_back(KernelProfile{"large", {90, 50, 30, 30}});
  }
  StrategyPlan sp = make_strategy_plan(Strategy::kernel_wise, Mix{"m", {"a", "b", "c", "d"}}, p, dm.topology);
  CHECK(sp.plan.pool_specs(dm.topology).size() == 7);
}

TEST_CASE("simulation is deterministic for a seed and sensitive to it", "[colocation]") {
  const SimDeviceModel dm = SimDeviceModel::mi50();
  const Profile p = synthetic(dm.topology);
  const Mix mix{"m", {"a", "b"}};
  RunOptions opt;
  opt.duration_ms = 30;
  opt.warmup_ms = 5;
  StrategyPlan sp = make_strategy_plan(Strategy::kernel_wise, mix, p, dm.topology);
  RunResult a = simulate(dm, p, mix, sp, opt), b = simulate(dm, p, mix, sp, opt);
  CHECK(to_json(a) == to_json(b));
  opt.seed = 2;
  CHECK(to_json(simulate(dm, p, mix, sp, opt)) != to_json(a));
}

TEST_CASE("alone on the whole device a worker's latency is its kernels or its host pace", "[colocation]") {
  SimDeviceModel dm = SimDeviceModel::mi50();
  dm.launch_us = 1;
  Profile p = synthetic(dm.topology);
  p.models[0].host_gap_us = 1;
  RunOptions opt;
  opt.duration_ms = 50;
  opt.warmup_ms = 5;
  opt.jitter = 0;
  Mix solo{"a", {"a"}};
  RunResult r = simulate(dm, p, solo, make_strategy_plan(Strategy::baseline, solo, p, dm.topology), opt);
  // 60 kernels of 20 us each on the whole device, launched 1 us apart: GPU-bound, 1200 us + the first launch.
  CHECK(r.workers[0].p50_ms == Approx(1.2).epsilon(0.01));
  CHECK(r.jain == 0);
  r.normalize({r.throughput_rps});
  CHECK(r.jain == Approx(1));
  CHECK(r.workers[0].normalized == Approx(1));
}

TEST_CASE("bad options and mismatched plans are clear errors", "[colocation]") {
  const SimDeviceModel dm = SimDeviceModel::mi50();
  const Profile p = synthetic(dm.topology);
  const Mix mix{"m", {"a"}};
  StrategyPlan sp = make_strategy_plan(Strategy::baseline, mix, p, dm.topology);
  RunOptions opt;
  opt.duration_ms = 5;
  opt.warmup_ms = 10;
  CHECK_THROWS_WITH(simulate(dm, p, mix, sp, opt), Catch::Contains("must exceed warm-up"));
  CHECK_THROWS_WITH(make_strategy_plan(Strategy::baseline, Mix{"m", {"zzz"}}, p, dm.topology),
                    Catch::Contains("no model \"zzz\""));
  CHECK_THROWS_WITH(strategy_from_string("magic"), Catch::Contains("unknown strategy \"magic\""));
  CHECK(jain({1, 1, 1}) == Approx(1));
  CHECK(jain({1, 0, 0}) == Approx(1.0 / 3));
}

TEST_CASE("simulate traces every routed launch in simulated time (eclip simulate --trace)", "[colocation][trace]") {
  const SimDeviceModel dm = SimDeviceModel::mi50();
  const Topology& t = dm.topology;
  const Profile p = synthetic(t);
  const Mix mix{"m", {"a", "b"}};
  const std::string path = "colocation_test_trace.json";
  RunOptions o;
  o.duration_ms = 20;
  o.warmup_ms = 2;
  std::uint64_t launched = 0;
  {
    TraceObserver trace(path);
    o.observer = &trace;
    for (Strategy s : {Strategy::kernel_wise, Strategy::baseline}) {
      const RunResult r = simulate(dm, p, mix, make_strategy_plan(s, mix, p, t), o);
      launched += r.kernels_launched;
    }
    trace.close();
  }
  std::ifstream in(path);
  const nlohmann::json j = nlohmann::json::parse(in);
  std::map<int, std::string> runs;
  std::map<int, std::uint64_t> launches, switches;
  double max_ts = 0;
  for (const auto& e : j) {
    if (e["ph"] == "M" && e["name"] == "process_name") runs[e["pid"]] = e["args"]["name"];
    if (e.value("cat", "") != "launch") continue;
    ++launches[e["pid"]];
    switches[e["pid"]] += e["args"]["switch"].get<bool>();
    max_ts = std::max(max_ts, e["ts"].get<double>());
    CHECK((e["name"] == "big" || e["name"] == "small"));
    CHECK(e["args"]["units"].get<unsigned>() > 0);
  }
  CHECK(runs[1] == "MI50 m kernel-wise");
  CHECK(runs[2] == "MI50 m baseline");
  CHECK(launches[1] + launches[2] == launched);  // every launch of both runs, no solo reference run
  CHECK(switches[1] > 0);
  CHECK(switches[2] == 0);
  CHECK(max_ts <= o.duration_ms * 1000);  // simulated microseconds, not host time
  CHECK(max_ts > o.duration_ms * 500);
  std::remove(path.c_str());
}
