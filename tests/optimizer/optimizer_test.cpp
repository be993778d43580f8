// Unit tests of the optimizer's model: thresholds, contention (alpha), special cases with known
// answers, plan shape, and the errors bad input must raise.
#include <catch2/catch.hpp>

#include <cmath>

#include <nlohmann/json.hpp>

#include "eclip/planner/optimizer.hpp"

namespace {

using Catch::Matchers::Contains;
using eclip::ContentionModel;
using eclip::Errc;
using eclip::Optimizer;
using eclip::OptimizerOptions;
using eclip::Profile;
using eclip::SwitchBudget;

eclip::Profile mi50_profile(std::vector<eclip::ModelProfile> models) {
  const eclip::Topology t = eclip::presets::mi50();
  Profile p;
  p.device = t.name;
  p.configs = t.size_classes;
  for (unsigned c : t.size_classes) p.units.push_back(t.units_of(c));
  p.models = std::move(models);
  return p;
}

eclip::ModelProfile model(std::string name, std::vector<std::vector<double>> times) {
  eclip::ModelProfile m{std::move(name), 0.0, {}};
  for (std::size_t k = 0; k < times.size(); ++k) m.kernels.push_back({"k" + std::to_string(k), times[k]});
  return m;
}

// Times at 15/30/45/60 CUs.
const std::vector<double> kFlat{10, 10, 10, 10};             // threshold: 15 CUs
const std::vector<double> kScaling{40, 20, 40.0 / 3, 10};    // perfect scaling: threshold 60 CUs
const std::vector<double> kKnee{20, 11, 10.5, 10};           // threshold 30 CUs at tol 0.10
const std::vector<double> kSmall{10, 10.2, 10.4, 10.6};      // fastest on 15 CUs
const std::vector<double> kMid{10.3, 10, 10.4, 10.6};        // fastest on 30 CUs

bool is_error(const eclip::Error& e, Errc code) { return e.code() == code; }

template <class F>
std::string error_of(F&& f, Errc code = Errc::invalid_argument) {
  try {
    f();
  } catch (const eclip::Error& e) {
    REQUIRE(is_error(e, code));
    return e.what();
  }
  FAIL("no eclip::Error thrown");
  return {};
}

}  // namespace

TEST_CASE("thresholds: the smallest size class within (1 + tol) of the whole device", "[optimizer]") {
  const Profile p = mi50_profile({model("a", {kFlat, kScaling, kKnee, {12, 9, 11, 10}})});
  auto mins = [&](double tol) {
    OptimizerOptions o;
    o.threshold_tolerance = tol;
    return Optimizer(eclip::presets::mi50(), o).model(p, {"a"}).workers[0].min_config;
  };
  CHECK(mins(0.10) == std::vector<std::uint32_t>{0, 3, 1, 1});  // 9 <= 11: a faster middle class counts
  CHECK(mins(0.0) == std::vector<std::uint32_t>{0, 3, 3, 1});
  CHECK(mins(1.0) == std::vector<std::uint32_t>{0, 1, 0, 0});   // 20 <= 20
  CHECK(mins(0.25) == std::vector<std::uint32_t>{0, 3, 1, 0});  // 12 <= 12.5
}

TEST_CASE("alpha: contention from a co-located worker pinned to one shader engine", "[optimizer][alpha]") {
  // Worker 1 (home SE 2) needs 15 CUs for every kernel: it loads SE 2 fully and nothing else.
  const Profile p = mi50_profile({model("w", {kKnee, kKnee}), model("pinned", {kFlat, kFlat, kFlat})});
  for (ContentionModel cm : {ContentionModel::occupancy, ContentionModel::region}) {
    OptimizerOptions o;
    o.contention = cm;
    const auto m = Optimizer(eclip::presets::mi50(), o).model(p, {"w", "pinned"});
    REQUIRE(m.workers[0].home_group == 0);
    REQUIRE(m.workers[1].home_group == 2);
    // Worker 0's partitions: SE 0, SEs 0-1, SEs 0-2, all.
    CHECK(m.workers[0].alpha[0] == Approx(0.0));
    CHECK(m.workers[0].alpha[1] == Approx(0.0));
    CHECK(m.workers[0].alpha[2] == Approx(15.0 / 45));
    CHECK(m.workers[0].alpha[3] == Approx(15.0 / 60));
    // Worker 0 needs 30 CUs on SEs 0-1 (knee threshold) and never reaches SE 2..3 at min config.
    CHECK(m.workers[1].alpha[0] == Approx(0.0).margin(1e-12));
    CHECK(m.workers[1].alpha[1] == Approx(0.0).margin(1e-12));
    CHECK(m.workers[1].alpha[2] == Approx(15.0 / 45));
    CHECK(m.workers[1].alpha[3] == Approx(30.0 / 60));
  }
}

