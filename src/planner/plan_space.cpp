#include "eclip/planner/plan_space.hpp"

#include <algorithm>
#include <numeric>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "eclip/core/partition_config.hpp"

namespace eclip {
namespace {

/// One spelling per plan: a segment on a partition the size of its worker's home is at home (0),
/// so two candidates that run the same plan compare equal (neighbours, translated candidates).
void spell_home_as_home(Candidate& c) {
  for (unsigned w = 0; w < c.split.size() && w < c.segment.size(); ++w)
    for (unsigned& g : c.segment[w])
      if (g == c.split[w]) g = 0;
}

}  // namespace

bool Candidate::all_home() const {
  return std::all_of(segment.begin(), segment.end(), [](const std::vector<unsigned>& w) {
    return std::all_of(w.begin(), w.end(), [](unsigned p) { return p == 0; });
  });
}

std::string Candidate::label() const {
  if (shared()) return "shared";
  std::string s;
  for (std::size_t w = 0; w < split.size(); ++w) {
    if (w) s += "/";
    s += std::to_string(split[w]);
    if (w < segment.size() && std::any_of(segment[w].begin(), segment[w].end(), [](unsigned p) { return p != 0; }))
      s += "+";
  }
  return s;
}

PlanSpace::PlanSpace(Topology topo, std::vector<std::string> models, std::vector<std::vector<std::uint32_t>> segments,
                     SwitchBudget budget)
    : topo_(std::move(topo)), models_(std::move(models)), segments_(std::move(segments)), budget_(budget) {
  topo_.validate();
  if (models_.empty()) throw Error(Errc::invalid_argument, "plan space: no workers");
  if (segments_.size() != models_.size())
    throw Error(Errc::invalid_argument,
                fmt::format("plan space: segments for {} workers but {} models", segments_.size(), models_.size()));
  for (std::size_t w = 0; w < segments_.size(); ++w) {
    if (segments_[w].empty())
      throw Error(Errc::invalid_argument, fmt::format("plan space: worker {} ({}) has no segments", w, models_[w]));
    for (std::size_t s = 0; s < segments_[w].size(); ++s)
      if (segments_[w][s] == 0)
        throw Error(Errc::invalid_argument,
                    fmt::format("plan space: worker {} ({}) segment {} has no positions", w, models_[w], s));
  }
}

Candidate PlanSpace::shared() const { return Candidate{}; }

Candidate PlanSpace::static_split(std::vector<unsigned> split) const {
  Candidate c;
  c.split = std::move(split);
  for (const auto& segs : segments_) c.segment.emplace_back(segs.size(), 0U);
  validate(c);
  return c;
}

Candidate PlanSpace::translated(const Candidate& other) const {
  if (other.shared()) return shared();
  if (other.segment.size() != workers())
    throw Error(Errc::invalid_argument, fmt::format("plan space: a candidate of {} workers' segments for {} workers",
                                                    other.segment.size(), workers()));
  Candidate c = static_split(other.split);
  for (unsigned w = 0; w < workers(); ++w) {
    const auto& theirs = other.segment[w];
    if (!theirs.empty() && std::all_of(theirs.begin(), theirs.end(), [&](unsigned g) { return g == theirs.front(); }))
      std::fill(c.segment[w].begin(), c.segment[w].end(), theirs.front());
  }
  spell_home_as_home(c);
  validate(c);
  return c;
}

bool PlanSpace::splittable() const { return workers() <= topo_.group_count(); }

Candidate PlanSpace::equal_split() const {
  const unsigned N = topo_.group_count(), W = workers();
  if (!splittable())
    throw Error(Errc::invalid_argument,
                fmt::format("plan space: {} workers but {} has only {} groups to split", W, topo_.name, N));
  std::vector<unsigned> split(W, N / W);
  for (unsigned w = 0; w < N % W; ++w) ++split[w];
  return static_split(std::move(split));
}

std::vector<Candidate> PlanSpace::all_static_splits() const {
  const unsigned N = topo_.group_count(), W = workers();
  std::vector<Candidate> out;
  if (!splittable()) return out;
  std::vector<unsigned> split(W, 1);
  // Compositions of N into W positive parts, in lexicographic order.
  auto rec = [&](auto&& self, unsigned w, unsigned left) -> void {
    if (w + 1 == W) {
      split[w] = left;
      Candidate c;
      c.split = split;
      for (const auto& segs : segments_) c.segment.emplace_back(segs.size(), 0U);
      try {
        validate(c);
        out.push_back(std::move(c));
      } catch (const Error&) {  // e.g. a home of the remainder group alone
      }
      return;
    }
    for (unsigned g = 1; g + (W - w - 1) <= left; ++g) {
      split[w] = g;
      self(self, w + 1, left - g);
    }
  };
  rec(rec, 0, N);
  return out;
}

unsigned PlanSpace::partition_of(const Candidate& c, unsigned w, std::size_t s) const {
  const unsigned p = c.segment[w][s];
  return p == 0 ? c.split[w] : p;
}

unsigned PlanSpace::switches(const Candidate& c, unsigned w) const {
  unsigned n = 0;
  for (std::size_t s = 1; s < c.segment[w].size(); ++s) n += partition_of(c, w, s) != partition_of(c, w, s - 1);
  return n;
}

void PlanSpace::validate(const Candidate& c) const {
  if (c.shared()) {
    if (!c.segment.empty()) throw Error(Errc::invalid_argument, "plan space: a shared candidate has no segment choices");
    return;
  }
  const unsigned N = topo_.group_count(), W = workers();
  if (c.split.size() != W)
    throw Error(Errc::invalid_argument, fmt::format("plan space: split {} has {} homes for {} workers", c.split, c.split.size(), W));
  unsigned used = 0;
  for (unsigned w = 0; w < W; ++w) {
    if (c.split[w] == 0)
      throw Error(Errc::invalid_argument, fmt::format("plan space: split {}: worker {} has a home of 0 groups", c.split, w));
    used += c.split[w];
  }
  if (used > N)
    throw Error(Errc::invalid_argument,
                fmt::format("plan space: split {} takes {} groups but {} has {}", c.split, used, topo_.name, N));
  if (used == N && c.split.back() == 1 && !topo_.stands_alone(N - 1))
    throw Error(Errc::invalid_argument,
                fmt::format("plan space: split {} leaves worker {} only {}'s remainder group ({} SMs), where "
                            "thread-block-cluster kernels cannot launch",
                            c.split, W - 1, topo_.name, topo_.group_sizes.back()));
  if (c.segment.size() != W)
    throw Error(Errc::invalid_argument, fmt::format("plan space: segment choices for {} workers, {} expected", c.segment.size(), W));
  for (unsigned w = 0; w < W; ++w) {
    if (c.segment[w].size() != segments_[w].size())
      throw Error(Errc::invalid_argument, fmt::format("plan space: worker {} has {} segment choices for {} segments", w,
                                                      c.segment[w].size(), segments_[w].size()));
    for (std::size_t s = 0; s < c.segment[w].size(); ++s)
      if (c.segment[w][s] > N)
        throw Error(Errc::invalid_argument, fmt::format("plan space: worker {} segment {}: partition of {} groups; {} has {}",
                                                        w, s, c.segment[w][s], topo_.name, N));
    if (!budget_.allows(switches(c, w)))
      throw Error(Errc::invalid_argument, fmt::format("plan space: worker {} switches {} times per request, over the budget of {}",
                                                      w, switches(c, w), budget_.limit()));
  }
}

Plan PlanSpace::to_plan(const Candidate& c, const std::string& strategy) const {
  validate(c);
  Plan p;
  p.device = topo_.name;
  p.strategy = strategy;
  if (!budget_.is_unlimited()) p.budget = budget_;
  const PartitionConfig whole{topo_.group_count()};
  for (unsigned w = 0; w < workers(); ++w) {
    std::vector<PartitionConfig> per_position;
    for (std::size_t s = 0; s < segments_[w].size(); ++s)
      per_position.insert(per_position.end(), segments_[w][s], c.shared() ? whole : PartitionConfig{partition_of(c, w, s)});
    WorkerPlan wp = WorkerPlan::from_per_kernel(models_[w], per_position);
    if (!c.shared()) wp.home = HomeRange{home_first(c, w), c.split[w]};
    p.workers.push_back(std::move(wp));
  }
  p.validate(topo_);
  return p;
}

std::vector<Candidate> PlanSpace::neighbours(const Candidate& c) const {
  validate(c);
  std::set<Candidate> seen{c};
  std::vector<Candidate> out;
  auto offer = [&](Candidate n) {
    spell_home_as_home(n);  // a move may change a home to a segment's partition size
    try {
      validate(n);
    } catch (const Error&) {
      return;  // over the budget or out of range: not a neighbour
    }
    if (seen.insert(n).second) out.push_back(std::move(n));
  };
  if (c.shared()) {
    if (splittable()) offer(equal_split());
    return out;
  }
  const unsigned W = workers(), N = topo_.group_count();
  const unsigned used = std::accumulate(c.split.begin(), c.split.end(), 0U);
  for (unsigned from = 0; from < W; ++from)  // an atom from one home to another
    for (unsigned to = 0; to < W; ++to)
      if (from != to && c.split[from] > 1) {
        Candidate n = c;
        --n.split[from];
        ++n.split[to];
        offer(std::move(n));
      }
  if (used < N)
    for (unsigned to = 0; to < W; ++to) {  // a free group to a worker
      Candidate n = c;
      ++n.split[to];
      offer(std::move(n));
    }
  for (unsigned from = 0; from < W; ++from)  // a group of a worker's home left idle
    if (c.split[from] > 1) {
      // Fewer active SMs draw less power: on the H200 at batch 1, MPS at 25 % per process gave
      // 3 % more inferences/J than the best full split on mix3 at 84 % of its power.
      Candidate n = c;
      --n.split[from];
      offer(std::move(n));
    }
  for (unsigned w = 0; w < W; ++w) {  // a segment one partition size up or down
    std::set<unsigned> sizes(topo_.size_classes.begin(), topo_.size_classes.end());
    sizes.insert(c.split[w]);
    for (std::size_t s = 0; s < c.segment[w].size(); ++s) {
      const unsigned now = partition_of(c, w, s);
      auto it = sizes.find(now);
      if (it == sizes.end()) it = sizes.insert(now).first;
      auto set_to = [&](unsigned groups) {
        Candidate n = c;
        n.segment[w][s] = groups;  // offer() spells the home's size as 0
        offer(std::move(n));
      };
      if (std::next(it) != sizes.end()) set_to(*std::next(it));
      if (it != sizes.begin()) set_to(*std::prev(it));
    }
  }
  for (unsigned w = 0; w < W; ++w) {  // every segment of a worker on the whole device
    // One move, not one size step per segment: a latency-bound worker (albert at batch 8 on the
    // H200: p95 41 ms on 3 atoms vs 15 ms shared) may keep its p95 only unconfined, and the
    // search's repair would need a round per step (2 -> 4 -> 8 -> 16 groups, per segment).
    Candidate n = c;
    for (unsigned& g : n.segment[w]) g = N;
    offer(std::move(n));
  }
  for (unsigned w = 0; w < W; ++w) {  // every segment of a worker back home
    // The way back, in one move too: on the H200 at batch 1 (mix6) alexnet's segments on the
    // whole device kept albert's p95 7 % over its limit on 8 atoms of its own.
    Candidate n = c;
    for (unsigned& g : n.segment[w]) g = 0;
    offer(std::move(n));
  }
  return out;
}

bool PlanSpace::grows(const Candidate& from, const Candidate& to, unsigned w) const {
  if (from.shared() || to.shared() || w >= workers()) return false;
  for (std::size_t s = 0; s < segments_[w].size(); ++s)
    if (partition_of(to, w, s) > partition_of(from, w, s)) return true;
  return false;
}

unsigned PlanSpace::home_first(const Candidate& c, unsigned w) const {
  return std::accumulate(c.split.begin(), c.split.begin() + w, 0U);  // homes laid out from group 0
}

unsigned PlanSpace::crowding(const Candidate& c, unsigned w) const {
  // The mask a segment runs on, as the plan's pool builds it (grown from its home's first group).
  auto mask = [&](unsigned v, std::size_t s) {
    return PartitionConfig{partition_of(c, v, s)}.mask(topo_, home_first(c, v));
  };
  CuMask mine(topo_.units());
  for (std::size_t s = 0; s < segments_[w].size(); ++s) mine |= mask(w, s);
  unsigned n = 0;
  for (unsigned v = 0; v < workers(); ++v)
    for (std::size_t s = 0; v != w && s < segments_[v].size(); ++s) {
      const CuMask shared = mask(v, s) & mine;  // whole groups: a group is in it when its first unit is
      for (unsigned g = 0; g < topo_.group_count(); ++g) n += shared.test(topo_.group_first_unit(g));
    }
  return n;
}

bool PlanSpace::relieves(const Candidate& from, const Candidate& to, unsigned w) const {
  if (from.shared() || to.shared() || w >= workers()) return false;
  if (grows(from, to, w)) return true;
  for (std::size_t s = 0; s < segments_[w].size(); ++s)  // fewer groups of its own, fewer crowded
    if (partition_of(to, w, s) < partition_of(from, w, s)) return false;
  return crowding(to, w) < crowding(from, w);
}

std::vector<std::uint32_t> equal_time_segments(const std::vector<double>& us, unsigned max_segments) {
  if (us.empty()) throw Error(Errc::invalid_argument, "segments: no positions to cut");
  if (max_segments == 0) throw Error(Errc::invalid_argument, "segments: max_segments must be > 0");
  const std::size_t n = us.size();
  const std::size_t S = std::min<std::size_t>(max_segments, n);
  const double total = std::accumulate(us.begin(), us.end(), 0.0);
  std::vector<std::uint32_t> out;
  double acc = 0;
  std::size_t start = 0;
  for (std::size_t k = 0; k < n; ++k) {
    acc += us[k];
    const std::size_t left_positions = n - (k + 1), left_segments = S - out.size() - 1;
    // Close the segment when its share of time is reached, keeping a position for every later one.
    const bool due = acc >= total * static_cast<double>(out.size() + 1) / static_cast<double>(S);
    if (left_segments > 0 && (due || left_positions == left_segments)) {
      out.push_back(static_cast<std::uint32_t>(k + 1 - start));
      start = k + 1;
    }
  }
  out.push_back(static_cast<std::uint32_t>(n - start));
  return out;
}

}  // namespace eclip
