// The co-location simulation as a library call (eclip/model/colocation_sim.hpp): model names and a
// mix name, no experiments types; this program links libeclip alone.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "eclip/core/stats.hpp"
#include "eclip/model/colocation_sim.hpp"
#include "support/synthetic_profile.hpp"

using namespace eclip;

namespace {

Profile synthetic(const Topology& t) { return testing::synthetic_profile(t); }

RunOptions short_run() {
  RunOptions opt;
  opt.duration_ms = 40;
  opt.warmup_ms = 5;
  return opt;
}

}  // namespace

TEST_CASE("simulate takes model names and a mix name", "[model][colocation]") {
  const SimDeviceModel dm = SimDeviceModel::mi50();
  const Profile p = synthetic(dm.topology);
  const std::vector<std::string> models{"a", "b", "c"};
  const StrategyPlan sp = make_strategy_plan(Strategy::model_wise, models, p, dm.topology);
  RunResult r = simulate(dm, p, models, "three", sp, short_run());
  CHECK(r.device == "MI50");
  CHECK(r.mix == "three");
  CHECK(r.strategy == Strategy::model_wise);
  REQUIRE(r.workers.size() == 3);
  for (size_t w = 0; w < 3; ++w) {
    CHECK(r.workers[w].model == models[w]);
    CHECK(r.workers[w].throughput_rps > 0);
  }
  CHECK(r.order_violations == 0);
  CHECK(r.unrouted == 0);
  CHECK(to_json(r)["mix"] == "three");
  CHECK(to_json(r) == to_json(simulate(dm, p, models, "three", sp, short_run())));  // deterministic

  const std::vector<double> alone = alone_throughputs(dm, p, models, short_run());
  REQUIRE(alone.size() == 3);
  for (double a : alone) CHECK(a > 0);
  r.normalize(alone);
  CHECK(r.jain > 0);
  CHECK(r.jain <= 1 + 1e-12);
  for (size_t w = 0; w < 3; ++w) CHECK(r.workers[w].normalized == Approx(r.workers[w].throughput_rps / alone[w]));
}

TEST_CASE("simulate: a plan for other workers is an error naming the mix", "[model][colocation]") {
  const SimDeviceModel dm = SimDeviceModel::mi50();
  const Profile p = synthetic(dm.topology);
  const StrategyPlan two = make_strategy_plan(Strategy::baseline, {"a", "b"}, p, dm.topology);
  CHECK_THROWS_WITH(simulate(dm, p, {"a", "b", "c"}, "trio", two, short_run()),
                    Catch::Contains("plan has 2 workers, mix trio has 3"));
  CHECK(jain({}) == 0);
  CHECK(jain({2, 2}) == Approx(1));
}

TEST_CASE("the device's contention parameters reach the co-location simulation", "[model][colocation][contention]") {
  SimDeviceModel dm = SimDeviceModel::mi50();
  const Profile p = synthetic(dm.topology);
  const std::vector<std::string> models{"a", "b", "c", "d"};
  const StrategyPlan model_wise = make_strategy_plan(Strategy::model_wise, models, p, dm.topology);
  const StrategyPlan baseline = make_strategy_plan(Strategy::baseline, models, p, dm.topology);
  const RunResult free_mw = simulate(dm, p, models, "m", model_wise, short_run());
  const RunResult fair_bl = simulate(dm, p, models, "m", baseline, short_run());
  // Interference slows even disjoint partitions.
  dm.bandwidth_slowdown = 0.5;
  CHECK(simulate(dm, p, models, "m", model_wise, short_run()).throughput_rps < 0.95 * free_mw.throughput_rps);
  // First come, first served changes how whole-device sharing goes (here: the latencies), and
  // nothing for disjoint partitions, where no two kernels compete for a unit.
  dm.bandwidth_slowdown = 0;
  dm.fair_share = 0;
  const RunResult fcfs_bl = simulate(dm, p, models, "m", baseline, short_run());
  CHECK(to_json(fcfs_bl) != to_json(fair_bl));
  CHECK(fcfs_bl.order_violations == 0);
  CHECK(fcfs_bl.unrouted == 0);
  CHECK(to_json(simulate(dm, p, models, "m", model_wise, short_run())) == to_json(free_mw));
  dm.fair_share = 2;
  CHECK_THROWS_WITH(simulate(dm, p, models, "m", baseline, short_run()), Catch::Contains("fair_share = 2"));
}