TEST_CASE("alpha: the occupancy and region models differ where they should", "[optimizer][alpha]") {
  // Worker 1 spends half its time on the whole device (perfect scaling) and half on one SE (flat):
  // occupancy loads its home SE 2 fully and SEs 3, 0, 1 by half; the region model spreads its
  // average 37.5 CUs over SEs 2, 3, 0 at 37.5/45 each.
  const Profile p = mi50_profile({model("w", {kFlat}), model("mixed", {kScaling, kFlat})});
  OptimizerOptions o;
  const auto occ = Optimizer(eclip::presets::mi50(), o).model(p, {"w", "mixed"}).workers[0].alpha;
  CHECK(occ[0] == Approx(0.5));
  CHECK(occ[1] == Approx(0.5));
  CHECK(occ[2] == Approx(2.0 / 3));
  CHECK(occ[3] == Approx(0.625));
  o.contention = ContentionModel::region;
  const auto reg = Optimizer(eclip::presets::mi50(), o).model(p, {"w", "mixed"}).workers[0].alpha;
  const double density = 37.5 / 45;
  CHECK(reg[0] == Approx(density));
  CHECK(reg[1] == Approx(density / 2));
  CHECK(reg[2] == Approx(2 * density / 3));
  CHECK(reg[3] == Approx(0.625));
}

TEST_CASE("alpha is zero for a worker alone and grows with co-located workers", "[optimizer][alpha]") {
  const Profile p = mi50_profile({model("a", {kKnee, kScaling, kFlat})});
  const Optimizer opt(eclip::presets::mi50());
  const auto alone = opt.model(p, {"a"});
  for (double a : alone.workers[0].alpha) CHECK(a == 0.0);
  const auto two = opt.model(p, {"a", "a"}).workers[0].alpha;
  const auto four = opt.model(p, {"a", "a", "a", "a"}).workers[0].alpha;
  for (std::size_t c = 0; c < 4; ++c) CHECK(four[c] >= two[c]);
  CHECK(four[3] > two[3]);
}

TEST_CASE("unlimited budget and pool: every kernel on its own best config", "[optimizer]") {
  OptimizerOptions o;
  o.switch_cost_us = 0;
  eclip::Topology t = eclip::presets::mi50();
  t.max_masked_streams = 64;
  const Profile p = mi50_profile({model("a", {kFlat, kScaling, kKnee, kFlat, kKnee, {30, 12, 9, 10}}),
                                  model("b", {kScaling, kFlat, kFlat})});
  const Optimizer opt(t, o);
  const auto m = opt.model(p, {"a", "b"});
  const auto r = opt.solve(m, SwitchBudget::unlimited());
  for (std::size_t w = 0; w < 2; ++w) {
    const auto cfg = r.plan.workers[w].per_kernel();
    double total = 0;
    for (std::uint32_t k = 0; k < m.workers[w].kernels; ++k) {
      double best = 1e300;
      for (std::size_t c = m.workers[w].min_config[k]; c < 4; ++c) best = std::min(best, m.workers[w].estimated_us(k, c));
      const std::size_t chosen = cfg[k].groups - 1;  // MI50 classes are 1..4 SEs
      CHECK(chosen >= m.workers[w].min_config[k]);
      CHECK(m.workers[w].estimated_us(k, chosen) == Approx(best));
      total += best;
    }
    CHECK(r.workers[w].time_us == Approx(total));
  }
}

TEST_CASE("budget 0: one config per worker, the best single one at or above every threshold", "[optimizer]") {
  const Profile p = mi50_profile({model("a", {kFlat, kKnee, kFlat, kFlat})});
  const Optimizer opt(eclip::presets::mi50());
  const auto m = opt.model(p, {"a", "a"});
  const auto r = opt.solve(m, SwitchBudget::per_request(0));
  for (std::size_t w = 0; w < 2; ++w) {
    REQUIRE(r.plan.workers[w].groups.size() == 1);
    // Candidates: 30, 45, 60 CUs (the knee kernel needs 30).
    double best = 1e300;
    std::size_t arg = 0;
    for (std::size_t c = 1; c < 4; ++c) {
      double t = 0;
      for (std::uint32_t k = 0; k < 4; ++k) t += m.workers[w].estimated_us(k, c);
      if (t < best) best = t, arg = c;
    }
    CHECK(r.plan.workers[w].groups[0].config.groups >= 2);
    CHECK(r.workers[w].time_us == Approx(best));
    (void)arg;
  }
}

