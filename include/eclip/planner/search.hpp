#pragma once
// PlanSearch: one local search over the PlanSpace, for the offline planner and the closed-loop
// tuner alike. Only the evaluator differs: the co-location model (a simulation) offline, a
// measured window on the GPU when tuning.
//
//   1. Evaluate the start candidates (e.g. Baseline, the equal split, the model's best plans);
//      the best one that keeps the objective's constraints is the incumbent (while none does, the
//      one that breaks them least: Objective::violation).
//   2. Each round, expand one candidate: the incumbent, or once it is expanded the best not yet
//      expanded by value. Its neighbours (PlanSpace::neighbours) are ranked by the predictor when
//      there is one (the model's predicted value) and the first `per_round` evaluated (all of
//      them without a predictor). When the expanded plan breaks a constraint, the moves that give
//      the workers it points at more SMs (Objective::breaking_workers, PlanSpace::grows) go
//      first, and while a neighbour breaks the constraints less (but still does), that neighbour
//      is expanded next: a repair, which counts as progress.
//   3. Move to the best neighbour if it beats the incumbent by more than the noise band
//      (score > incumbent * (1 + noise)). A round without such a move, while some plan not yet
//      expanded beats the incumbent by that band and breaks the constraints by at most twice it
//      (a near miss), expands that plan next, as a repair; after `patience` + 1 rounds without
//      a move or a repair, stop: converged.
//   Also stops at max_rounds, max_trials or the time limit (converged = false, the reason said).
//   4. With `confirm` > 0, the pick is measured again and judged by the mean of its windows (the
//      best of many noisy windows is biased up); when it then breaks a constraint or another plan
//      beats it by more than the noise band, that plan is measured again, up to `confirm` more
//      windows in all.
// A candidate is evaluated once in the search (and again only in step 4); every trial is kept, in
// order, with its measurement.
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "eclip/planner/objective.hpp"
#include "eclip/planner/plan_space.hpp"

namespace eclip {

struct SearchOptions {
  /// Relative margin a move must win by; a measured window's run-to-run spread (2% on the H200
  /// at 1-s windows, docs/results) so the tuner does not chase noise. 0 for a deterministic model.
  double noise = 0.02;
  unsigned per_round = 8;      ///< neighbours evaluated per round when a predictor ranks them
  unsigned max_rounds = 50;
  /// Rounds without a gain before stopping: after the incumbent, the best unexpanded candidates
  /// by value are expanded this many times (a plateau or a constraint can hide a better plan).
  unsigned patience = 1;
  unsigned max_trials = 400;
  double time_limit_s = 0;     ///< 0: none
  /// Windows spent measuring picks again after the search (0: none; step 4 above), not counted
  /// in max_trials or the time limit. Keeping the best of many measured windows favours a plan
  /// whose window was lucky: on the H200 at batch 8 (50224fd, docs/results/h200-colocation-
  /// 2026-11-30) mix6's pick had albert's p95 at 16.55 ms in its window, within the limit
  /// (16.56 ms with the band), and 17.00 and 17.01 ms in both later repetitions. A deterministic
  /// evaluator (the co-location model) needs none.
  unsigned confirm = 0;
  /// Called after every trial (progress, logging); may be empty.
  std::function<void(const struct Trial&)> on_trial;
};

struct Trial {
  unsigned index = 0;
  Candidate candidate;
  std::string label;
  Evaluation evaluation;
  double score = 0;          ///< Objective::score (-infinity: a constraint broken, see note)
  double value = 0;          ///< Objective::value (without the constraints)
  double predicted = 0;      ///< the predictor's value, NaN when none
  double at_s = 0;           ///< seconds since the search started, when the trial finished
  unsigned round = 0;        ///< 0 = a start candidate
  /// The trial whose candidate this one measures again (step 4), if it is such a window.
  std::optional<unsigned> repeats;
  std::string note;          ///< why the constraints refused it, or the evaluator's error
};

struct SearchResult {
  Candidate best;
  /// The best's evaluation: the mean of its windows when it was measured again.
  Evaluation evaluation;
  double score = 0;
  std::vector<Trial> trials;
  double seconds = 0;
  unsigned rounds = 0;
  bool converged = false;
  std::string stop_reason;
  /// How `best` was chosen among the trials (see search()).
  std::string pick;
};

/// evaluate: runs (or predicts) a candidate; throwing eclip::Error marks that trial failed (kept,
/// with the message) and the search goes on. predict: optional, a cheap predicted score.
using Evaluator = std::function<Evaluation(const Candidate&)>;
using Predictor = std::function<double(const Candidate&)>;

/// Throws Errc::invalid_argument when there are no starts or an option is out of range, and
/// Errc::unavailable (naming every failure) when no start candidate could be evaluated at all.
SearchResult search(const PlanSpace& space, const Objective& objective, const std::vector<Candidate>& starts,
                    const Evaluator& evaluate, const Predictor& predict = {}, const SearchOptions& options = {});

}  // namespace eclip

// ---- JSON: what the C ABI, the CLI and the Python package exchange -----------------------------
namespace eclip {

/// {"split": [5,4,4,3], "segment": [[0,0,8],...]} or {"split": []} (shared). "segment" may be
/// omitted (every segment at home). Errors name the field.
Candidate candidate_from_json(const nlohmann::json& j, const PlanSpace& space);
nlohmann::json to_json(const Candidate& c);

/// The space from {"models": [...], "segments": [[positions per segment], ...],
/// "switch_budget": N | "unlimited" (default unlimited)}.
PlanSpace plan_space_from_json(const nlohmann::json& j, const Topology& topo);
/// {"kind": "throughput", "alone_rps": [...], "jain_floor": 0.8, "p95_limit_ms": [...]}, all optional.
Objective objective_from_json(const nlohmann::json& j, std::size_t workers);
/// {"noise", "per_round", "max_rounds", "max_trials", "time_limit_s"}, all optional.
SearchOptions search_options_from_json(const nlohmann::json& j);

nlohmann::json to_json(const Evaluation& e);
/// The whole result: best candidate, its plan, score, every trial with its evaluation, the time it
/// took and why it stopped ("format": "eclip.search").
nlohmann::json to_json(const SearchResult& r, const PlanSpace& space, const Objective& objective);

}  // namespace eclip
