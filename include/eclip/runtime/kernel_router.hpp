#pragma once
// KernelRouter: sends each launch of each worker to the stream of its planned partition and keeps
// the worker's order across streams.
//
// Order: through OrderedLane (ordered_lane.hpp), the one rule eclip has: a move to another stream
// records a marker behind the previous work and waits on it only if it has not completed. route()
// orders per worker (one lane per worker); route_on() orders on a lane the caller owns (the
// transparent-mode interposer: one lane per application stream, shared by threads).
//
// Cost: a table lookup per launch; at a switch, one marker record and one completion query.
// Threads: route()/begin_request() for worker w must be called from one thread at a time (one
// thread per worker); different workers may route concurrently. route_on()/join_on()/
// pass_through() may be called from any thread, also for one worker from several threads.
// Counters may be read anytime.
//
// No work is lost: a kernel the plan does not cover runs on the worker's fallback stream (route_on:
// the lane's home), and if a marker/barrier call fails the kernel stays on the previous launch's
// stream (stream order keeps it correct). Both are counted and reported to the observer.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "eclip/runtime/backend.hpp"
#include "eclip/runtime/observer.hpp"
#include "eclip/runtime/ordered_lane.hpp"
#include "eclip/runtime/partition_pool.hpp"
#include "eclip/plan/plan.hpp"
#include "eclip/core/switch_budget.hpp"

namespace eclip {

struct RouterCounters {
  std::uint64_t requests = 0;
  std::uint64_t launches = 0;        ///< every decision, captured launches included
  std::uint64_t switches = 0;
  std::uint64_t barriers = 0;        ///< waits enqueued, by launches and by joins
  std::uint64_t unrouted = 0;        ///< no plan entry: ran on the fallback stream (route_on: the lane's home)
  std::uint64_t backend_errors = 0;  ///< marker/barrier failed: ran on the previous stream
  std::uint64_t budget_held = 0;     ///< planned switch refused by the online budget
  std::uint64_t whole_device = 0;    ///< planned on the whole device: the fallback stream / the lane's home
  std::uint64_t captured = 0;        ///< passed through unrouted (pass_through: graph capture)
  std::uint64_t joins = 0;           ///< join_on moved a lane home (a non-kernel operation waited for routed work)

  /// Launches sent to a planned partition (neither whole-device, unplanned, failed nor captured).
  std::uint64_t partitioned() const noexcept {
    return launches - whole_device - unrouted - backend_errors - captured;
  }
};

/// Names a launch for the observer (route_on): both must outlive the call.
struct LaunchNote {
  const char* name = nullptr;   ///< the kernel's name
  const char* entry = nullptr;  ///< the API entry point
};

class KernelRouter {
 public:
  /// `plan` must have one WorkerPlan per pool worker, and every config it uses must be in the
  /// pool; otherwise throws naming the worker and config. `budget` is enforced online per request
  /// (leave it unlimited when the plan already respects it). `observer` may be null.
  KernelRouter(const PartitionPool& pool, const Plan& plan, SwitchBudget budget = SwitchBudget::unlimited(),
               Observer* observer = nullptr)
      : backend_(pool.backend()), budget_(budget), observer_(observer), workers_(pool.workers()),
        whole_units_(pool.backend().topology().units()), state_(std::make_unique<WorkerState[]>(pool.workers())) {
    if (plan.workers.size() != pool.workers())
      throw Error(Errc::invalid_argument, fmt::format("KernelRouter: the plan has {} workers but the pool has {}",
                                                      plan.workers.size(), pool.workers()));
    for (unsigned w = 0; w < workers_; ++w) {
      WorkerState& s = state_[w];
      for (const auto& slot : pool.slots(w)) {
        s.streams.push_back(slot.stream);
        s.units.push_back(slot.mask.count());  // H100: 8 groups may hold 64 or 68 SMs
      }
      for (PartitionConfig c : plan.workers[w].per_kernel()) {
        auto slot = pool.find(w, c);
        if (!slot)
          throw Error(Errc::invalid_argument,
                      fmt::format("KernelRouter: worker {} ({}) is planned on {} groups but the pool has no such "
                                  "partition for it", w, plan.workers[w].model, c.groups));
        s.slot_of_kernel.push_back(*slot);
      }
    }
  }

