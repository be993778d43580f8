#include "milp_oracle.hpp"

#include <glpk.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>

namespace eclip::oracle {

Instance build(const Profile& profile, const std::vector<std::string>& mix, const Topology& topo,
               const OptimizerOptions& opts) {
  Instance in;
  in.classes = topo.size_classes.size();
  in.max_masked = topo.max_masked_streams;
  in.sigma = opts.switch_cost_us;
  const std::size_t C = in.classes;
  const unsigned W = static_cast<unsigned>(mix.size());
  std::vector<const ModelProfile*> models;
  for (const std::string& name : mix) {
    const ModelProfile* found = nullptr;
    for (const ModelProfile& m : profile.models)
      if (m.model == name) found = &m;
    if (!found) throw std::runtime_error("oracle: no model " + name);
    models.push_back(found);
  }
  // Every worker's partition masks, unit by unit.
  std::vector<std::vector<CuMask>> masks(W);
  for (unsigned w = 0; w < W; ++w)
    for (std::size_t c = 0; c < C; ++c) masks[w].push_back(topo.grow_from(topo.home_group(w, W), topo.size_classes[c]));

  for (unsigned w = 0; w < W; ++w) {
    Instance::Worker wk;
    wk.model = mix[w];
    for (const KernelProfile& k : models[w]->kernels) {
      std::size_t mc = 0;
      while (!(k.us[mc] <= (1.0 + opts.threshold_tolerance) * k.us[C - 1])) ++mc;
      wk.kernel_min.push_back(mc);
      wk.alone_us += k.us[C - 1];
    }
    in.workers.push_back(std::move(wk));
  }
  // occupancy[v][u]: expected load of worker v on unit u.
  const unsigned U = topo.units();
  std::vector<std::vector<double>> occ(W, std::vector<double>(U, 0.0));
  for (unsigned v = 0; v < W; ++v) {
    const auto& ks = models[v]->kernels;
    if (opts.contention == ContentionModel::occupancy) {
      double total = 0;
      for (std::size_t k = 0; k < ks.size(); ++k) total += ks[k].us[in.workers[v].kernel_min[k]];
      for (std::size_t k = 0; k < ks.size(); ++k) {
        const std::size_t mc = in.workers[v].kernel_min[k];
        for (unsigned u = 0; u < U; ++u)
          if (masks[v][mc].test(u)) occ[v][u] += ks[k].us[mc] / total;
      }
    } else {
      double num = 0, den = 0;
      for (std::size_t k = 0; k < ks.size(); ++k) {
        num += ks[k].us[C - 1] * masks[v][in.workers[v].kernel_min[k]].count();
        den += ks[k].us[C - 1];
      }
      const double d = num / den;
      CuMask region;
      for (unsigned r = 1; r <= topo.group_count(); ++r) {
        region = topo.grow_from(topo.home_group(v, W), r);
        if (region.count() >= d - 1e-9 * d) break;
      }
      for (unsigned u = 0; u < U; ++u)
        if (region.test(u)) occ[v][u] = d / region.count();
    }
  }
  for (unsigned w = 0; w < W; ++w) {
    Instance::Worker& wk = in.workers[w];
    for (std::size_t c = 0; c < C; ++c) {
      double sum = 0;
      for (unsigned u = 0; u < U; ++u)
        if (masks[w][c].test(u))
          for (unsigned v = 0; v < W; ++v)
            if (v != w) sum += occ[v][u];
      wk.alpha.push_back(sum / masks[w][c].count());
    }
    const auto& ks = models[w]->kernels;
    if (!opts.fixed_groups.empty() && !opts.fixed_groups[w].empty())
      wk.group_sizes = opts.fixed_groups[w];
    else
      wk.group_sizes.assign(ks.size(), 1);
    std::size_t k = 0;
    for (std::uint32_t size : wk.group_sizes) {
      std::vector<double> cost(C, 0.0);
      std::size_t need = 0;
      for (std::uint32_t i = 0; i < size; ++i, ++k) {
        for (std::size_t c = 0; c < C; ++c) cost[c] += ks[k].us[c] * (1.0 + wk.alpha[c]);
        need = std::max(need, wk.kernel_min[k]);
      }
      wk.cost_us.push_back(cost);
      wk.group_min.push_back(need);
    }
  }
  return in;
}

namespace {
unsigned switches(const std::vector<std::size_t>& cfg) {
  unsigned n = 0;
  for (std::size_t g = 1; g < cfg.size(); ++g) n += cfg[g] != cfg[g - 1];
  return n;
}
unsigned masked(const std::vector<std::size_t>& cfg, std::size_t classes) {
  std::vector<bool> used(classes, false);
  for (std::size_t c : cfg) used[c] = true;
  return static_cast<unsigned>(std::count(used.begin(), used.end() - 1, true));
}
double worker_term(const Instance& in, std::size_t w, const std::vector<std::size_t>& cfg) {
  const Instance::Worker& wk = in.workers[w];
  double t = 0;
  for (std::size_t g = 0; g < cfg.size(); ++g) t += wk.cost_us[g][cfg[g]];
  t += in.sigma * switches(cfg);
  return t / wk.alone_us;
}
}  // namespace

double objective(const Instance& in, const Assignment& a) {
  double sum = 0;
  for (std::size_t w = 0; w < in.workers.size(); ++w) sum += worker_term(in, w, a[w]);
  return sum;
}

std::string violation(const Instance& in, const Assignment& a, SwitchBudget budget) {
  unsigned streams = 0;
  for (std::size_t w = 0; w < in.workers.size(); ++w) {
    const Instance::Worker& wk = in.workers[w];
    if (a[w].size() != wk.group_sizes.size()) return fmt::format("worker {}: {} groups assigned", w, a[w].size());
    for (std::size_t g = 0; g < a[w].size(); ++g)
      if (a[w][g] < wk.group_min[g])
        return fmt::format("worker {} group {}: class {} below its threshold {}", w, g, a[w][g], wk.group_min[g]);
    if (!budget.allows(switches(a[w]))) return fmt::format("worker {}: {} switches over budget", w, switches(a[w]));
    streams += masked(a[w], in.classes);
  }
  if (streams > in.max_masked) return fmt::format("{} masked streams > {}", streams, in.max_masked);
  return {};
}

Assignment from_plan(const Instance& in, const Plan& plan, const std::vector<unsigned>& size_classes) {
  Assignment a;
  for (std::size_t w = 0; w < in.workers.size(); ++w) {
    const std::vector<PartitionConfig> per_kernel = plan.workers.at(w).per_kernel();
    std::vector<std::size_t> cfg;
    std::size_t k = 0;
    for (std::uint32_t size : in.workers[w].group_sizes) {
      const auto it = std::find(size_classes.begin(), size_classes.end(), per_kernel.at(k).groups);
      if (it == size_classes.end()) throw std::runtime_error("plan config is not a size class");
      for (std::uint32_t i = 1; i < size; ++i)
        if (per_kernel.at(k + i) != per_kernel[k]) throw std::runtime_error("plan splits a fixed group");
      cfg.push_back(static_cast<std::size_t>(it - size_classes.begin()));
      k += size;
    }
    a.push_back(std::move(cfg));
  }
  return a;
}

MilpResult solve_milp(const Instance& in, SwitchBudget budget, double time_limit_s) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::size_t C = in.classes;
  glp_term_out(GLP_OFF);
  glp_prob* lp = glp_create_prob();
  glp_set_obj_dir(lp, GLP_MIN);
  std::vector<int> ia{0}, ja{0};
  std::vector<double> ar{0.0};
  auto add_col = [&](double obj) {
    const int j = glp_add_cols(lp, 1);
    glp_set_col_kind(lp, j, GLP_BV);
    glp_set_obj_coef(lp, j, obj);
    return j;
  };
  auto add_row = [&](int type, double lo, double hi, const std::vector<std::pair<int, double>>& terms) {
    const int i = glp_add_rows(lp, 1);
    glp_set_row_bnds(lp, i, type, lo, hi);
    for (auto [j, v] : terms) {
      ia.push_back(i);
      ja.push_back(j);
      ar.push_back(v);
    }
  };
  // x[w][g][c]: group g of worker w on class c (only classes at or above the group's threshold).
  std::vector<std::vector<std::vector<int>>> x(in.workers.size());
  std::vector<int> pool_terms_cols;
  for (std::size_t w = 0; w < in.workers.size(); ++w) {
    const Instance::Worker& wk = in.workers[w];
    const std::size_t G = wk.group_sizes.size();
    x[w].assign(G, std::vector<int>(C, 0));
    for (std::size_t g = 0; g < G; ++g) {
      std::vector<std::pair<int, double>> one;
      for (std::size_t c = wk.group_min[g]; c < C; ++c) {
        x[w][g][c] = add_col(wk.cost_us[g][c] / wk.alone_us);
        one.emplace_back(x[w][g][c], 1.0);
      }
      add_row(GLP_FX, 1.0, 1.0, one);  // exactly one config per group
    }
    // y[g] >= x[g][c] - x[g-1][c]: y[g] = 1 when the config changes at g.
    std::vector<std::pair<int, double>> budget_terms;
    for (std::size_t g = 1; g < G; ++g) {
      const int y = add_col(in.sigma / wk.alone_us);
      budget_terms.emplace_back(y, 1.0);
      for (std::size_t c = 0; c < C; ++c) {
        if (!x[w][g][c]) continue;  // x = 0 there: the row would be -x[g-1][c] - y <= 0, always true
        std::vector<std::pair<int, double>> terms{{x[w][g][c], 1.0}, {y, -1.0}};
        if (x[w][g - 1][c]) terms.emplace_back(x[w][g - 1][c], -1.0);
        add_row(GLP_UP, 0.0, 0.0, terms);
      }
    }
    if (!budget.is_unlimited() && !budget_terms.empty()) add_row(GLP_UP, 0.0, budget.limit(), budget_terms);
    // u[c] >= x[g][c] for every non-whole class: the worker holds a masked stream of class c.
    for (std::size_t c = 0; c + 1 < C; ++c) {
      const int u = add_col(0.0);
      pool_terms_cols.push_back(u);
      for (std::size_t g = 0; g < G; ++g)
        if (x[w][g][c]) add_row(GLP_UP, 0.0, 0.0, {{x[w][g][c], 1.0}, {u, -1.0}});
    }
  }
  std::vector<std::pair<int, double>> pool;
  for (int u : pool_terms_cols) pool.emplace_back(u, 1.0);
  if (!pool.empty()) add_row(GLP_UP, 0.0, in.max_masked, pool);
  glp_load_matrix(lp, static_cast<int>(ia.size() - 1), ia.data(), ja.data(), ar.data());

