#pragma once
// Optimizer: ECLIP's offline planner (arXiv 2506.12598, "Optimizer (offline ILP)" in docs/hardware.md),
// solved exactly by dynamic programming instead of an ILP solver run.
//
// THE MODEL (exactness is relative to exactly this; docs/optimizer.md has the derivation)
//
// Inputs: a Profile (per model, per kernel k, beta_k(c) microseconds at each size class c of the
// topology; c ranges over topology.size_classes, ascending, the last = the whole device); a mix
// (one worker per model name; worker w of W grows its partitions from
// home_w = topology.home_group(w, W)); a SwitchBudget B; the Topology; OptimizerOptions.
//
//   Decision units: each worker's kernels are cut into consecutive groups (default: every kernel
//   its own group; or the fixed groups of OptimizerOptions::fixed_groups). Every kernel of a group
//   runs on the group's config c_g.
//   Threshold: min_k = the smallest size class c with beta_k(c) <= (1 + tol) * beta_k(whole)
//   (ECLIP's "not noticeably worse than the whole GPU"; tol = 0.10 by default). Constraint:
//   c_g >= min_k for every kernel k of group g.
//   Switches: switches_w = #{adjacent groups g-1, g of w with c_{g-1} != c_g}; constraint
//   switches_w <= B for every worker (per request).
//   Pool: S_w = the non-whole configs worker w uses (each is one CU-masked stream of the
//   PartitionPool; the whole device is the worker's fallback stream); constraint
//   sum_w |S_w| <= topology.max_masked_streams.
//   Estimated time: e_k(c) = beta_k(c) * (1 + alpha_w(c)), where alpha_w(c) is the contention
//   worker w expects on its partition M_w(c) = topology.grow_from(home_w, c) from the other
//   workers. alpha_w(c) is a constant per (w, c): it depends on the other workers' profiles and
//   thresholds, never on the plan (see ContentionModel). That is what makes the workers'
//   problems separable, coupled only through the pool constraint.
//   Objective: minimise sum_w T_w / T_w^alone, with T_w = sum_k e_k(c_k) + sigma * switches_w and
//   T_w^alone = sum_k beta_k(whole): each worker's slowdown, weighted equally (fairness: a worker
//   that finishes early leaves units idle, and idle units still draw power). sigma
//   (switch_cost_us) is the expected barrier cost of a switch; it also breaks ties toward fewer
//   switches.
//
// The all-whole-device plan (0 switches, 0 masked streams, every kernel at or above its
// threshold) is always feasible, so for valid inputs an optimum always exists. The only
// infeasible threshold is a tolerance < 0 (or NaN), which no config can meet; it is an error.
//
// THE ALGORITHM (exact): for each worker w and each set S of non-whole configs, a DP over
// groups with state (config of the last group, switches used) gives f_w(S), the least T_w using
// only configs in S plus the whole device; then a knapsack over workers picks S_w minimising
// sum_w f_w(S_w) / T_w^alone subject to sum_w |S_w| <= max_masked_streams. With an unlimited
// budget (or B >= groups - 1) the switch dimension is dropped. Cost O(W * 2^(C-1) * G * C * B')
// with G groups, C size classes, B' = min(B, G-1) + 1; a knapsack of O(W * Q^2).
//
// Example:
//   eclip::Optimizer opt(eclip::presets::mi50());
//   eclip::OptimizerResult r = opt.optimize(profile, {"resnet152", "vgg19"}, eclip::SwitchBudget::per_request(14));
//   r.plan.to_json(topo);  // strategy "eclip-budget", groups = runs of equal configs
#include <cstdint>
#include <string>
#include <vector>

#include "eclip/plan/plan.hpp"
#include "eclip/plan/profile.hpp"
#include "eclip/core/switch_budget.hpp"
#include "eclip/core/topology.hpp"

