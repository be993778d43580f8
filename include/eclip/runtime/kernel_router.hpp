#pragma once
// KernelRouter: sends each launch of each worker to the stream of its planned partition and keeps
// the worker's order across streams.
//
// Order rule (ECLIP): when launch k goes to another stream than launch k-1, a completion marker is
// recorded behind k-1; if it has not completed, the new stream waits on it (an HSA barrier-AND
// packet on AMD, an event wait on CUDA, a dependency edge in the simulator). If it has completed,
// no barrier is needed and none is inserted. Launches on the same stream are ordered by the stream.
//
// Cost: a table lookup per launch; at a switch, one marker record and one completion query.
// Threads: route()/begin_request() for worker w must be called from one thread at a time (one
// thread per worker); different workers may route concurrently. Counters may be read anytime.
//
// No work is lost: a kernel the plan does not cover runs on the worker's fallback stream, and if
// a marker/barrier call fails the kernel stays on the previous launch's stream (stream order
// keeps it correct). Both are counted and reported to the observer.
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
#include "eclip/runtime/partition_pool.hpp"
#include "eclip/plan/plan.hpp"
#include "eclip/core/switch_budget.hpp"

namespace eclip {

struct RouterCounters {
  std::uint64_t requests = 0;
  std::uint64_t launches = 0;
  std::uint64_t switches = 0;
  std::uint64_t barriers = 0;
  std::uint64_t unrouted = 0;        ///< no plan entry: ran on the fallback stream
  std::uint64_t backend_errors = 0;  ///< marker/barrier failed: ran on the previous stream
  std::uint64_t budget_held = 0;     ///< planned switch refused by the online budget
};

class KernelRouter {
 public:
  /// `plan` must have one WorkerPlan per pool worker, and every config it uses must be in the
  /// pool; otherwise throws naming the worker and config. `budget` is enforced online per request
  /// (leave it unlimited when the plan already respects it). `observer` may be null.
  KernelRouter(const PartitionPool& pool, const Plan& plan, SwitchBudget budget = SwitchBudget::unlimited(),
               Observer* observer = nullptr)
      : backend_(pool.backend()), budget_(budget), observer_(observer), workers_(pool.workers()),
        state_(std::make_unique<WorkerState[]>(pool.workers())) {
    if (plan.workers.size() != pool.workers())
      throw Error(Errc::invalid_argument, fmt::format("KernelRouter: the plan has {} workers but the pool has {}",
                                                      plan.workers.size(), pool.workers()));
    for (unsigned w = 0; w < workers_; ++w) {
      WorkerState& s = state_[w];
      for (const auto& slot : pool.slots(w)) s.streams.push_back(slot.stream);
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

  /// Starts a new request of worker `w`: the next route() is its kernel 0.
  void begin_request(unsigned w) {
    WorkerState& s = state(w);
    s.cursor = 0;
    s.switches_this_request = 0;
    bump(s.requests);
    if (observer_) observer_->on_request(w);
  }

  /// Routes the next kernel of worker `w`'s current request, inserting a barrier if needed.
  /// Never throws for backend failures (see the class comment); throws only for a bad worker id.
  RouteDecision route(unsigned w) {
    WorkerState& s = state(w);
    RouteDecision d;
    d.kernel = s.cursor++;
    std::uint16_t want = PartitionPool::kFallbackSlot;
    if (d.kernel < s.slot_of_kernel.size()) {
      want = s.slot_of_kernel[d.kernel];
    } else {
      d.status = RouteStatus::no_plan_entry;
    }
    const bool first = s.last_slot == kNoSlot;
    // The switch into a request's kernel 0 (from the previous request's last partition) is not
    // charged to the budget: plans count switches within a request (Plan::switches()).
    const bool charged = d.kernel != 0;
    if (!first && charged && want != s.last_slot && d.status == RouteStatus::routed &&
        !budget_.allows(s.switches_this_request + 1)) {
      want = s.last_slot;
      d.status = RouteStatus::budget_held;
    }
    if (!first && want != s.last_slot) {
      try {
        d.barrier = order_after_previous(s, want);
        d.switched = true;
        if (charged) ++s.switches_this_request;
      } catch (const std::exception& e) {  // eclip::Error from the backend, or e.g. bad_alloc
        want = s.last_slot;
        d.status = RouteStatus::backend_error;
        std::lock_guard lock(s.error_mutex);
        s.last_error = e.what();
      }
    }
    d.slot = want;
    d.stream = s.streams[want];
    s.last_slot = want;
    count(s, d);
    if (observer_) observer_->on_route(w, d);
    return d;
  }

  RouterCounters counters(unsigned w) const {
    const WorkerState& s = state(w);
    return RouterCounters{s.requests.load(std::memory_order_relaxed), s.launches.load(std::memory_order_relaxed),
                          s.switches.load(std::memory_order_relaxed), s.barriers.load(std::memory_order_relaxed),
                          s.unrouted.load(std::memory_order_relaxed), s.backend_errors.load(std::memory_order_relaxed),
                          s.budget_held.load(std::memory_order_relaxed)};
  }
  RouterCounters totals() const {
    RouterCounters t;
    for (unsigned w = 0; w < workers_; ++w) {
      RouterCounters c = counters(w);
      t.requests += c.requests, t.launches += c.launches, t.switches += c.switches, t.barriers += c.barriers;
      t.unrouted += c.unrouted, t.backend_errors += c.backend_errors, t.budget_held += c.budget_held;
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
  static constexpr std::uint16_t kNoSlot = 0xffff;

  // One cache line apart per worker so concurrent workers do not false-share.
  struct alignas(64) WorkerState {
    std::vector<StreamHandle> streams;
    std::vector<std::uint16_t> slot_of_kernel;
    std::uint32_t cursor = 0;
    unsigned switches_this_request = 0;
    std::uint16_t last_slot = kNoSlot;
    std::atomic<std::uint64_t> requests{0}, launches{0}, switches{0}, barriers{0}, unrouted{0},
        backend_errors{0}, budget_held{0};
    mutable std::mutex error_mutex;
    std::string last_error;
  };

  WorkerState& state(unsigned w) { return const_cast<WorkerState&>(std::as_const(*this).state(w)); }
  const WorkerState& state(unsigned w) const {
    if (w >= workers_)
      throw Error(Errc::invalid_argument, fmt::format("KernelRouter: worker {} out of range: {} workers", w, workers_));
    return state_[w];
  }

  /// Orders the next launch on `to` after the worker's previous launch; true if a barrier was needed.
  bool order_after_previous(WorkerState& s, std::uint16_t to) {
    MarkerHandle m = backend_.record_marker(s.streams[s.last_slot]);
    bool barrier = false;
    try {
      barrier = !backend_.marker_done(m);
      if (barrier) backend_.wait_marker(s.streams[to], m);
    } catch (...) {
      backend_.release_marker(m);
      throw;
    }
    backend_.release_marker(m);
    return barrier;
  }

  // Only the worker's own thread writes its counters, so a relaxed load + store suffices (a plain
  // move on x86, where fetch_add would be a locked instruction on every launch); readers on other
  // threads see a recent value.
  static void bump(std::atomic<std::uint64_t>& c) { c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed); }
  static void count(WorkerState& s, const RouteDecision& d) {
    bump(s.launches);
    if (d.switched) bump(s.switches);
    if (d.barrier) bump(s.barriers);
    if (d.status == RouteStatus::no_plan_entry) bump(s.unrouted);
    if (d.status == RouteStatus::backend_error) bump(s.backend_errors);
    if (d.status == RouteStatus::budget_held) bump(s.budget_held);
  }

  Backend& backend_;
  SwitchBudget budget_;
  Observer* observer_;
  unsigned workers_;
  std::unique_ptr<WorkerState[]> state_;
};

}  // namespace eclip