TEST_CASE("the pool constraint: no masked streams means the whole device everywhere", "[optimizer]") {
  eclip::Topology t = eclip::presets::mi50();
  t.max_masked_streams = 0;
  const Profile p = mi50_profile({model("a", {kFlat, kFlat, kKnee}), model("b", {kFlat})});
  const auto r = Optimizer(t).optimize(p, {"a", "b", "a"}, SwitchBudget::unlimited());
  for (const auto& wp : r.plan.workers) {
    REQUIRE(wp.groups.size() == 1);
    CHECK(wp.groups[0].config.groups == 4);
  }
  CHECK(r.masked_streams == 0);
  CHECK(r.plan.pool_specs(t).empty());
}

TEST_CASE("the pool constraint binds: the streams go where they help most", "[optimizer]") {
  // One masked stream for two workers. Worker "big" gains far more from moving off the whole
  // device (heavy contention there) than "small", so it gets the stream.
  eclip::Topology t = eclip::presets::mi50();
  t.max_masked_streams = 1;
  const Profile p = mi50_profile({model("big", {kFlat, kFlat, kFlat, kFlat}), model("small", {{10, 9.9, 9.8, 9.7}})});
  const auto r = Optimizer(t).optimize(p, {"big", "small"}, SwitchBudget::unlimited());
  CHECK(r.masked_streams == 1);
  CHECK(r.workers[0].masked_streams == 1);  // big: 0.25 of its alone time saved, small: 0.23
  CHECK(r.workers[1].masked_streams == 0);
  CHECK(r.plan.pool_specs(t).size() == 1);
}

TEST_CASE("plan shape: runs of equal configs, or the fixed groups as given", "[optimizer]") {
  // Worker 1 pins SE 2, so worker 0's whole-device time is 25% slower than alone; its small
  // kernels go to SE 0, its scaling kernels need the whole device.
  const Profile p = mi50_profile({model("a", {kSmall, kSmall, kScaling, kScaling, kSmall, kSmall}),
                                  model("pinned", {kFlat})});
  eclip::Topology t = eclip::presets::mi50();
  OptimizerOptions o;
  auto r = Optimizer(t, o).optimize(p, {"a", "pinned"}, SwitchBudget::unlimited());
  REQUIRE(r.plan.workers[0].groups.size() == 3);
  CHECK(r.plan.workers[0].groups[0] == eclip::KernelGroup{0, 2, {1}});
  CHECK(r.plan.workers[0].groups[1] == eclip::KernelGroup{2, 2, {4}});
  CHECK(r.plan.workers[0].groups[2] == eclip::KernelGroup{4, 2, {1}});
  CHECK(r.plan.device == "MI50");
  CHECK(r.plan.strategy == "eclip-budget");
  CHECK(r.workers[0].switches == 2);
  // Fixed groups {1, 2, 3}: group 1 (kernels 1-2) and group 2 (kernels 3-5) hold scaling kernels.
  o.fixed_groups = {{1, 2, 3}, {}};
  r = Optimizer(t, o).optimize(p, {"a", "pinned"}, SwitchBudget::unlimited());
  REQUIRE(r.plan.workers[0].groups.size() == 3);
  CHECK(r.plan.workers[0].groups[0] == eclip::KernelGroup{0, 1, {1}});
  CHECK(r.plan.workers[0].groups[1] == eclip::KernelGroup{1, 2, {4}});
  CHECK(r.plan.workers[0].groups[2] == eclip::KernelGroup{3, 3, {4}});  // kept as given, not merged
  CHECK(r.workers[0].switches == 1);
  // Budget 1 with the default grouping: two runs at most.
  o.fixed_groups.clear();
  r = Optimizer(t, o).optimize(p, {"a", "pinned"}, SwitchBudget::per_request(1));
  CHECK(r.plan.workers[0].switches() == 1);
  CHECK(r.plan.budget == SwitchBudget::per_request(1));
}

