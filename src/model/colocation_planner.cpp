#include "eclip/model/colocation_planner.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace eclip {

Evaluation predict(const SimDeviceModel& device, const Profile& profile, const std::vector<std::string>& models,
                   const Plan& plan, const RunOptions& run) {
  StrategyPlan sp;
  sp.strategy = Strategy::eclip;
  sp.plan = plan;
  const RunResult r = simulate(device, profile, models, "predict", sp, run);
  Evaluation e;
  for (const WorkerResult& w : r.workers) {
    e.throughput_rps.push_back(w.throughput_rps);
    e.p95_ms.push_back(w.p95_ms);
  }
  e.power_w = r.avg_power_w;
  e.window_s = r.window_s;
  return e;
}

PlanSpace plan_space(const Topology& topo, const Profile& profile, const std::vector<std::string>& models,
                     unsigned segments, SwitchBudget budget) {
  if (segments == 0) throw Error(Errc::invalid_argument, "co-location planner: segments must be > 0");
  std::vector<std::vector<std::uint32_t>> segs;
  for (const std::string& m : models) {
    const ModelProfile& mp = profile.model(m);
    if (mp.kernels.empty()) throw Error(Errc::invalid_argument, fmt::format("model {} has no kernels", m));
    std::vector<double> whole;
    for (const KernelProfile& k : mp.kernels) whole.push_back(k.us.back());
    segs.push_back(equal_time_segments(whole, segments));
  }
  return PlanSpace(topo, models, std::move(segs), budget);
}

namespace {

/// Splits in proportion to weights (each >= 1 group, all N groups), largest remainders first.
std::vector<unsigned> proportional_split(const std::vector<double>& weights, unsigned groups) {
  const unsigned W = static_cast<unsigned>(weights.size());
  const double total = std::accumulate(weights.begin(), weights.end(), 0.0);
  std::vector<unsigned> split(W, 1);
  unsigned left = groups - W;
  std::vector<double> want(W);
  for (unsigned w = 0; w < W; ++w) want[w] = total > 0 ? weights[w] / total * left : double(left) / W;
  for (unsigned w = 0; w < W; ++w) {
    const auto f = static_cast<unsigned>(std::floor(want[w]));
    split[w] += f;
    want[w] -= f;
  }
  unsigned used = std::accumulate(split.begin(), split.end(), 0U);
  while (used < groups) {
    const auto w = static_cast<unsigned>(std::max_element(want.begin(), want.end()) - want.begin());
    ++split[w];
    want[w] = -1;
    ++used;
  }
  return split;
}

}  // namespace

ColocationPlan plan_colocation(const SimDeviceModel& device, const Profile& profile,
                               const std::vector<std::string>& models, const ColocationPlanOptions& o) {
  const Topology& topo = device.topology;
  if (profile.device != topo.name)
    throw Error(Errc::invalid_argument, fmt::format("co-location planner: the profile is for {} but the device model is {}",
                                                    profile.device, topo.name));
  const PlanSpace space = plan_space(topo, profile, models, o.segments, o.budget);
  ColocationPlan out;
  out.alone_rps = alone_throughputs(device, profile, models, o.run);
  out.objective.kind = o.objective;
  out.objective.alone_rps = out.alone_rps;
  out.objective.p95_limit_ms = o.p95_limit_ms;
  auto evaluate = [&](const Candidate& c) {
    return predict(device, profile, models, space.to_plan(c, c.shared() ? "baseline" : "eclip"), o.run);
  };
  if (o.jain_floor < 0) {
    out.objective.jain_floor = jain(evaluate(space.shared()).normalized(out.alone_rps));
  } else {
    out.objective.jain_floor = o.jain_floor;
  }
  std::vector<Candidate> starts{space.shared()};
  if (space.splittable()) starts.push_back(space.equal_split());
  if (space.workers() > 1 && space.workers() < topo.group_count()) {
    std::vector<double> solo;  // each model's request time alone on the whole device
    for (const std::string& m : models) {
      double t = 0;
      for (const KernelProfile& k : profile.model(m).kernels) t += k.us.back();
      solo.push_back(t);
    }
    std::vector<double> root(solo.size());
    std::transform(solo.begin(), solo.end(), root.begin(), [](double t) { return std::sqrt(t); });
    for (const auto& weights : {solo, root}) {
      try {
        Candidate c = space.static_split(proportional_split(weights, topo.group_count()));
        if (std::find(starts.begin(), starts.end(), c) == starts.end()) starts.push_back(std::move(c));
      } catch (const Error&) {  // a split the space refuses (e.g. a home of the remainder alone)
      }
    }
  }
  out.search = search(space, out.objective, starts, evaluate, {}, o.search);
  out.plan = space.to_plan(out.search.best, out.search.best.shared() ? "baseline" : "eclip");
  out.plan.strategy = "eclip";
  return out;
}

void add_model_starts(const SimDeviceModel& device, const Profile& profile, const PlanSpace& space,
                      ColocationPlanOptions options, const std::vector<ObjectiveKind>& kinds,
                      std::vector<Candidate>& starts) {
  for (const ObjectiveKind kind : kinds) {
    options.objective = kind;
    const ColocationPlan model = plan_colocation(device, profile, space.models(), options);
    // The model's best plan as this space spells it (its split, and a worker whose segments share
    // one partition kept there, e.g. unconfined). Its split alone lost what the model found: on the
    // H200 at batch 8, mix2's model best 4/3+/4/4+ (alexnet on the whole device) became the equal
    // split, a start already. One plan per objective, not its best few: with three (H200, 16:33
    // UTC, docs/results/h200-colocation-2026-11-30) the extra windows came out of the 40-s budget
    // and no mix gained.
    std::vector<const Trial*> ranked;
    for (const Trial& tr : model.search.trials)
      if (tr.value > -std::numeric_limits<double>::infinity() && !tr.candidate.shared()) ranked.push_back(&tr);
    std::stable_sort(ranked.begin(), ranked.end(), [](const Trial* a, const Trial* b) {
      return a->score != b->score ? a->score > b->score : a->value > b->value;  // constraints kept first
    });
    for (const Trial* tr : ranked) {
      std::optional<Candidate> c;
      try {
        c = space.translated(tr->candidate);
      } catch (const Error&) {  // not valid in this space (its switch budget): the next one
        continue;
      }
      if (std::find(starts.begin(), starts.end(), *c) != starts.end()) continue;  // its next best
      starts.push_back(std::move(*c));
      break;
    }
  }
}

StrategyPlan make_plan(Strategy s, const SimDeviceModel& device, const std::vector<std::string>& models,
                       const Profile& profile, SwitchBudget budget, double tol, ColocationPlanOptions options) {
  const Topology& topo = device.topology;
  if (s == Strategy::eclip) {
    options.budget = budget;
    return StrategyPlan{s, plan_colocation(device, profile, models, options).plan, {}};
  }
  if (profile.configs == topo.size_classes) return make_strategy_plan(s, models, profile, topo, budget, tol);
  return make_strategy_plan(s, models, profile.restricted_to(topo.size_classes), topo, budget, tol);
}

}  // namespace eclip
