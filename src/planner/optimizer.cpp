#include "eclip/planner/optimizer.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace eclip {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
// Back-pointers are bytes and subsets are enumerated, so the number of size classes is bounded.
// Real devices have 4-6 (MI50 4, H100 5, MI300X 6).
constexpr std::size_t kMaxClasses = 16;

Error invalid(const std::string& what) { return Error(Errc::invalid_argument, "optimizer: " + what); }

std::string worker_name(unsigned w, const std::string& model) { return fmt::format("worker {} ({})", w, model); }

/// Units of each topology group covered by worker partitions, as per-group weights: the
/// contention models work group by group because every partition is a union of whole groups.
std::vector<unsigned> partition_groups(const Topology& t, unsigned home, unsigned groups) {
  std::vector<unsigned> out;
  for (unsigned i = 0; i < groups; ++i) out.push_back((home + i) % t.group_count());
  return out;
}

unsigned partition_units(const Topology& t, unsigned home, unsigned groups) {
  unsigned n = 0;
  for (unsigned g : partition_groups(t, home, groups)) n += t.group_sizes[g];
  return n;
}

/// alpha_w(c) for every worker and size class (see ContentionModel in optimizer.hpp).
void compute_alpha(const Topology& t, ContentionModel cm, std::vector<PlanningModel::Worker>& ws) {
  const std::size_t C = t.size_classes.size();
  const unsigned G = t.group_count();
  // load[v][g]: the expected number of v's co-running units per unit of group g (0..1).
  std::vector<std::vector<double>> load(ws.size(), std::vector<double>(G, 0.0));
  for (std::size_t v = 0; v < ws.size(); ++v) {
    const PlanningModel::Worker& wv = ws[v];
    if (cm == ContentionModel::occupancy) {
      // Time on each minimum config; masks are nested (grown from one home), so group g is busy
      // whenever v runs on a config that reaches it.
      std::vector<double> time_at(C, 0.0);
      double total = 0;
      for (std::uint32_t k = 0; k < wv.kernels; ++k) {
        const double tk = wv.beta(k, wv.min_config[k]);
        time_at[wv.min_config[k]] += tk;
        total += tk;
      }
      for (std::size_t c = 0; c < C; ++c)
        for (unsigned g : partition_groups(t, wv.home_group, t.size_classes[c])) load[v][g] += time_at[c] / total;
    } else {
      double weighted = 0, total = 0;
      for (std::uint32_t k = 0; k < wv.kernels; ++k) {
        const double tk = wv.beta(k, C - 1);
        weighted += tk * partition_units(t, wv.home_group, t.size_classes[wv.min_config[k]]);
        total += tk;
      }
      const double demand = weighted / total;
      unsigned r = 1;
      // The fewest groups holding the demand (the relative slack absorbs rounding in the mean).
      while (r < G && static_cast<double>(partition_units(t, wv.home_group, r)) < demand * (1 - 1e-12)) ++r;
      const double density = demand / partition_units(t, wv.home_group, r);
      for (unsigned g : partition_groups(t, wv.home_group, r)) load[v][g] = density;
    }
  }
  for (std::size_t w = 0; w < ws.size(); ++w) {
    ws[w].alpha.assign(C, 0.0);
    for (std::size_t c = 0; c < C; ++c) {
      double busy = 0;
      for (unsigned g : partition_groups(t, ws[w].home_group, t.size_classes[c]))
        for (std::size_t v = 0; v < ws.size(); ++v)
          if (v != w) busy += load[v][g] * t.group_sizes[g];
      ws[w].alpha[c] = busy / partition_units(t, ws[w].home_group, t.size_classes[c]);
    }
  }
}

/// One worker's DP, restricted to the configs in `allowed` (a bitmask over size classes, the
/// whole device included): the least sum of group costs + sigma * switches with at most
/// `budget` switches (`unlimited`: no cap). Fills `choice` with each group's config when given.
class WorkerDp {
 public:
  WorkerDp(const std::vector<double>& group_cost, std::size_t groups, std::size_t classes, double sigma)
      : cost_(group_cost), G_(groups), C_(classes), sigma_(sigma) {}

