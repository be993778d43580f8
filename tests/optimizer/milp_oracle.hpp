#pragma once
// Test-only oracle for the optimizer: the same model (include/eclip/planner/optimizer.hpp) built again
// independently (thresholds per kernel, contention unit by unit with CuMask) and solved as a
// MILP with GLPK, plus a plain evaluator for brute-force enumeration. Nothing here calls the
// optimizer, so an agreement between the two is evidence, not a tautology.
#include <cstddef>
#include <string>
#include <vector>

#include "eclip/planner/optimizer.hpp"

namespace eclip::oracle {

/// The model's numbers, recomputed from the raw inputs.
struct Instance {
  struct Worker {
    std::string model;
    std::vector<std::uint32_t> group_sizes;   ///< decision groups (fixed or one kernel each)
    std::vector<std::size_t> kernel_min;      ///< per kernel: minimum size class index
    std::vector<std::size_t> group_min;       ///< per group: max of its kernels' minima
    std::vector<std::vector<double>> cost_us; ///< [group][class]: sum of beta * (1 + alpha)
    std::vector<double> alpha;                ///< per size class
    double alone_us = 0;
  };
  std::size_t classes = 0;
  unsigned max_masked = 0;
  double sigma = 0;
  std::vector<Worker> workers;
};

Instance build(const Profile& profile, const std::vector<std::string>& mix, const Topology& topo,
               const OptimizerOptions& opts);

/// Per worker, per group: a size class index.
using Assignment = std::vector<std::vector<std::size_t>>;

/// The objective of `a` (sum of slowdowns), with no feasibility check.
double objective(const Instance& in, const Assignment& a);
/// Empty when `a` is feasible under `budget`; otherwise what is violated.
std::string violation(const Instance& in, const Assignment& a, SwitchBudget budget);
/// The plan's per-group assignment (its groups must align with the instance's groups).
Assignment from_plan(const Instance& in, const Plan& plan, const std::vector<unsigned>& size_classes);

struct MilpResult {
  bool optimal = false;   ///< GLPK proved optimality (GLP_OPT)
  bool feasible = false;  ///< an integer solution was found (GLP_OPT or GLP_FEAS)
  int glpk_status = 0;    ///< glp_mip_status
  int glpk_return = 0;    ///< glp_intopt's return code (GLP_ETMLIM on a time-out)
  double objective = 0;
  Assignment assignment;
  double seconds = 0;
  int rows = 0, cols = 0;
};

/// Solves the instance as a MILP with GLPK; time_limit_s = 0: no limit.
MilpResult solve_milp(const Instance& in, SwitchBudget budget, double time_limit_s = 0);

/// Exhaustive search over every assignment (tiny instances only); returns the optimum.
double brute_force(const Instance& in, SwitchBudget budget, Assignment* best = nullptr);

}  // namespace eclip::oracle
