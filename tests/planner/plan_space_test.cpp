// The plan space: static splits as plans with disjoint homes, their pools, and the local moves.
#include <algorithm>
#include <numeric>
#include <set>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "eclip/backend/sim.hpp"
#include "eclip/planner/plan_space.hpp"
#include "eclip/planner/strategy.hpp"
#include "eclip/runtime/partition_pool.hpp"

using namespace eclip;

namespace {
PlanSpace h200_space(unsigned workers, unsigned segments = 1, SwitchBudget b = SwitchBudget::unlimited()) {
  std::vector<std::string> models;
  std::vector<std::vector<std::uint32_t>> segs;
  for (unsigned w = 0; w < workers; ++w) {
    models.push_back("m" + std::to_string(w));
    segs.emplace_back(segments, 2U);  // two positions per segment
  }
  return PlanSpace(presets::h200(), models, segs, b);
}
}  // namespace

TEST_CASE("plan space: every static split of 16 atoms into 4 homes, each a valid plan with disjoint homes") {
  const PlanSpace space = h200_space(4);
  const auto splits = space.all_static_splits();
  // Compositions of 16 into 4 positive parts, C(15, 3) = 455, less the 91 (C(14, 2)) that leave the
  // last worker only the 12-SM remainder group.
  CHECK(splits.size() == 364);
  std::set<std::vector<unsigned>> distinct;
  for (const Candidate& c : splits) {
    distinct.insert(c.split);
    REQUIRE(std::accumulate(c.split.begin(), c.split.end(), 0U) == 16);
    const Plan p = space.to_plan(c, "static");
    std::vector<int> owner(16, -1);
    for (unsigned w = 0; w < 4; ++w) {
      REQUIRE(p.workers[w].home);
      for (unsigned g = p.workers[w].home->first; g < p.workers[w].home->end(); ++g) {
        REQUIRE(owner[g] == -1);
        owner[g] = static_cast<int>(w);
      }
      REQUIRE(p.workers[w].groups.size() == 1);
      CHECK(p.workers[w].groups[0].config.groups == c.split[w]);
    }
    CHECK(std::count(owner.begin(), owner.end(), -1) == 0);
  }
  CHECK(distinct.size() == 364);
}

TEST_CASE("plan space: the equal split gives the remainder to the first workers") {
  CHECK(h200_space(4).equal_split().split == std::vector<unsigned>{4, 4, 4, 4});
  CHECK(h200_space(3).equal_split().split == std::vector<unsigned>{6, 5, 5});
  CHECK(h200_space(5).equal_split().split == std::vector<unsigned>{4, 3, 3, 3, 3});
}

TEST_CASE("plan space: a static split's pool holds exactly each worker's home, on the home's units") {
  SimDevice dev(SimDeviceModel::h200());
  const PlanSpace space = h200_space(4);
  const Plan p = space.to_plan(space.static_split({5, 4, 4, 3}), "static");
  PartitionPool pool(dev, 4, p.pool_specs(dev.topology()));
  const Topology& t = dev.topology();
  const unsigned firsts[] = {0, 5, 9, 13}, sizes[] = {5, 4, 4, 3};
  CuMask seen(t.units());
  for (unsigned w = 0; w < 4; ++w) {
    REQUIRE(pool.slots(w).size() == 2);
    const CuMask m = pool.slots(w)[1].mask;
    CHECK(m == t.grow_from(firsts[w], sizes[w]));
    CHECK((m & seen).count() == 0);  // disjoint: no SM in two homes
    seen |= m;
  }
  CHECK(seen == t.all());                      // and together the whole device
  CHECK(pool.slots(3)[1].mask.count() == 28);  // 2 x 8 SMs + the 12-SM remainder
}