  double run(unsigned allowed, bool unlimited, unsigned budget, std::vector<std::uint8_t>* choice) {
    std::size_t list[kMaxClasses];
    std::size_t n = 0;
    for (std::size_t c = 0; c < C_; ++c)
      if (allowed >> c & 1U) list[n++] = c;
    // Layers s = 0..S-1 of switches used; unlimited keeps one layer (switches are free to count).
    const std::size_t S = unlimited ? 1 : std::size_t{budget} + 1;
    cur_.assign(S * C_, kInf);
    if (choice) back_.assign(G_ * S * C_, 0xff);
    for (std::size_t i = 0; i < n; ++i) cur_[list[i]] = cost_[list[i]];
    for (std::size_t g = 1; g < G_; ++g) {
      const double* cg = &cost_[g * C_];
      const std::size_t top = std::min(S - 1, g);  // at most g switches after g+1 groups
      // In place, highest layer first: layer s reads layer s-1 before it is overwritten.
      for (std::size_t s = top + 1; s-- > 0;) {
        const std::size_t from = unlimited ? 0 : s - 1;  // the layer a switch comes from
        const bool can_switch = unlimited || s > 0;
        // Best and second-best predecessor configs in the source layer, for min over c' != c.
        double b1 = kInf, b2 = kInf;
        std::size_t a1 = C_, a2 = C_;
        if (can_switch)
          for (std::size_t i = 0; i < n; ++i) {
            const double v = cur_[from * C_ + list[i]];
            if (v < b1) {
              b2 = b1;
              a2 = a1;
              b1 = v;
              a1 = list[i];
            } else if (v < b2) {
              b2 = v;
              a2 = list[i];
            }
          }
        // Unlimited: all reads of layer 0 happen above, before any write below.
        double* row = &cur_[s * C_];
        for (std::size_t i = 0; i < n; ++i) {
          const std::size_t c = list[i];
          double best = row[c];
          std::size_t prev = c;
          if (can_switch) {
            const double sw = (a1 == c ? b2 : b1) + sigma_;
            if (sw < best) {
              best = sw;
              prev = (a1 == c) ? a2 : a1;
            }
          }
          row[c] = best + cg[c];
          if (choice) back_[(g * S + s) * C_ + c] = static_cast<std::uint8_t>(prev);
        }
      }
    }
    double best = kInf;
    std::size_t bs = 0, bc = 0;
    for (std::size_t s = 0; s < S; ++s)
      for (std::size_t i = 0; i < n; ++i)
        if (cur_[s * C_ + list[i]] < best) {
          best = cur_[s * C_ + list[i]];
          bs = s;
          bc = list[i];
        }
    if (choice) {
      choice->assign(G_, 0);
      std::size_t s = bs, c = bc;
      for (std::size_t g = G_; g-- > 0;) {
        (*choice)[g] = static_cast<std::uint8_t>(c);
        if (g == 0) break;
        const std::size_t prev = back_[(g * S + s) * C_ + c];
        if (prev != c && !unlimited) --s;
        c = prev;
      }
    }
    return best;
  }

 private:
  const std::vector<double>& cost_;
  std::size_t G_, C_;
  double sigma_;
  std::vector<double> cur_;
  std::vector<std::uint8_t> back_;
};

}  // namespace

Optimizer::Optimizer(Topology topology, OptimizerOptions options) : topo_(std::move(topology)), opts_(std::move(options)) {
  topo_.validate();
  if (topo_.size_classes.size() > kMaxClasses)
    throw invalid(fmt::format("topology {} has {} size classes; the optimizer supports at most {}", topo_.name,
                              topo_.size_classes.size(), kMaxClasses));
  const double tol = opts_.threshold_tolerance;
  if (!(tol >= 0) || !std::isfinite(tol))
    throw invalid(fmt::format("threshold_tolerance {} is infeasible: a kernel's minimum config must be within "
                              "(1 + tolerance) of its whole-device time, and no config can be for a tolerance < 0 "
                              "(expected a finite value >= 0)",
                              tol));
  if (!(opts_.switch_cost_us >= 0) || !std::isfinite(opts_.switch_cost_us))
    throw invalid(fmt::format("switch_cost_us {} must be finite and >= 0", opts_.switch_cost_us));
}

