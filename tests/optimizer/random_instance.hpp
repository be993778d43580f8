#pragma once
// Random small planning instances for the exactness tests: random topologies (uneven groups,
// 3-4 size classes, small queue limits so the pool constraint binds), kernels with Amdahl-shaped
// and some irregular scaling so thresholds spread over the classes, random budgets (0 included),
// tolerances, switch costs, contention models and fixed groupings.
#include <random>
#include <string>
#include <vector>

#include "eclip/planner/optimizer.hpp"

namespace eclip::testing {

struct RandomInstance {
  Topology topo;
  Profile profile;
  std::vector<std::string> mix;
  SwitchBudget budget = SwitchBudget::unlimited();
  OptimizerOptions opts;
  std::string describe() const;
};

struct RandomLimits {
  unsigned min_workers = 2, max_workers = 4;
  unsigned min_kernels = 3, max_kernels = 12;
  unsigned min_classes = 3, max_classes = 4;
};

inline RandomInstance random_instance(std::mt19937_64& rng, const RandomLimits& lim = {}) {
  auto pick = [&](unsigned lo, unsigned hi) { return std::uniform_int_distribution<unsigned>(lo, hi)(rng); };
  auto real = [&](double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); };
  RandomInstance r;
  const unsigned C = pick(lim.min_classes, lim.max_classes);
  const unsigned NG = pick(C, C + 3);  // topology groups
  r.topo.name = "rand";
  r.topo.vendor = Vendor::amd;
  const bool uniform = pick(0, 1) == 0;
  const unsigned base = pick(4, 16);
  for (unsigned g = 0; g < NG; ++g) r.topo.group_sizes.push_back(uniform ? base : pick(3, 16));
  // C-1 distinct partial sizes from 1..NG-1, then the whole device.
  std::vector<unsigned> sizes;
  for (unsigned s = 1; s < NG; ++s) sizes.push_back(s);
  std::shuffle(sizes.begin(), sizes.end(), rng);
  sizes.resize(C - 1);
  std::sort(sizes.begin(), sizes.end());
  sizes.push_back(NG);
  r.topo.size_classes = sizes;
  const unsigned W = pick(lim.min_workers, lim.max_workers);
  // Small queue limits so the pool constraint binds often; sometimes none at all.
  r.topo.max_masked_streams = pick(0, 3) == 0 ? W * (C - 1) : pick(0, std::min(W * (C - 1), 4U));
  r.topo.validate();

  r.profile.device = r.topo.name;
  r.profile.configs = r.topo.size_classes;
  for (unsigned s : r.topo.size_classes) r.profile.units.push_back(r.topo.units_of(s));
  const unsigned models = pick(1, W);
  for (unsigned m = 0; m < models; ++m) {
    ModelProfile mp;
    mp.model = "m" + std::to_string(m);
    const unsigned K = pick(lim.min_kernels, lim.max_kernels);
    for (unsigned k = 0; k < K; ++k) {
      KernelProfile kp{"k" + std::to_string(k), {}};
      const double serial = real(1, 50), parallel = pick(0, 3) == 0 ? 0.0 : real(0, 3000);
      const bool irregular = pick(0, 5) == 0;
      for (unsigned c = 0; c < C; ++c) {
        const double units = r.profile.units[c];
        double t = irregular ? real(5, 100) : (serial + parallel / units) * real(0.95, 1.05);
        kp.us.push_back(t);
      }
      mp.kernels.push_back(std::move(kp));
    }
    r.profile.models.push_back(std::move(mp));
  }
  for (unsigned w = 0; w < W; ++w) r.mix.push_back("m" + std::to_string(pick(0, models - 1)));

  static const int budgets[] = {0, 0, 1, 1, 2, 3, 5, -1};
  const int b = budgets[pick(0, 7)];
  r.budget = b < 0 ? SwitchBudget::unlimited() : SwitchBudget::per_request(b);
  static const double tols[] = {0.0, 0.05, 0.10, 0.10, 0.25, 1.0};
  r.opts.threshold_tolerance = tols[pick(0, 5)];
  static const double sigmas[] = {0.0, 0.5, 2.0, 2.0, 20.0};
  r.opts.switch_cost_us = sigmas[pick(0, 4)];
  r.opts.contention = pick(0, 2) == 0 ? ContentionModel::region : ContentionModel::occupancy;
  if (pick(0, 3) == 0) {
    for (unsigned w = 0; w < W; ++w) {
      std::vector<std::uint32_t> groups;
      const auto& ks = r.profile.models[std::stoul(r.mix[w].substr(1))].kernels;
      std::uint32_t left = static_cast<std::uint32_t>(ks.size());
      while (left > 0) {
        const std::uint32_t n = std::min<std::uint32_t>(left, pick(1, 3));
        groups.push_back(n);
        left -= n;
      }
      r.opts.fixed_groups.push_back(pick(0, 3) == 0 ? std::vector<std::uint32_t>{} : groups);
    }
  }
  return r;
}

inline std::string RandomInstance::describe() const {
  std::string s = "topology groups [";
  for (unsigned g : topo.group_sizes) s += std::to_string(g) + " ";
  s += "] classes [";
  for (unsigned c : topo.size_classes) s += std::to_string(c) + " ";
  s += "] max_masked " + std::to_string(topo.max_masked_streams) + "; mix [";
  for (const auto& m : mix) s += m + " ";
  s += "] budget " + budget.to_string() + " tol " + std::to_string(opts.threshold_tolerance) + " sigma " +
       std::to_string(opts.switch_cost_us) +
       (opts.contention == ContentionModel::region ? " region" : " occupancy") +
       (opts.fixed_groups.empty() ? "" : " fixed-groups");
  return s;
}

}  // namespace eclip::testing