  glp_iocp parm;
  glp_init_iocp(&parm);
  parm.presolve = GLP_ON;
  parm.msg_lev = GLP_MSG_OFF;
  parm.mip_gap = 0.0;
  if (time_limit_s > 0) parm.tm_lim = static_cast<int>(time_limit_s * 1000);
  MilpResult r;
  r.rows = glp_get_num_rows(lp);
  r.cols = glp_get_num_cols(lp);
  r.glpk_return = glp_intopt(lp, &parm);
  r.glpk_status = glp_mip_status(lp);
  r.optimal = r.glpk_return == 0 && r.glpk_status == GLP_OPT;
  r.feasible = r.glpk_status == GLP_OPT || r.glpk_status == GLP_FEAS;
  if (r.feasible) {
    r.objective = glp_mip_obj_val(lp);
    for (std::size_t w = 0; w < in.workers.size(); ++w) {
      std::vector<std::size_t> cfg;
      for (std::size_t g = 0; g < x[w].size(); ++g) {
        std::size_t pick = C;
        for (std::size_t c = 0; c < C; ++c)
          if (x[w][g][c] && glp_mip_col_val(lp, x[w][g][c]) > 0.5) pick = c;
        cfg.push_back(pick);
      }
      r.assignment.push_back(std::move(cfg));
    }
  }
  glp_delete_prob(lp);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

double brute_force(const Instance& in, SwitchBudget budget, Assignment* best) {
  const std::size_t C = in.classes;
  // Every assignment of every worker that keeps its own budget and thresholds.
  struct Option {
    std::vector<std::size_t> cfg;
    double term;
    unsigned streams;
  };
  std::vector<std::vector<Option>> options(in.workers.size());
  for (std::size_t w = 0; w < in.workers.size(); ++w) {
    const Instance::Worker& wk = in.workers[w];
    std::vector<std::size_t> cfg(wk.group_sizes.size());
    std::function<void(std::size_t)> rec = [&](std::size_t g) {
      if (g == cfg.size()) {
        if (budget.allows(switches(cfg))) options[w].push_back({cfg, worker_term(in, w, cfg), masked(cfg, C)});
        return;
      }
      for (std::size_t c = wk.group_min[g]; c < C; ++c) {
        cfg[g] = c;
        rec(g + 1);
      }
    };
    rec(0);
  }
  double opt = std::numeric_limits<double>::infinity();
  std::vector<std::size_t> pick(in.workers.size()), best_pick;
  std::function<void(std::size_t, double, unsigned)> combine = [&](std::size_t w, double sum, unsigned streams) {
    if (w == in.workers.size()) {
      if (streams <= in.max_masked && sum < opt) {
        opt = sum;
        best_pick = pick;
      }
      return;
    }
    for (std::size_t i = 0; i < options[w].size(); ++i) {
      pick[w] = i;
      combine(w + 1, sum + options[w][i].term, streams + options[w][i].streams);
    }
  };
  combine(0, 0.0, 0);
  if (best) {
    best->clear();
    for (std::size_t w = 0; w < in.workers.size(); ++w) best->push_back(options[w][best_pick[w]].cfg);
  }
  return opt;
}

}  // namespace eclip::oracle
