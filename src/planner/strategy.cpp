#include "eclip/planner/strategy.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "eclip/planner/optimizer.hpp"
#include "eclip/planner/plan_space.hpp"

namespace eclip {

const char* to_string(Strategy s) {
  switch (s) {
    case Strategy::baseline: return "baseline";
    case Strategy::model_wise: return "model-wise";
    case Strategy::static_equal: return "static-equal";
    case Strategy::kernel_wise: return "kernel-wise";
    case Strategy::remask: return "remask";
    case Strategy::eclip_budget: return "eclip-budget";
    case Strategy::eclip: return "eclip";
  }
  return "?";
}

Strategy strategy_from_string(const std::string& s) {
  for (Strategy x : kAllStrategies)
    if (s == to_string(x)) return x;
  throw Error(Errc::invalid_argument, fmt::format("unknown strategy \"{}\" (known: {})", s, strategy_names()));
}

std::string strategy_names() {
  std::string out;
  for (Strategy x : kAllStrategies) out += (out.empty() ? "" : ", ") + std::string(to_string(x));
  return out;
}

StrategyPlan make_strategy_plan(Strategy s, const std::vector<std::string>& models, const Profile& profile,
                                const Topology& topo, SwitchBudget budget, double tol) {
  if (s == Strategy::eclip_budget) {
    OptimizerOptions o;
    o.threshold_tolerance = tol;
    Plan p = Optimizer(topo, o).optimize(profile, models, budget).plan;
    p.strategy = to_string(s);
    return StrategyPlan{s, std::move(p), {}};
  }
  if (s == Strategy::eclip)
    throw Error(Errc::invalid_argument, "strategy \"eclip\" is planned with the co-location model: use "
                                        "eclip::make_plan (eclip/model/colocation_planner.hpp)");
  if (s == Strategy::static_equal) {
    std::vector<std::vector<std::uint32_t>> one_segment;
    for (const std::string& m : models) {
      const auto n = static_cast<std::uint32_t>(profile.model(m).kernels.size());
      if (n == 0) throw Error(Errc::invalid_argument, fmt::format("model {} has no kernels", m));
      one_segment.push_back({n});
    }
    const PlanSpace space(topo, models, std::move(one_segment));
    return StrategyPlan{s, space.to_plan(space.equal_split(), to_string(s)), {}};
  }
  // Kernel-wise reads each kernel's minimum size class off the profile's columns.
  if ((s == Strategy::kernel_wise || s == Strategy::remask) && profile.configs != topo.size_classes)
    throw Error(Errc::invalid_argument, fmt::format("profile is for size classes {} but {} has {}", profile.configs,
                                                    topo.name, topo.size_classes));
  StrategyPlan sp;
  sp.strategy = s;
  sp.plan.device = topo.name;
  sp.plan.strategy = to_string(s);
  const PartitionConfig whole{topo.group_count()};
  const unsigned W = static_cast<unsigned>(models.size());
  std::vector<std::vector<PartitionConfig>> per_kernel(W);
  for (unsigned w = 0; w < W; ++w) {
    const ModelProfile& m = profile.model(models[w]);
    auto& cfg = per_kernel[w];
    switch (s) {
      case Strategy::baseline:
      case Strategy::static_equal:  // handled above
      case Strategy::eclip_budget:
      case Strategy::eclip:
        cfg.assign(m.kernels.size(), whole);
        break;
      case Strategy::model_wise: {
        // An equal share: the largest size class that fits W workers side by side.
        unsigned share = topo.size_classes.front();
        for (unsigned c : topo.size_classes)
          if (c * W <= topo.group_count()) share = c;
        cfg.assign(m.kernels.size(), PartitionConfig{share});
        break;
      }
      case Strategy::kernel_wise:
      case Strategy::remask:
        for (const KernelProfile& k : m.kernels) cfg.push_back(PartitionConfig{topo.size_classes[min_config_index(k, tol)]});
        break;
    }
  }
  if (s == Strategy::remask) {
    // One stream per worker, remasked per kernel: the router sees the whole-device stream only.
    sp.remask = per_kernel;
    for (auto& cfg : per_kernel) std::fill(cfg.begin(), cfg.end(), whole);
  }
  if (s == Strategy::kernel_wise) {
    auto masked_count = [&] {
      size_t n = 0;
      for (const auto& cfg : per_kernel) {
        std::set<PartitionConfig> used(cfg.begin(), cfg.end());
        n += used.size() - used.count(whole);
      }
      return n;
    };
    while (masked_count() > topo.max_masked_streams) {
      // Merge the partition with the least kernel time into the worker's next larger one.
      double best = std::numeric_limits<double>::infinity();
      unsigned bw = 0;
      PartitionConfig bc;
      for (unsigned w = 0; w < W; ++w) {
        const ModelProfile& m = profile.model(models[w]);
        std::map<PartitionConfig, double> time;
        for (size_t k = 0; k < m.kernels.size(); ++k) time[per_kernel[w][k]] += m.kernels[k].us.back();
        for (auto [c, t] : time)
          if (c != whole && t < best) best = t, bw = w, bc = c;
      }
      std::set<PartitionConfig> used(per_kernel[bw].begin(), per_kernel[bw].end());
      auto next = used.upper_bound(bc);
      const PartitionConfig to = next == used.end() ? whole : *next;
      std::replace(per_kernel[bw].begin(), per_kernel[bw].end(), bc, to);
    }
  }
  for (unsigned w = 0; w < W; ++w) sp.plan.workers.push_back(WorkerPlan::from_per_kernel(models[w], per_kernel[w]));
  sp.plan.validate(topo);
  return sp;
}

}  // namespace eclip
