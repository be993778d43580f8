#pragma once
// PlanSpace: the co-location plans the planner and the tuner move through.
//
// A point (Candidate) is either "shared" (every worker on the whole device: Baseline) or a split
// of the topology's groups into per-worker disjoint home ranges, laid out in worker order from
// group 0 (split[w] groups for worker w; the sum may be less than the device: idle groups), plus,
// per worker and per segment of its request, the partition that segment runs on: its home
// (level 0), or a larger or smaller partition grown from the home's first group (ECLIP's
// per-group moves: borrowing the next workers' groups, or keeping part of the home). Every static
// split is a candidate with all segments at home, so the best static split is in the space.
//
// Segments are the decision groups: consecutive positions of a worker's request (kernels for a
// simulated profile, graph units for the Python runner). A plan's switches are the changes of
// partition between adjacent segments, bounded by the switch budget.
//
// Local moves (neighbours): an atom from one worker's home to another's; a free group to a worker;
// a group of a worker's home left idle;
// a segment one partition size up or down (the sizes: the topology's size classes plus the home);
// every segment of one worker on the whole device (that worker unconfined, the others' segments
// as they were), or every segment of one worker back home (that worker confined).
#include <cstdint>
#include <string>
#include <vector>

#include "eclip/core/switch_budget.hpp"
#include "eclip/core/topology.hpp"
#include "eclip/plan/plan.hpp"

namespace eclip {

struct Candidate {
  std::vector<unsigned> split;                  ///< home groups per worker; empty = shared (Baseline)
  std::vector<std::vector<unsigned>> segment;   ///< [worker][segment]: partition groups; 0 = the home
  bool shared() const { return split.empty(); }
  /// Every segment at home: a static split (or the shared candidate).
  bool all_home() const;
  /// "shared", or e.g. "5/4/4/3" with "+" after a worker whose segments leave home.
  std::string label() const;
  friend bool operator==(const Candidate&, const Candidate&) = default;
  friend auto operator<=>(const Candidate&, const Candidate&) = default;
};

class PlanSpace {
 public:
  /// segments[w]: positions per segment of worker w's request (each > 0); models[w]: its name.
  /// Throws naming the worker when a worker has no segments or a segment is empty.
  PlanSpace(Topology topo, std::vector<std::string> models, std::vector<std::vector<std::uint32_t>> segments,
            SwitchBudget budget = SwitchBudget::unlimited());

  const Topology& topology() const noexcept { return topo_; }
  unsigned workers() const noexcept { return static_cast<unsigned>(models_.size()); }
  const std::vector<std::string>& models() const noexcept { return models_; }
  const std::vector<std::vector<std::uint32_t>>& segments() const noexcept { return segments_; }

  /// All workers on the whole device.
  Candidate shared() const;
  /// Whether splits exist: a home needs a group per worker (else only the shared candidate).
  bool splittable() const;
  /// Every segment at home on `split` (one static split); throws when the split is invalid.
  Candidate static_split(std::vector<unsigned> split) const;
  /// The equal split: floor(N / W) groups each, the remainder one more to the first workers
  /// (throws when there are more workers than groups).
  Candidate equal_split() const;
  /// A candidate of another space over the same workers and topology (its segments cut
  /// otherwise, e.g. the model's kernels vs the tuner's graph units), in this one: the same
  /// split; a worker whose segments all run on one partition runs all of this space's segments
  /// there (at home, unconfined, ...); any other worker at home (segments of two spaces do not
  /// line up). Throws when the result is not valid here (e.g. a switch budget).
  Candidate translated(const Candidate& other) const;
  /// Every split of all N groups into W homes of at least one group (compositions of N).
  std::vector<Candidate> all_static_splits() const;

  /// Throws naming what is wrong: split size, a home of 0 groups, homes past the device, a
  /// segment's partition out of range, switches over the budget.
  void validate(const Candidate& c) const;
  /// The plan of a candidate (strategy name given), validated against the topology.
  Plan to_plan(const Candidate& c, const std::string& strategy) const;
  /// The valid candidates one local move away, without duplicates, in a fixed order.
  std::vector<Candidate> neighbours(const Candidate& c) const;
  /// Whether `to` runs some segment of worker w on a larger partition than `from` does (a larger
  /// home, or a segment moved up a size); false when either is shared. Both must be valid.
  bool grows(const Candidate& from, const Candidate& to, unsigned w) const;
  /// Whether `to` gives worker w more of the device than `from`: it grows (above), or, none of
  /// w's segments on a smaller partition, fewer of the other workers' segments run on w's groups
  /// (e.g. another worker's unconfined segments moved home). False when either is shared. Both
  /// must be valid.
  bool relieves(const Candidate& from, const Candidate& to, unsigned w) const;

 private:
  /// The groups of worker w's partitions that other workers' segments run on, counted once per
  /// such segment.
  unsigned crowding(const Candidate& c, unsigned w) const;
  /// The first group of worker w's home (homes are laid out from group 0 in worker order).
  unsigned home_first(const Candidate& c, unsigned w) const;
  unsigned partition_of(const Candidate& c, unsigned w, std::size_t s) const;
  unsigned switches(const Candidate& c, unsigned w) const;

  Topology topo_;
  std::vector<std::string> models_;
  std::vector<std::vector<std::uint32_t>> segments_;
  SwitchBudget budget_;
};

/// Cuts `kernels` positions with times `us` (one per position) into at most `max_segments`
/// consecutive segments of about equal total time (every segment non-empty).
std::vector<std::uint32_t> equal_time_segments(const std::vector<double>& us, unsigned max_segments);

}  // namespace eclip