  unsigned workers() const noexcept { return workers_; }
  /// Plan positions of worker `w`'s request.
  std::uint32_t kernel_count(unsigned w) const { return static_cast<std::uint32_t>(state(w).slot_of_kernel.size()); }

  /// Starts a new request of worker `w`: the next route() is its kernel 0.
  void begin_request(unsigned w) {
    WorkerState& s = state(w);
    s.cursor.store(0, std::memory_order_relaxed);
    s.switches_this_request.store(0, std::memory_order_relaxed);
    s.requests.fetch_add(1, std::memory_order_relaxed);
    if (observer_) observer_->on_request(w);
  }

  /// Routes the next kernel of worker `w`'s current request on the worker's lane, inserting a
  /// barrier if needed. Never throws for backend failures (see the class comment); throws only for
  /// a bad worker id. `name`: the kernel's name for the observer, if known.
  RouteDecision route(unsigned w, const char* name = nullptr) {
    WorkerState& s = state(w);
    RouteDecision d;
    d.kernel = s.cursor.load(std::memory_order_relaxed);
    s.cursor.store(d.kernel + 1, std::memory_order_relaxed);
    d.name = name;
    d.request = s.requests.load(std::memory_order_relaxed);
    std::uint16_t want = PartitionPool::kFallbackSlot;
    if (d.kernel < s.slot_of_kernel.size()) {
      want = s.slot_of_kernel[d.kernel];
    } else {
      d.status = RouteStatus::no_plan_entry;
    }
    const bool first = !s.lane.started();
    // The switch into a request's kernel 0 (from the previous request's last partition) is not
    // charged to the budget: plans count switches within a request (Plan::switches()).
    const bool charged = d.kernel != 0;
    const unsigned spent = s.switches_this_request.load(std::memory_order_relaxed);
    if (!first && charged && want != s.last_slot && d.status == RouteStatus::routed && !budget_.allows(spent + 1)) {
      want = s.last_slot;
      d.status = RouteStatus::budget_held;
    }
    std::string error;
    const LaneStep step = s.lane.step(backend_, s.streams[want], &error);
    if (step.failed) {
      want = s.last_slot;
      d.status = RouteStatus::backend_error;
      keep_error(s, std::move(error));
    }
    d.switched = step.switched;
    d.barrier = step.barrier;
    if (step.switched && charged) s.switches_this_request.store(spent + 1, std::memory_order_relaxed);
    d.slot = want;
    d.stream = s.streams[want];
    d.units = s.units[want];
    d.lane = s.streams[PartitionPool::kFallbackSlot];
    s.last_slot = want;
    count(s, d, /*shared=*/false);
    if (observer_) observer_->on_route(w, d);
    return d;
  }