PlanningModel Optimizer::model(const Profile& profile, const std::vector<std::string>& mix) const {
  const std::size_t C = topo_.size_classes.size();
  if (mix.empty()) throw invalid("the mix has no workers");
  if (profile.configs != topo_.size_classes)
    throw invalid(fmt::format("profile (device {}) field \"configs\" is [{}] but {}'s size classes are [{}]",
                              profile.device, fmt::join(profile.configs, ", "), topo_.name,
                              fmt::join(topo_.size_classes, ", ")));
  if (!opts_.fixed_groups.empty() && opts_.fixed_groups.size() != mix.size())
    throw invalid(fmt::format("fixed_groups has {} entries but the mix has {} workers (one entry per worker, "
                              "or none)",
                              opts_.fixed_groups.size(), mix.size()));
  PlanningModel m;
  m.device = topo_.name;
  m.size_classes = topo_.size_classes;
  m.max_masked_streams = topo_.max_masked_streams;
  m.switch_cost_us = opts_.switch_cost_us;
  const unsigned W = static_cast<unsigned>(mix.size());
  for (unsigned w = 0; w < W; ++w) {
    const std::string who = worker_name(w, mix[w]);
    auto it = std::find_if(profile.models.begin(), profile.models.end(),
                           [&](const ModelProfile& mp) { return mp.model == mix[w]; });
    if (it == profile.models.end()) {
      std::vector<std::string> known;
      for (const ModelProfile& mp : profile.models) known.push_back(mp.model);
      throw invalid(fmt::format("{}: model \"{}\" is not in the profile for {} (has: {})", who, mix[w],
                                profile.device, fmt::join(known, ", ")));
    }
    const ModelProfile& mp = *it;
    if (mp.kernels.empty()) throw invalid(fmt::format("{}: the model has no kernels", who));
    if (mp.kernels.size() > std::numeric_limits<std::uint32_t>::max() / (C + 1))
      throw invalid(fmt::format("{}: {} kernels is too many", who, mp.kernels.size()));
    PlanningModel::Worker wk;
    wk.model = mix[w];
    wk.home_group = topo_.home_group(w, W);
    wk.kernels = static_cast<std::uint32_t>(mp.kernels.size());
    wk.beta_us.reserve(mp.kernels.size() * C);
    wk.min_config.reserve(mp.kernels.size());
    for (std::uint32_t k = 0; k < wk.kernels; ++k) {
      const KernelProfile& kp = mp.kernels[k];
      const std::string kw = fmt::format("{} kernel {} ({})", who, k, kp.name);
      if (kp.us.size() != C)
        throw invalid(fmt::format("{}: field \"us\" has {} times but {} has {} size classes [{}]{}", kw, kp.us.size(),
                                  topo_.name, C, fmt::join(topo_.size_classes, ", "),
                                  kp.us.size() < C ? fmt::format(" (missing the time at config {} groups)",
                                                                 topo_.size_classes[kp.us.size()])
                                                   : std::string()));
      for (std::size_t c = 0; c < C; ++c)
        if (!std::isfinite(kp.us[c]) || kp.us[c] <= 0)
          throw invalid(fmt::format("{}: us[{}] (config {} groups) is {}; times must be finite and > 0", kw, c,
                                    topo_.size_classes[c], kp.us[c]));
      wk.beta_us.insert(wk.beta_us.end(), kp.us.begin(), kp.us.end());
      // min_config_index falls back to the whole device when no class qualifies; that only
      // happens for a tolerance < 0, which the constructor refuses, and is refused again here so
      // a plan can never put a kernel below its threshold.
      if (!(kp.us[C - 1] <= (1.0 + opts_.threshold_tolerance) * kp.us[C - 1]))
        throw invalid(fmt::format("{}: infeasible threshold: no size class is within (1 + {}) of its whole-device "
                                  "time {} us",
                                  kw, opts_.threshold_tolerance, kp.us[C - 1]));
      wk.min_config.push_back(static_cast<std::uint32_t>(min_config_index(kp, opts_.threshold_tolerance)));
      wk.alone_us += kp.us[C - 1];
    }
    const std::vector<std::uint32_t>* fixed =
        opts_.fixed_groups.empty() || opts_.fixed_groups[w].empty() ? nullptr : &opts_.fixed_groups[w];
    if (fixed) {
      std::uint64_t covered = 0;
      for (std::size_t i = 0; i < fixed->size(); ++i) {
        if ((*fixed)[i] == 0) throw invalid(fmt::format("{}: fixed_groups[{}][{}] is empty (count 0)", who, w, i));
        covered += (*fixed)[i];
      }
      if (covered != wk.kernels)
        throw invalid(fmt::format("{}: fixed_groups[{}] covers {} kernels but the model has {}", who, w, covered,
                                  wk.kernels));
      wk.group_sizes = *fixed;
      wk.fixed_groups = true;
    } else {
      wk.group_sizes.assign(wk.kernels, 1);
    }
    m.workers.push_back(std::move(wk));
  }
  compute_alpha(topo_, opts_.contention, m.workers);
  return m;
}