namespace eclip {

/// How alpha_w(c), the contention a worker expects on its partition, is derived from the other
/// workers. Both are plan-independent: they assume each other worker v runs every kernel on its
/// minimum config (the least it needs), back to back (the paper's max-load setting).
enum class ContentionModel {
  /// Default. occ_v(u) = the fraction of v's request time during which unit u is busy with v:
  ///   occ_v(u) = sum_k beta_k(min_k) * [u in M_v(min_k)] / sum_k beta_k(min_k),
  /// and alpha_w(c) = sum_{v != w} sum_{u in M_w(c)} occ_v(u) / |M_w(c)|: the expected number of
  /// co-running workers per unit of w's partition. It places v's demand where v's partitions
  /// really are (nested masks grown from v's home), so a worker that spends half its time on the
  /// whole device loads every group, not only the smallest region that holds its average.
  occupancy,
  /// The region model: v's average demand d_v = sum_k beta_k(whole) * |M_v(min_k)| /
  /// sum_k beta_k(whole) units, spread evenly over R_v = grow_from(home_v, r_v), r_v the fewest
  /// groups holding d_v units; alpha_w(c) = sum_{v != w} |M_w(c) & R_v| * (d_v / |R_v|) / |M_w(c)|.
  region,
};

struct OptimizerOptions {
  /// tol: a kernel's minimum config is the smallest size class within (1 + tol) of its
  /// whole-device time (min_config_index in profile.hpp). Must be >= 0. 10% by default: ECLIP's
  /// "not noticeably worse".
  double threshold_tolerance = kDefaultThresholdTolerance;
  /// sigma: the expected cost of one partition switch (a barrier), microseconds, >= 0.
  double switch_cost_us = 2.0;
  ContentionModel contention = ContentionModel::occupancy;
  /// Optional fixed kernel groups: fixed_groups[w] lists the sizes of worker w's consecutive
  /// groups (each > 0, summing to its model's kernel count); kernels of a group share a config.
  /// Empty (or an empty entry for a worker): every kernel is its own group.
  std::vector<std::vector<std::uint32_t>> fixed_groups;
};

/// The instance the optimizer solves once thresholds and contention are fixed. Self-contained
/// (it copies the times it needs), so one model serves many budgets (a budget sweep).
struct PlanningModel {
  struct Worker {
    std::string model;
    unsigned home_group = 0;
    std::uint32_t kernels = 0;
    std::vector<double> beta_us;              ///< beta_k(c): kernels x size classes, row-major
    std::vector<std::uint32_t> min_config;    ///< per kernel: index of its minimum size class
    std::vector<std::uint32_t> group_sizes;   ///< decision groups: kernels per consecutive group
    bool fixed_groups = false;                ///< groups given by the caller (kept as is in the plan)
    std::vector<double> alpha;                ///< alpha_w(c) per size class
    double alone_us = 0;                      ///< T_w^alone = sum_k beta_k(whole)

    double beta(std::uint32_t k, std::size_t c) const { return beta_us[k * classes() + c]; }
    std::size_t classes() const { return kernels == 0 ? 0 : beta_us.size() / kernels; }
    /// e_k(c) = beta_k(c) * (1 + alpha_w(c))
    double estimated_us(std::uint32_t k, std::size_t c) const { return beta(k, c) * (1.0 + alpha[c]); }
  };

  std::string device;
  std::vector<unsigned> size_classes;  ///< in topology groups, ascending; last = whole device
  unsigned max_masked_streams = 0;
  double switch_cost_us = 0;
  std::vector<Worker> workers;
};

/// One worker's figures under the model.
struct WorkerEstimate {
  std::string model;
  double time_us = 0;        ///< T_w = sum_k e_k(c_k) + sigma * switches
  double alone_us = 0;       ///< T_w^alone = sum_k beta_k(whole)
  double slowdown = 0;       ///< T_w / T_w^alone, this worker's term of the objective
  unsigned switches = 0;
  unsigned masked_streams = 0;       ///< |S_w|: distinct non-whole configs used
  std::uint32_t below_threshold = 0; ///< kernels on a config below their minimum (0 in an optimum)
};

struct OptimizerResult {
  Plan plan;
  double objective = 0;  ///< sum_w T_w / T_w^alone
  std::vector<WorkerEstimate> workers;
  unsigned masked_streams = 0;  ///< sum_w |S_w| (<= topology.max_masked_streams)
};

class Optimizer {
 public:
  /// Throws Errc::invalid_argument when the topology is inconsistent, when the tolerance is
  /// negative or NaN (an infeasible threshold), or when the switch cost is negative or not finite.
  explicit Optimizer(Topology topology, OptimizerOptions options = {});

  const Topology& topology() const noexcept { return topo_; }
  const OptimizerOptions& options() const noexcept { return opts_; }

  /// Thresholds, contention and decision groups of `mix` on `profile`. Errors
  /// (Errc::invalid_argument) name the worker, kernel and field: an empty mix, a model the
  /// profile lacks, a model with no kernels, a kernel missing the time of a config (or a
  /// non-finite / non-positive time), profile configs that differ from the topology's size
  /// classes, fixed groups that do not cover the worker's kernels.
  PlanningModel model(const Profile& profile, const std::vector<std::string>& mix) const;

  /// An optimal plan of `m` under `budget` (strategy "eclip-budget", the budget recorded, groups = runs
  /// of equal configs, or the fixed groups when given). `m` must be for this optimizer's topology.
  OptimizerResult solve(const PlanningModel& m, SwitchBudget budget) const;

  /// model() then solve().
  OptimizerResult optimize(const Profile& profile, const std::vector<std::string>& mix, SwitchBudget budget) const {
    return solve(model(profile, mix), budget);
  }

  /// Any plan's figures under the model (e.g. Baseline, Model-wise or Kernel-wise plans), for
  /// comparison. The plan must have one worker per model worker with the same kernel counts and
  /// configs among the size classes; it is not required to respect thresholds, budget or pool.
  OptimizerResult evaluate(const PlanningModel& m, const Plan& plan) const;

 private:
  Topology topo_;
  OptimizerOptions opts_;
};

}  // namespace eclip