TEST_CASE("plan space: neighbours move one atom, add a free group, move one segment one size, or (un)confine a worker") {
  const PlanSpace space = h200_space(2, 2);
  const Candidate c = space.static_split({10, 6});
  const auto n = space.neighbours(c);
  std::set<std::vector<unsigned>> splits;
  for (const Candidate& x : n) splits.insert(x.split);
  CHECK(splits.count({9, 7}) == 1);
  CHECK(splits.count({11, 5}) == 1);
  // Segment moves keep the split and change one segment: up to the next size class, down to the
  // one below (sizes 1, 2, 4, 8, 16 plus the home).
  bool up = false, down = false;
  for (const Candidate& x : n)
    if (x.split == c.split) {
      CHECK(x.segment != c.segment);
      CHECK_FALSE(x.all_home());  // a segment left home
      up |= x.segment[0][0] == 16;
      down |= x.segment[0][0] == 8;
    }
  CHECK(up);
  CHECK(down);
  CHECK(c.all_home());
  CHECK(space.shared().all_home());
  // One worker unconfined: every one of its segments on the whole device in one move.
  CHECK(std::any_of(n.begin(), n.end(), [&](const Candidate& x) {
    return x.split == c.split && x.segment[1] == std::vector<unsigned>{16, 16} && x.segment[0] == c.segment[0];
  }));
  for (const Candidate& x : n) CHECK_NOTHROW(space.to_plan(x, "t").validate(space.topology()));
  // And back: every segment of an unconfined worker home again, in one move.
  Candidate unconfined = c;
  unconfined.segment[1] = {16, 16};
  const auto un = space.neighbours(unconfined);
  CHECK(std::find(un.begin(), un.end(), c) != un.end());

  const Candidate partial = space.static_split({6, 6});  // 4 groups free
  const auto pn = space.neighbours(partial);
  CHECK(std::any_of(pn.begin(), pn.end(), [](const Candidate& x) { return x.split == std::vector<unsigned>{7, 6}; }));
  // A group left idle (energy: fewer active SMs), from either home.
  CHECK(splits.count({9, 6}) == 1);
  CHECK(splits.count({10, 5}) == 1);
  // A segment whose partition becomes its home's size is spelt "at home" (one candidate per plan).
  Candidate off_home = space.static_split({10, 6});
  off_home.segment[1][0] = 5;  // worker 1's first segment on 5 groups, its home 6
  for (const Candidate& x : space.neighbours(off_home))
    if (x.split == std::vector<unsigned>{10, 5}) CHECK(x.segment[1][0] == 0);
}

TEST_CASE("plan space: the switch budget bounds segment moves") {
  const PlanSpace space = h200_space(1, 3, SwitchBudget::per_request(1));
  Candidate c = space.static_split({16});
  c.segment[0] = {8, 0, 0};  // one switch: allowed
  CHECK_NOTHROW(space.validate(c));
  c.segment[0] = {8, 0, 8};  // two: refused, naming the budget
  CHECK_THROWS_WITH(space.validate(c), Catch::Contains("over the budget of 1"));
  for (const Candidate& x : space.neighbours(space.static_split({16}))) {
    unsigned sw = 0;
    for (size_t s = 1; s < 3; ++s) sw += (x.segment[0][s] ? x.segment[0][s] : 16) != (x.segment[0][s - 1] ? x.segment[0][s - 1] : 16);
    CHECK(sw <= 1);
  }
}

TEST_CASE("plan space: a candidate of a space cut into other segments keeps its split and uniform placements") {
  const PlanSpace model = h200_space(3, 4);  // e.g. the model's kernels: four segments per worker
  const PlanSpace tuner = h200_space(3, 2);  // the tuner's graph units: two
  Candidate c = model.static_split({4, 6, 5});
  c.segment[0] = {16, 16, 16, 16};  // worker 0 unconfined
  c.segment[1] = {8, 0, 0, 0};      // worker 1 moves one segment: no counterpart in two segments
  c.segment[2] = {2, 2, 2, 2};      // worker 2 on a smaller partition throughout
  const Candidate t = tuner.translated(c);
  CHECK(t.split == c.split);
  CHECK(t.segment == std::vector<std::vector<unsigned>>{{16, 16}, {0, 0}, {2, 2}});
  CHECK(tuner.translated(model.shared()) == tuner.shared());
  CHECK(tuner.translated(model.static_split({4, 4, 8})) == tuner.static_split({4, 4, 8}));
  Candidate at_home = model.static_split({4, 4, 8});
  at_home.segment[2] = {8, 8, 8, 8};  // the home's size spelled out: the same plan as at home
  CHECK(tuner.translated(at_home) == tuner.static_split({4, 4, 8}));
  const PlanSpace no_switches(presets::h200(), {"a", "b", "c"}, {{1, 1}, {1, 1}, {1, 1}}, SwitchBudget::per_request(0));
  CHECK_NOTHROW(no_switches.translated(c));  // uniform placements switch nowhere
  CHECK_THROWS_WITH(h200_space(2).translated(c), Catch::Contains("3 workers' segments for 2 workers"));
}

