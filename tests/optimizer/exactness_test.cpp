// The optimizer returns an optimum of the stated model: checked against a GLPK MILP of the same
// model on random small instances, and against exhaustive enumeration on tiny ones. The oracle
// recomputes thresholds and contention on its own (milp_oracle.cpp), and the optimizer's plan
// is re-scored by the oracle, so a wrong cost table, a wrong DP or a wrong reconstruction fails.
#include <catch2/catch.hpp>

#include <cmath>

#include "milp_oracle.hpp"
#include "random_instance.hpp"

namespace {

using eclip::Optimizer;
using eclip::OptimizerResult;
namespace oracle = eclip::oracle;

bool close(double a, double b, double rel = 1e-6) { return std::abs(a - b) <= rel * std::max(1.0, std::abs(b)); }

/// Everything a plan from the optimizer must satisfy, checked with the oracle's own numbers.
void check_plan(const eclip::testing::RandomInstance& ri, const oracle::Instance& in, const OptimizerResult& r) {
  REQUIRE(r.plan.strategy == "eclip-budget");
  REQUIRE(r.plan.budget == ri.budget);
  REQUIRE_NOTHROW(r.plan.validate(ri.topo));
  const oracle::Assignment a = oracle::from_plan(in, r.plan, ri.topo.size_classes);
  INFO("violation: " << oracle::violation(in, a, ri.budget));
  REQUIRE(oracle::violation(in, a, ri.budget).empty());
  // The optimizer's own figure equals the oracle's score of its plan.
  REQUIRE(close(r.objective, oracle::objective(in, a), 1e-9));
  // Every kernel at or above its own threshold, budget and pool, from the plan itself.
  unsigned masked = 0;
  for (std::size_t w = 0; w < r.plan.workers.size(); ++w) {
    const auto per_kernel = r.plan.workers[w].per_kernel();
    for (std::size_t k = 0; k < per_kernel.size(); ++k) {
      const auto c = std::find(ri.topo.size_classes.begin(), ri.topo.size_classes.end(), per_kernel[k].groups) -
                     ri.topo.size_classes.begin();
      REQUIRE(static_cast<std::size_t>(c) >= in.workers[w].kernel_min[k]);
    }
    REQUIRE(ri.budget.allows(r.plan.workers[w].switches()));
    REQUIRE(r.workers[w].below_threshold == 0);
    masked += r.workers[w].masked_streams;
  }
  REQUIRE(masked <= ri.topo.max_masked_streams);
  REQUIRE(r.plan.pool_specs(ri.topo).size() == masked);
}

}  // namespace

TEST_CASE("optimizer matches the GLPK MILP on 300 random small instances", "[optimizer][milp]") {
  std::mt19937_64 rng(20250612);
  int binding_pool = 0, zero_budget = 0, fixed = 0;
  for (int i = 0; i < 300; ++i) {
    const auto ri = eclip::testing::random_instance(rng);
    INFO("instance " << i << ": " << ri.describe());
    const Optimizer opt(ri.topo, ri.opts);
    const OptimizerResult r = opt.optimize(ri.profile, ri.mix, ri.budget);
    const oracle::Instance in = oracle::build(ri.profile, ri.mix, ri.topo, ri.opts);
    const oracle::MilpResult milp = oracle::solve_milp(in, ri.budget);
    REQUIRE(milp.optimal);
    REQUIRE(oracle::violation(in, milp.assignment, ri.budget).empty());
    INFO("optimizer " << r.objective << " milp " << milp.objective);
    REQUIRE(close(r.objective, milp.objective));
    check_plan(ri, in, r);
    // Would the unconstrained optimum use more masked streams than the device allows?
    eclip::Topology roomy = ri.topo;
    roomy.max_masked_streams = 64;
    binding_pool += Optimizer(roomy, ri.opts).optimize(ri.profile, ri.mix, ri.budget).masked_streams >
                    ri.topo.max_masked_streams;
    zero_budget += !ri.budget.is_unlimited() && ri.budget.limit() == 0;
    fixed += !ri.opts.fixed_groups.empty();
  }
  // The generator must exercise each constraint, or the comparison proves little.
  CHECK(binding_pool >= 30);
  CHECK(zero_budget >= 30);
  CHECK(fixed >= 30);
}

TEST_CASE("optimizer equals exhaustive enumeration on tiny instances", "[optimizer][brute]") {
  std::mt19937_64 rng(7);
  eclip::testing::RandomLimits lim;
  lim.max_workers = 3;
  lim.max_kernels = 5;
  lim.max_classes = 3;
  for (int i = 0; i < 150; ++i) {
    auto ri = eclip::testing::random_instance(rng, lim);
    if (ri.mix.size() == 3)  // keep the product of per-worker assignment counts small
      for (auto& m : ri.profile.models)
        if (m.kernels.size() > 4) m.kernels.resize(4);
    if (!ri.opts.fixed_groups.empty()) ri.opts.fixed_groups.clear();
    INFO("instance " << i << ": " << ri.describe());
    const OptimizerResult r = Optimizer(ri.topo, ri.opts).optimize(ri.profile, ri.mix, ri.budget);
    const oracle::Instance in = oracle::build(ri.profile, ri.mix, ri.topo, ri.opts);
    oracle::Assignment best;
    const double brute = oracle::brute_force(in, ri.budget, &best);
    INFO("optimizer " << r.objective << " brute force " << brute);
    REQUIRE(close(r.objective, brute, 1e-9));
    check_plan(ri, in, r);
  }
}

TEST_CASE("the MILP oracle itself agrees with exhaustive enumeration", "[optimizer][milp][brute]") {
  // Guards the guard: a mis-modelled MILP that happened to agree with a wrong DP would be caught here.
  std::mt19937_64 rng(99);
  eclip::testing::RandomLimits lim;
  lim.max_workers = 2;
  lim.max_kernels = 5;
  for (int i = 0; i < 60; ++i) {
    const auto ri = eclip::testing::random_instance(rng, lim);
    INFO("instance " << i << ": " << ri.describe());
    const oracle::Instance in = oracle::build(ri.profile, ri.mix, ri.topo, ri.opts);
    const oracle::MilpResult milp = oracle::solve_milp(in, ri.budget);
    REQUIRE(milp.optimal);
    REQUIRE(close(milp.objective, oracle::brute_force(in, ri.budget)));
  }
}

TEST_CASE("optimizer matches the GLPK MILP on medium instances (up to 6 size classes, 30 kernels)",
          "[optimizer][milp]") {
  std::mt19937_64 rng(31337);
  eclip::testing::RandomLimits lim;
  lim.min_workers = 3;
  lim.max_workers = 4;
  lim.min_kernels = 10;
  lim.max_kernels = 30;
  lim.min_classes = 4;
  lim.max_classes = 6;
  for (int i = 0; i < 60; ++i) {
    const auto ri = eclip::testing::random_instance(rng, lim);
    INFO("instance " << i << ": " << ri.describe());
    const OptimizerResult r = Optimizer(ri.topo, ri.opts).optimize(ri.profile, ri.mix, ri.budget);
    const oracle::Instance in = oracle::build(ri.profile, ri.mix, ri.topo, ri.opts);
    const oracle::MilpResult milp = oracle::solve_milp(in, ri.budget, 60.0);
    REQUIRE(milp.optimal);
    INFO("optimizer " << r.objective << " milp " << milp.objective);
    REQUIRE(close(r.objective, milp.objective));
    check_plan(ri, in, r);
  }
}