OptimizerResult Optimizer::solve(const PlanningModel& m, SwitchBudget budget) const {
  const std::size_t C = m.size_classes.size();
  if (m.workers.empty()) throw invalid("the planning model has no workers");
  if (m.device != topo_.name || m.size_classes != topo_.size_classes || m.max_masked_streams > topo_.max_masked_streams)
    throw invalid(fmt::format("the planning model is for {} (size classes [{}], {} masked streams) but this optimizer "
                              "plans for {} (size classes [{}], {} masked streams)",
                              m.device, fmt::join(m.size_classes, ", "), m.max_masked_streams, topo_.name,
                              fmt::join(topo_.size_classes, ", "), topo_.max_masked_streams));
  const std::size_t W = m.workers.size();
  const unsigned whole_bit = 1U << (C - 1);
  const unsigned subsets = 1U << (C - 1);
  // Q: masked streams that can matter. Per worker at most C-1; if all workers can have all, the
  // pool constraint cannot bind and each worker needs only its full set.
  const unsigned Q = static_cast<unsigned>(std::min<std::size_t>(m.max_masked_streams, W * (C - 1)));
  const bool pool_binds = Q < W * (C - 1);

  // best[w][q]: the least T_w / T_w^alone using at most q masked streams, and the set achieving it.
  std::vector<std::vector<double>> best(W, std::vector<double>(Q + 1, kInf));
  std::vector<std::vector<unsigned>> best_set(W, std::vector<unsigned>(Q + 1, 0));
  std::vector<std::vector<double>> group_cost(W);
  for (std::size_t w = 0; w < W; ++w) {
    const PlanningModel::Worker& wk = m.workers[w];
    if (wk.alpha.size() != C || wk.beta_us.size() != std::size_t{wk.kernels} * C || wk.min_config.size() != wk.kernels)
      throw invalid(fmt::format("worker {} ({}): the planning model is inconsistent", w, wk.model));
    // Cost of each decision group on each config (infinite below the group's threshold).
    const std::size_t G = wk.group_sizes.size();
    std::vector<double>& cost = group_cost[w];
    cost.assign(G * C, 0.0);
    unsigned usable = 0;  // configs some group may use
    std::uint32_t k = 0;
    for (std::size_t g = 0; g < G; ++g) {
      std::uint32_t need = 0;
      for (std::uint32_t i = 0; i < wk.group_sizes[g]; ++i, ++k) {
        need = std::max(need, wk.min_config[k]);
        for (std::size_t c = 0; c < C; ++c) cost[g * C + c] += wk.estimated_us(k, c);
      }
      for (std::size_t c = 0; c < need; ++c) cost[g * C + c] = kInf;
      usable |= ~((1U << need) - 1U);
    }
    if (k != wk.kernels)
      throw invalid(fmt::format("worker {} ({}): groups cover {} kernels but there are {}", w, wk.model, k, wk.kernels));
    usable &= subsets - 1U;
    const bool unlimited = budget.is_unlimited() || budget.limit() + std::size_t{1} >= G;
    WorkerDp dp(cost, G, C, m.switch_cost_us);
    for (unsigned s = 0; s < subsets; ++s) {
      const unsigned size = static_cast<unsigned>(std::popcount(s));
      // Sets with a config no group can use are dominated by the set without it; beyond the
      // pool's reach or (when the pool cannot bind) short of the full set, sets are not needed.
      if ((s & ~usable) != 0 || size > Q) continue;
      if (!pool_binds && s != usable) continue;
      const double v = dp.run(s | whole_bit, unlimited, unlimited ? 0 : budget.limit(), nullptr) / wk.alone_us;
      if (v < best[w][size]) {
        best[w][size] = v;
        best_set[w][size] = s;
      }
    }
    for (unsigned q = 1; q <= Q; ++q)
      if (!(best[w][q] < best[w][q - 1])) {
        best[w][q] = best[w][q - 1];
        best_set[w][q] = best_set[w][q - 1];
      }
  }

  // Knapsack over workers: acc[w+1][q] = the least sum of the first w+1 workers' terms within q streams.
  std::vector<std::vector<double>> acc(W + 1, std::vector<double>(Q + 1, kInf));
  std::vector<std::vector<unsigned>> take(W, std::vector<unsigned>(Q + 1, 0));
  std::fill(acc[0].begin(), acc[0].end(), 0.0);
  for (std::size_t w = 0; w < W; ++w)
    for (unsigned q = 0; q <= Q; ++q)
      for (unsigned qw = 0; qw <= q; ++qw) {
        const double v = acc[w][q - qw] + best[w][qw];
        if (v < acc[w + 1][q]) {
          acc[w + 1][q] = v;
          take[w][q] = qw;
        }
      }

  Plan plan;
  plan.device = topo_.name;
  plan.strategy = "eclip-budget";
  plan.budget = budget;
  unsigned q = Q;
  std::vector<unsigned> chosen(W);
  for (std::size_t w = W; w-- > 0;) {
    chosen[w] = best_set[w][take[w][q]];
    q -= take[w][q];
  }
  for (std::size_t w = 0; w < W; ++w) {
    const PlanningModel::Worker& wk = m.workers[w];
    const std::size_t G = wk.group_sizes.size();
    const bool unlimited = budget.is_unlimited() || budget.limit() + std::size_t{1} >= G;
    WorkerDp dp(group_cost[w], G, C, m.switch_cost_us);
    std::vector<std::uint8_t> choice;
    dp.run(chosen[w] | whole_bit, unlimited, unlimited ? 0 : budget.limit(), &choice);
    WorkerPlan wp{wk.model, {}};
    std::uint32_t first = 0;
    for (std::size_t g = 0; g < G; ++g) {
      const PartitionConfig cfg{m.size_classes[choice[g]]};
      if (!wk.fixed_groups && !wp.groups.empty() && wp.groups.back().config == cfg)
        wp.groups.back().count += wk.group_sizes[g];
      else
        wp.groups.push_back(KernelGroup{first, wk.group_sizes[g], cfg});
      first += wk.group_sizes[g];
    }
    plan.workers.push_back(std::move(wp));
  }
  OptimizerResult r = evaluate(m, plan);
  r.plan.validate(topo_);  // budget, pool and coverage: a self-check that costs one pass
  return r;
}