  /// Routes plan position `k` of worker `w` (RouteDecision::kNoPosition: a launch the plan does not
  /// place) onto `lane`, a lane the caller owns and threads may share (the interposer: one per
  /// application stream). The lane's home stands in for the worker's fallback stream: whole-device
  /// positions and launches the plan does not cover stay on it. The budget and counters are the
  /// worker's, as for route(). Enters the lane: issue the kernel on the decision's stream, then
  /// call lane.leave(). Never throws for backend failures; throws only for a bad worker id.
  RouteDecision route_on(unsigned w, std::uint32_t k, OrderedLane& lane, const LaunchNote& note = {}) {
    WorkerState& s = state(w);
    RouteDecision d;
    d.kernel = k;
    d.name = note.name;
    d.entry = note.entry;
    d.lane = lane.home();
    d.request = s.requests.load(std::memory_order_relaxed);
    std::uint16_t want = PartitionPool::kFallbackSlot;
    if (k < s.slot_of_kernel.size()) want = s.slot_of_kernel[k];
    else d.status = RouteStatus::no_plan_entry;
    StreamHandle to = want == PartitionPool::kFallbackSlot ? lane.home() : s.streams[want];
    const bool charged = k != 0 && k != RouteDecision::kNoPosition;
    const unsigned spent = s.switches_this_request.load(std::memory_order_relaxed);
    if (!budget_.is_unlimited() && charged && d.status == RouteStatus::routed && to != lane.tail() &&
        !budget_.allows(spent + 1)) {
      to = lane.tail();  // a snapshot: if the lane moves meanwhile, this launch follows it (a switch)
      d.status = RouteStatus::budget_held;
    }
    std::string error;
    const LaneStep step = lane.enter(backend_, to, &error);
    if (step.failed) {
      d.status = RouteStatus::backend_error;
      keep_error(s, std::move(error));
    }
    d.stream = step.stream;
    d.switched = step.switched;
    d.barrier = step.barrier;
    if (step.switched && charged) s.switches_this_request.fetch_add(1, std::memory_order_relaxed);
    d.slot = slot_of(s, d.stream, lane);
    d.units = d.slot == kForeign ? 0 : (d.slot == PartitionPool::kFallbackSlot ? whole_units_ : s.units[d.slot]);
    if (d.slot == kForeign) d.slot = PartitionPool::kFallbackSlot;
    count(s, d, /*shared=*/true);
    if (observer_) observer_->on_route(w, d);
    return d;
  }

  /// Before a non-kernel operation on `lane`'s home (a copy, an event record, a sync): brings the
  /// lane home, so the operation comes after the routed work. `always_wait`: skip the completion
  /// query (the eager join right after a routed launch). Enters the lane: issue the operation on
  /// the home stream, then call lane.leave(). Counted for worker `w`.
  LaneStep join_on(unsigned w, OrderedLane& lane, bool always_wait = false) {
    WorkerState& s = state(w);
    std::string error;
    const LaneStep step = lane.enter(backend_, lane.home(), &error, always_wait);
    if (step.failed) {
      keep_error(s, std::move(error));
      s.backend_errors.fetch_add(1, std::memory_order_relaxed);
    }
    if (step.switched) s.joins.fetch_add(1, std::memory_order_relaxed);
    if (step.barrier) s.barriers.fetch_add(1, std::memory_order_relaxed);
    if (observer_ && step.switched) observer_->on_join(w, lane.home(), step.barrier);
    return step;
  }

  /// Counts and reports a launch of worker `w` that the caller issues on `stream` without routing
  /// (`why`: RouteStatus::captured, a launch into a stream being captured into a graph).
  RouteDecision pass_through(unsigned w, StreamHandle stream, RouteStatus why, const LaunchNote& note = {}) {
    WorkerState& s = state(w);
    RouteDecision d;
    d.stream = stream;
    d.lane = stream;
    d.kernel = RouteDecision::kNoPosition;
    d.status = why;
    d.name = note.name;
    d.entry = note.entry;
    d.request = s.requests.load(std::memory_order_relaxed);
    count(s, d, /*shared=*/true);
    if (observer_) observer_->on_route(w, d);
    return d;
  }

  RouterCounters counters(unsigned w) const {
    const WorkerState& s = state(w);
    auto get = [](const std::atomic<std::uint64_t>& c) { return c.load(std::memory_order_relaxed); };
    RouterCounters c;
    c.requests = get(s.requests), c.launches = get(s.launches), c.switches = get(s.switches);
    c.barriers = get(s.barriers), c.unrouted = get(s.unrouted), c.backend_errors = get(s.backend_errors);
    c.budget_held = get(s.budget_held), c.whole_device = get(s.whole_device), c.captured = get(s.captured);
    c.joins = get(s.joins);
    return c;
  }
  RouterCounters totals() const {
    RouterCounters t;
    for (unsigned w = 0; w < workers_; ++w) {
      RouterCounters c = counters(w);
      t.requests += c.requests, t.launches += c.launches, t.switches += c.switches, t.barriers += c.barriers;
      t.unrouted += c.unrouted, t.backend_errors += c.backend_errors, t.budget_held += c.budget_held;
      t.whole_device += c.whole_device, t.captured += c.captured, t.joins += c.joins;
    }
    return t;
  }
  /// The message of worker `w`'s most recent backend error ("" if none).
  std::string last_error(unsigned w) const {
    const WorkerState& s = state(w);
    std::lock_guard lock(s.error_mutex);
    return s.last_error;
  }