TEST_CASE("the switch cost trades gains against switches", "[optimizer]") {
  // Alternating kernels that prefer 15 and 30 CUs by 0.2-0.3 us: worth switching only when a
  // switch costs less than that.
  const Profile p = mi50_profile({model("a", {kSmall, kMid, kSmall, kMid}), model("pinned", {kFlat})});
  OptimizerOptions o;
  o.switch_cost_us = 0;
  auto r = Optimizer(eclip::presets::mi50(), o).optimize(p, {"a", "pinned"}, SwitchBudget::unlimited());
  CHECK(r.workers[0].switches == 3);
  CHECK(r.workers[0].time_us == Approx(40.0));
  o.switch_cost_us = 2;
  r = Optimizer(eclip::presets::mi50(), o).optimize(p, {"a", "pinned"}, SwitchBudget::unlimited());
  CHECK(r.workers[0].switches == 0);
  CHECK(r.workers[0].time_us == Approx(40.4));  // all on 30 CUs
  // A budget of 1 with free switches: the best single switch saves 0.2 (kernel 0 on 15 CUs).
  o.switch_cost_us = 0;
  r = Optimizer(eclip::presets::mi50(), o).optimize(p, {"a", "pinned"}, SwitchBudget::per_request(1));
  CHECK(r.workers[0].switches == 1);
  CHECK(r.workers[0].time_us == Approx(40.2));
}

TEST_CASE("objective and evaluate agree; baseline plans are scored the same way", "[optimizer]") {
  const Profile p = mi50_profile({model("a", {kFlat, kKnee, kScaling}), model("b", {kKnee, kKnee})});
  const Optimizer opt(eclip::presets::mi50());
  const auto m = opt.model(p, {"a", "b"});
  const auto r = opt.solve(m, SwitchBudget::per_request(14));
  const auto again = opt.evaluate(m, r.plan);
  CHECK(again.objective == Approx(r.objective));
  double sum = 0;
  for (const auto& w : r.workers) sum += w.time_us / w.alone_us;
  CHECK(r.objective == Approx(sum));
  // Baseline: everything on the whole device.
  eclip::Plan base{"MI50", "baseline", std::nullopt, {}};
  for (const auto& wk : m.workers)
    base.workers.push_back(eclip::WorkerPlan::from_per_kernel(wk.model, std::vector<eclip::PartitionConfig>(wk.kernels, {4})));
  const auto b = opt.evaluate(m, base);
  CHECK(b.objective == Approx((1 + m.workers[0].alpha[3]) + (1 + m.workers[1].alpha[3])));
  CHECK(r.objective <= b.objective + 1e-12);
  // Same inputs, same plan.
  CHECK(opt.solve(m, SwitchBudget::per_request(14)).plan == r.plan);
}

TEST_CASE("JSON round trip of an optimizer plan", "[optimizer]") {
  const Profile p = mi50_profile({model("a", {kFlat, kKnee, kScaling, kFlat})});
  const eclip::Topology t = eclip::presets::mi50();
  const auto r = Optimizer(t).optimize(p, {"a", "a"}, SwitchBudget::per_request(2));
  CHECK(eclip::Plan::from_json(r.plan.to_json(t), t) == r.plan);
}