OptimizerResult Optimizer::evaluate(const PlanningModel& m, const Plan& plan) const {
  const std::size_t C = m.size_classes.size();
  if (plan.workers.size() != m.workers.size())
    throw invalid(fmt::format("the plan has {} workers but the model has {}", plan.workers.size(), m.workers.size()));
  OptimizerResult r;
  r.plan = plan;
  for (std::size_t w = 0; w < m.workers.size(); ++w) {
    const PlanningModel::Worker& wk = m.workers[w];
    const WorkerPlan& wp = plan.workers[w];
    if (wp.kernel_count() != wk.kernels)
      throw invalid(fmt::format("worker {} ({}): the plan covers {} kernels but the model has {}", w, wk.model,
                                wp.kernel_count(), wk.kernels));
    WorkerEstimate e;
    e.model = wk.model;
    e.alone_us = wk.alone_us;
    unsigned used = 0;
    std::uint32_t next = 0;
    for (std::size_t i = 0; i < wp.groups.size(); ++i) {
      const KernelGroup& g = wp.groups[i];
      if (g.first != next)
        throw invalid(fmt::format("worker {} ({}): plan group {} starts at kernel {}, expected {}", w, wk.model, i, g.first,
                                  next));
      auto ci = std::find(m.size_classes.begin(), m.size_classes.end(), g.config.groups);
      if (ci == m.size_classes.end())
        throw invalid(fmt::format("worker {} ({}): plan group {} has config {} groups, not a size class of {}", w,
                                  wk.model, i, g.config.groups, m.device));
      const std::size_t c = static_cast<std::size_t>(ci - m.size_classes.begin());
      if (c + 1 < C) used |= 1U << c;
      for (std::uint32_t k = g.first; k < g.first + g.count; ++k) {
        e.time_us += wk.estimated_us(k, c);
        e.below_threshold += c < wk.min_config[k];
      }
      next = g.first + g.count;
    }
    e.switches = wp.switches();
    e.time_us += m.switch_cost_us * e.switches;
    e.slowdown = e.time_us / e.alone_us;
    e.masked_streams = static_cast<unsigned>(std::popcount(used));
    r.objective += e.slowdown;
    r.masked_streams += e.masked_streams;
    r.workers.push_back(std::move(e));
  }
  return r;
}

}  // namespace eclip