TEST_CASE("plan space: bad splits are refused naming the problem") {
  const PlanSpace space = h200_space(2);
  CHECK_THROWS_WITH(space.static_split({10, 7}), Catch::Contains("takes 17 groups but H200 has 16"));
  CHECK_THROWS_WITH(space.static_split({0, 7}), Catch::Contains("worker 0 has a home of 0 groups"));
  CHECK_THROWS_WITH(space.static_split({16}), Catch::Contains("1 homes for 2 workers"));
  CHECK_THROWS_WITH(space.static_split({15, 1}), Catch::Contains("remainder group (12 SMs)"));
  CHECK_NOTHROW(space.static_split({14, 1}));  // an atom alone (with a group left free) is fine
  const PlanSpace mi50(presets::mi50(), {"a", "b"}, {{1}, {1}});
  CHECK_NOTHROW(mi50.static_split({3, 1}));  // AMD: shader engines, no remainder
  const PlanSpace five(presets::mi50(), {"a", "b", "c", "d", "e"}, {{1}, {1}, {1}, {1}, {1}});
  CHECK_THROWS_WITH(five.equal_split(), Catch::Contains("5 workers but MI50 has only 4 groups"));
  CHECK(five.all_static_splits().empty());
  CHECK(five.neighbours(five.shared()).empty());  // only Baseline: nothing to split
}

TEST_CASE("plan space: equal-time segments cut a request into parts of about equal time") {
  CHECK(equal_time_segments({1, 1, 1, 1}, 2) == std::vector<std::uint32_t>{2, 2});
  CHECK(equal_time_segments({10, 1, 1, 1, 1}, 2) == std::vector<std::uint32_t>{1, 4});
  CHECK(equal_time_segments({1, 1}, 5) == std::vector<std::uint32_t>{1, 1});
  CHECK(equal_time_segments({0, 0, 0, 9}, 3) == std::vector<std::uint32_t>{2, 1, 1});  // the 9 alone
  const auto s = equal_time_segments(std::vector<double>(100, 1.0), 8);
  CHECK(s.size() == 8);
  CHECK(std::accumulate(s.begin(), s.end(), 0U) == 100);
}

TEST_CASE("plan: homes in JSON (version 2), refused when they overlap, are partial, or come in version 1") {
  const Topology t = presets::h200();
  const PlanSpace space = h200_space(2);
  const Plan p = space.to_plan(space.static_split({10, 6}), "static");
  const nlohmann::json j = p.to_json(t);
  CHECK(j["version"] == 2);
  CHECK(j["workers"][1]["home"]["first"] == 10);
  CHECK(j["workers"][1]["home"]["units"] == 5 * 8 + 12);
  CHECK(j["pool"][1]["first"] == 10);
  CHECK(Plan::from_json(j, t) == p);

  nlohmann::json overlap = j;
  overlap["workers"][1]["home"] = {{"first", 9}, {"groups", 6}};
  overlap.erase("pool");
  for (auto& w : overlap["workers"]) w.erase("kernels"), w.erase("switches"), w["groups"][0].erase("units"), w["home"].erase("units");
  overlap["workers"][1]["groups"][0]["config"] = 6;
  CHECK_THROWS_WITH(Plan::from_json(overlap, t), Catch::Contains("group 9 is also in worker 0's home"));

  nlohmann::json partial = overlap;
  partial["workers"][1].erase("home");
  CHECK_THROWS_WITH(Plan::from_json(partial, t), Catch::Contains("every worker needs one"));

  nlohmann::json v1 = j;
  v1["version"] = 1;
  CHECK_THROWS_WITH(Plan::from_json(v1, t), Catch::Contains("homes need plan version 2"));

  nlohmann::json lie = j;
  lie["workers"][0]["home"]["units"] = 81;
  CHECK_THROWS_WITH(Plan::from_json(lie, t), Catch::Contains("home.units"));

  // A plan without homes is still written (and read) as version 1.
  const Plan shared = space.to_plan(space.shared(), "baseline");
  CHECK(shared.to_json(t)["version"] == 1);
}

TEST_CASE("strategy: static-equal is the equal split of every group") {
  Profile prof;
  prof.device = "H200";
  prof.configs = presets::h200().size_classes;
  for (unsigned c : prof.configs) prof.units.push_back(presets::h200().units_of(c));
  for (const char* m : {"a", "b", "c"}) prof.models.push_back({m, 0, {{"k", std::vector<double>(5, 1.0)}, {"k2", std::vector<double>(5, 1.0)}}});
  const auto sp = make_strategy_plan(Strategy::static_equal, {"a", "b", "c"}, prof, presets::h200());
  REQUIRE(sp.plan.has_homes());
  CHECK(sp.plan.workers[0].home->groups == 6);
  CHECK(sp.plan.workers[2].home->first == 11);
  CHECK(sp.plan.workers[2].groups.size() == 1);
  CHECK(sp.plan.strategy == "static-equal");
  CHECK_THROWS_WITH(make_strategy_plan(Strategy::eclip, {"a"}, prof, presets::h200()), Catch::Contains("co-location model"));
}