TEST_CASE("bad input: each error names the worker, kernel or field", "[optimizer][errors]") {
  const eclip::Topology t = eclip::presets::mi50();
  const Profile good = mi50_profile({model("a", {kFlat, kKnee}), model("b", {kFlat})});

  SECTION("negative budget") {
    CHECK_THAT(error_of([] { (void)SwitchBudget::per_request(-1); }), Contains("negative"));
  }
  SECTION("a kernel missing the time of a config") {
    Profile p = good;
    p.models[1].kernels[0].us.pop_back();
    const std::string e = error_of([&] { Optimizer(t).model(p, {"a", "b"}); });
    CHECK_THAT(e, Contains("worker 1 (b) kernel 0 (k0)"));
    CHECK_THAT(e, Contains("\"us\""));
    CHECK_THAT(e, Contains("missing the time at config 4 groups"));
  }
  SECTION("a non-positive time") {
    Profile p = good;
    p.models[0].kernels[1].us[2] = 0;
    CHECK_THAT(error_of([&] { Optimizer(t).model(p, {"a"}); }), Contains("worker 0 (a) kernel 1 (k1): us[2]"));
  }
  SECTION("a model the profile lacks") {
    const std::string e = error_of([&] { Optimizer(t).model(good, {"a", "resnet152"}); });
    CHECK_THAT(e, Contains("worker 1 (resnet152)"));
    CHECK_THAT(e, Contains("not in the profile"));
    CHECK_THAT(e, Contains("has: a, b"));
  }
  SECTION("a worker with no kernels") {
    Profile p = good;
    p.models.push_back(model("empty", {}));
    CHECK_THAT(error_of([&] { Optimizer(t).model(p, {"a", "empty"}); }), Contains("worker 1 (empty): the model has no kernels"));
  }
  SECTION("an empty mix") { CHECK_THAT(error_of([&] { Optimizer(t).model(good, {}); }), Contains("no workers")); }
  SECTION("fixed groups that do not cover the kernels") {
    OptimizerOptions o;
    o.fixed_groups = {{1}, {}};
    CHECK_THAT(error_of([&] { Optimizer(t, o).model(good, {"a", "b"}); }),
               Contains("worker 0 (a): fixed_groups[0] covers 1 kernels but the model has 2"));
    o.fixed_groups = {{1, 0, 1}, {}};
    CHECK_THAT(error_of([&] { Optimizer(t, o).model(good, {"a", "b"}); }), Contains("fixed_groups[0][1] is empty"));
    o.fixed_groups = {{2}};
    CHECK_THAT(error_of([&] { Optimizer(t, o).model(good, {"a", "b"}); }), Contains("fixed_groups has 1 entries"));
  }
  SECTION("an infeasible threshold") {
    OptimizerOptions o;
    o.threshold_tolerance = -0.05;
    CHECK_THAT(error_of([&] { Optimizer(t, o); }), Contains("threshold_tolerance -0.05 is infeasible"));
    o.threshold_tolerance = std::nan("");
    CHECK_THAT(error_of([&] { Optimizer(t, o); }), Contains("threshold_tolerance"));
  }
  SECTION("a negative switch cost") {
    OptimizerOptions o;
    o.switch_cost_us = -1;
    CHECK_THAT(error_of([&] { Optimizer(t, o); }), Contains("switch_cost_us -1"));
  }
  SECTION("a profile for other size classes") {
    Profile p = good;
    p.configs = {1, 2, 4};
    CHECK_THAT(error_of([&] { Optimizer(t).model(p, {"a"}); }), Contains("field \"configs\" is [1, 2, 4]"));
  }
  SECTION("a planning model for another topology") {
    const Optimizer opt(t);
    auto m = opt.model(good, {"a", "b"});
    m.max_masked_streams = 9;
    CHECK_THAT(error_of([&] { opt.solve(m, SwitchBudget::unlimited()); }),
               Contains("the planning model is for MI50 (size classes [1, 2, 3, 4], 9 masked streams)"));
  }
  SECTION("evaluating a plan that does not fit the model") {
    const Optimizer opt(t);
    const auto m = opt.model(good, {"a", "b"});
    eclip::Plan plan{"MI50", "x", std::nullopt, {eclip::WorkerPlan::from_per_kernel("a", {{4}, {4}})}};
    CHECK_THAT(error_of([&] { opt.evaluate(m, plan); }), Contains("the plan has 1 workers but the model has 2"));
    plan.workers.push_back(eclip::WorkerPlan::from_per_kernel("b", {{4}, {4}}));
    CHECK_THAT(error_of([&] { opt.evaluate(m, plan); }), Contains("worker 1 (b): the plan covers 2 kernels"));
  }
}

TEST_CASE("a budget sweep reuses one model; more budget or more streams never hurts", "[optimizer]") {
  const Profile p = mi50_profile({model("a", {kSmall, kMid, kKnee, kScaling, kSmall, kMid, kFlat, kKnee}),
                                  model("b", {kMid, kSmall, kFlat, kScaling, kMid}), model("c", {kFlat, kKnee})});
  const std::vector<std::string> mix{"a", "b", "c", "a"};
  double last_q = 1e300;
  for (unsigned q = 0; q <= 12; ++q) {
    eclip::Topology t = eclip::presets::mi50();
    t.max_masked_streams = q;
    OptimizerOptions o;
    o.switch_cost_us = 0.1;
    const Optimizer opt(t, o);
    const auto m = opt.model(p, mix);
    double last_b = 1e300;
    for (int b : {0, 1, 2, 3, 4, 6, 8, -1}) {
      const auto budget = b < 0 ? SwitchBudget::unlimited() : SwitchBudget::per_request(b);
      const auto r = opt.solve(m, budget);
      CHECK(r.objective <= last_b + 1e-12);
      CHECK(r.masked_streams <= q);
      for (const auto& w : r.workers) CHECK(budget.allows(w.switches));
      last_b = r.objective;
    }
    CHECK(last_b <= last_q + 1e-12);
    last_q = last_b;
  }
}