 private:
  static constexpr std::uint16_t kForeign = 0xffff;  // slot_of: a stream that is not this worker's

  // One cache line apart per worker so concurrent workers do not false-share.
  struct alignas(64) WorkerState {
    std::vector<StreamHandle> streams;
    std::vector<std::uint32_t> units;  ///< per slot
    std::vector<std::uint16_t> slot_of_kernel;
    OrderedLane lane;                  ///< route(): the worker's own order
    std::uint16_t last_slot = PartitionPool::kFallbackSlot;  ///< route() only
    std::atomic<std::uint32_t> cursor{0};
    std::atomic<unsigned> switches_this_request{0};
    std::atomic<std::uint64_t> requests{0}, launches{0}, switches{0}, barriers{0}, unrouted{0}, backend_errors{0},
        budget_held{0}, whole_device{0}, captured{0}, joins{0};
    mutable std::mutex error_mutex;
    std::string last_error;
  };

  WorkerState& state(unsigned w) { return const_cast<WorkerState&>(std::as_const(*this).state(w)); }
  const WorkerState& state(unsigned w) const {
    if (w >= workers_)
      throw Error(Errc::invalid_argument, fmt::format("KernelRouter: worker {} out of range: {} workers", w, workers_));
    return state_[w];
  }

  /// The slot `stream` is for worker `s` on `lane` (its home counts as the fallback slot).
  static std::uint16_t slot_of(const WorkerState& s, StreamHandle stream, const OrderedLane& lane) {
    if (stream == lane.home()) return PartitionPool::kFallbackSlot;
    for (std::size_t i = 1; i < s.streams.size(); ++i)
      if (s.streams[i] == stream) return static_cast<std::uint16_t>(i);
    return kForeign;  // another worker's partition (two workers share the lane)
  }

  static void keep_error(WorkerState& s, std::string error) noexcept {
    std::lock_guard lock(s.error_mutex);
    s.last_error.swap(error);
  }

  // route(): only the worker's own thread writes its counters, so a relaxed load + store suffices
  // (a plain move on x86, where fetch_add would be a locked instruction on every launch); readers
  // on other threads see a recent value. route_on() may run for one worker on several threads, so
  // it adds atomically.
  static void bump(std::atomic<std::uint64_t>& c, bool shared) {
    if (shared) c.fetch_add(1, std::memory_order_relaxed);
    else c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  static void count(WorkerState& s, const RouteDecision& d, bool shared) {
    bump(s.launches, shared);
    if (d.switched) bump(s.switches, shared);
    if (d.barrier) bump(s.barriers, shared);
    switch (d.status) {
      case RouteStatus::routed:
        if (d.slot == PartitionPool::kFallbackSlot) bump(s.whole_device, shared);
        break;
      case RouteStatus::no_plan_entry: bump(s.unrouted, shared); break;
      case RouteStatus::backend_error: bump(s.backend_errors, shared); break;
      case RouteStatus::budget_held: bump(s.budget_held, shared); break;
      case RouteStatus::captured: bump(s.captured, shared); break;
    }
  }

  Backend& backend_;
  SwitchBudget budget_;
  Observer* observer_;
  unsigned workers_;
  unsigned whole_units_;
  std::unique_ptr<WorkerState[]> state_;
};

}  // namespace eclip
