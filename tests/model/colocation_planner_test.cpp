// The co-location planner's picks for a measured search (eclip/model/colocation_planner.hpp):
// every static split predicted in parallel, the best under the objective, the plan grown from it.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

#include "eclip/model/colocation_planner.hpp"

using namespace eclip;

namespace {

/// Three models that want different shares of the H200: "wide" kernels scale with the units,
/// "narrow" ones stop scaling at the second size class, "mixed" alternates, so the static splits
/// differ in throughput and the best one is not the equal split.
Profile distinct_profile(const Topology& t) {
  Profile p;
  p.device = t.name;
  p.configs = t.size_classes;
  for (unsigned c : t.size_classes) p.units.push_back(t.units_of(c));
  auto times = [&](double base, double floor_at) {
    std::vector<double> us;
    for (unsigned c : t.size_classes) us.push_back(std::max(base / c, base / floor_at));
    return us;
  };
  ModelProfile wide{"wide", 5.0, {}}, narrow{"narrow", 5.0, {}}, mixed{"mixed", 5.0, {}};
  for (int k = 0; k < 24; ++k) {
    wide.kernels.push_back(KernelProfile{"w", times(400, 1e9)});
    narrow.kernels.push_back(KernelProfile{"n", times(60, 2)});
    mixed.kernels.push_back(KernelProfile{"m", k % 2 ? times(200, 1e9) : times(40, 1)});
  }
  p.models = {wide, narrow, mixed};
  return p;
}

ColocationPlanOptions quick() {
  ColocationPlanOptions o;
  o.run.duration_ms = 30;
  o.run.warmup_ms = 5;
  o.search.max_trials = 40;
  return o;
}

const std::vector<std::string> kModels{"wide", "narrow", "mixed"};

}  // namespace

TEST_CASE("predict_each: the same predictions on any number of threads, in order", "[model][planner][threads]") {
  const SimDeviceModel dm = SimDeviceModel::h200();
  const Profile p = distinct_profile(dm.topology);
  const PlanSpace space = plan_space(dm.topology, p, kModels, 1, SwitchBudget::unlimited());
  std::vector<Candidate> some = space.all_static_splits();
  some.resize(std::min<std::size_t>(some.size(), 24));
  some.push_back(space.shared());
  const RunOptions run = quick().run;
  const std::vector<Evaluation> one = predict_each(dm, p, space, some, run, 1);
  const std::vector<Evaluation> many = predict_each(dm, p, space, some, run, 4);
  REQUIRE(one.size() == some.size());
  REQUIRE(many.size() == some.size());
  for (std::size_t i = 0; i < some.size(); ++i) {
    const Evaluation seq = predict(dm, p, kModels, space.to_plan(some[i], "eclip"), run);
    CHECK(one[i].throughput_rps == seq.throughput_rps);
    CHECK(many[i].throughput_rps == seq.throughput_rps);
    CHECK(many[i].p95_ms == seq.p95_ms);
    CHECK(many[i].power_w == seq.power_w);
  }
  CHECK(predict_each(dm, p, space, {}, run, 4).empty());
  // An error in one candidate reaches the caller, whichever thread met it.
  RunOptions bad = run;
  bad.warmup_ms = run.duration_ms;
  CHECK_THROWS_WITH(predict_each(dm, p, space, some, bad, 4), Catch::Contains("must exceed warm-up"));
}

TEST_CASE("best_of: the best that keeps the constraints, else the least broken", "[model][planner]") {
  Objective o;
  o.alone_rps = {100, 100};
  o.p95_limit_ms = {10, 10};
  auto eval = [](double a, double b, double p95) { return Evaluation{{a, b}, {p95, p95}, 100, 1}; };
  // Index 1 has the most throughput but breaks a p95 limit; 2 keeps them with more than 0.
  CHECK(best_of(o, {eval(40, 40, 5), eval(90, 90, 20), eval(50, 45, 9)}) == 2);
  // None keeps them: the least broken (12 ms over 10), not the fastest.
  CHECK(best_of(o, {eval(90, 90, 20), eval(30, 30, 12), eval(80, 80, 15)}) == 1);
  // The energy objective ranks by inferences per joule.
  o.kind = ObjectiveKind::energy;
  Evaluation frugal = eval(40, 40, 5);
  frugal.power_w = 50;
  CHECK(best_of(o, {eval(60, 60, 5), frugal}) == 1);
  CHECK_THROWS_WITH(best_of(o, {}), Catch::Contains("no evaluations"));
}

TEST_CASE("the model's static start is its best static split under the objective", "[model][planner]") {
  const SimDeviceModel dm = SimDeviceModel::h200();
  const Profile p = distinct_profile(dm.topology);
  // The measured search's space cuts each request in two (its segments need not match the model's).
  const PlanSpace space(dm.topology, kModels, {{12, 12}, {12, 12}, {12, 12}}, SwitchBudget::unlimited());
  for (const ObjectiveKind kind : {ObjectiveKind::throughput, ObjectiveKind::energy}) {
    ColocationPlanOptions o = quick();
    o.objective = kind;
    std::vector<Candidate> starts{space.shared()};
    add_model_starts(dm, p, space, o, {ModelStart::best_static}, starts);
    REQUIRE(starts.size() == 2);
    CHECK(starts[1].all_home());
    // The best by a plain sequential loop over every static split, judged as the model judges.
    const Objective objective = model_objective(dm, p, kModels, o);
    double best_score = -std::numeric_limits<double>::infinity();
    std::vector<unsigned> best_split;
    for (const Candidate& c : space.all_static_splits()) {
      const double s = objective.score(predict(dm, p, kModels, space.to_plan(c, "eclip"), o.run));
      if (s > best_score) best_score = s, best_split = c.split;
    }
    INFO("objective " << to_string(kind));
    REQUIRE(std::isfinite(best_score));
    CHECK(starts[1].split == best_split);
    CHECK(starts[1] != space.equal_split());
    if (kind == ObjectiveKind::throughput) {  // once: each call predicts every split (~30 s under ASan)
      // Asked again, it is a start already: nothing is added.
      add_model_starts(dm, p, space, o, {ModelStart::best_static}, starts);
      CHECK(starts.size() == 2);
    }
  }
}

TEST_CASE("the model's plan start adds per-segment moves; the names of the picks", "[model][planner]") {
  const SimDeviceModel dm = SimDeviceModel::h200();
  const Profile p = distinct_profile(dm.topology);
  const PlanSpace space(dm.topology, kModels, {{12, 12}, {12, 12}, {12, 12}}, SwitchBudget::unlimited());
  std::vector<Candidate> starts;
  add_model_starts(dm, p, space, quick(), {ModelStart::best_static, ModelStart::best_plan}, starts);
  REQUIRE(!starts.empty());
  CHECK(starts[0].all_home());
  for (std::size_t i = 1; i < starts.size(); ++i) CHECK_FALSE(starts[i].all_home());

  for (const ModelStart m : {ModelStart::best_static, ModelStart::best_static_other, ModelStart::best_plan,
                             ModelStart::best_plan_other})
    CHECK(model_start_from_string(to_string(m)) == m);
  CHECK_THROWS_WITH(model_start_from_string("best"), Catch::Contains("unknown model start \"best\""));
}
