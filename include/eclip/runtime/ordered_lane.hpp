#pragma once
// OrderedLane: a logical in-order sequence of GPU work whose items may sit on several physical
// streams. eclip's one ordering rule lives here; the KernelRouter (one lane per worker) and the
// transparent-mode interposer (one lane per application stream) both order through it.
//
// The rule (ECLIP): the lane's "tail" is the stream holding its latest work. Moving the lane to
// stream T != tail records a completion marker on the tail and makes T wait on it only if the
// marker has not completed yet (a barrier: an HSA barrier-AND packet on AMD, an event wait on
// CUDA, a dependency edge in the simulator); then tail = T. Work that stays on the tail is ordered
// by the stream itself and costs nothing. If a marker call fails, the lane stays where it is and
// the work goes to the old tail, where stream order alone keeps it correct. `always_wait` skips
// the completion query (the eager join right after a launch, whose marker cannot be complete).
//
// Two ways to use a lane:
//  - step(): one producer at a time (the router's contract: one thread per worker). The caller
//    issues its work on the returned stream after step() returns.
//  - enter() ... issue ... leave(): any number of threads at once (an application stream that
//    several threads launch into). Lock-free when the work stays on the tail.
//
// Why enter/leave keeps one order without a lock on the common path. The lane counts the issues
// in flight (`inflight_`) and has a `switching_` flag.
//  - Fast path (to == tail): increment inflight, then read switching and tail (all seq_cst). If no
//    switch is in progress and tail == to, issue on `to`; leave() decrements inflight.
//  - Slow path (a move, or a switch in progress): take the lane's mutex, set switching, wait
//    until inflight is 0, then move (marker on the old tail, wait if incomplete), publish the new
//    tail, count its own issue in inflight, clear switching, unlock; issue; leave().
//  Dekker's argument on (inflight, switching): a fast-path thread and a switcher each write their
//  variable before reading the other's, so at least one sees the other. Either the fast thread sees
//  the switch and backs off to the slow path, or the switcher sees the fast thread in flight and
//  waits until its issue call has returned (the release in leave() pairs with the switcher's
//  acquire), so the marker the switcher records on the old tail is enqueued after that issue and
//  covers it. Hence every issue in flight is on the current tail, and every move's marker covers
//  all earlier issues: the lane's work forms one chain (no two items overlap, and work issued
//  after two concurrent calls return is ordered after both), as on a single stream. The wait is
//  bounded by one issue call (a kernel launch or a stream operation), and new arrivals queue on
//  the mutex rather than on the spin. The thread that holds a lane must not enter it again before
//  leave() (it would wait for itself).
#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <string>
#include <thread>

#include "eclip/runtime/backend.hpp"

namespace eclip {

/// What one step of a lane did.
struct LaneStep {
  StreamHandle stream;    ///< where to issue the work
  bool switched = false;  ///< the tail moved to `stream`
  bool barrier = false;   ///< ... and the old tail's work had not completed, so `stream` waits on it
  bool failed = false;    ///< a marker call failed: `stream` is the old tail (order kept by the stream)
};

class OrderedLane {
 public:
  /// A lane with no work yet: its first step goes anywhere without ordering (the router's lanes).
  OrderedLane() = default;
  /// A lane whose work so far is on `home` (the interposer: the application's own stream).
  explicit OrderedLane(StreamHandle home) : home_(home), tail_(home.value), started_(true) {}
  OrderedLane(const OrderedLane&) = delete;
  OrderedLane& operator=(const OrderedLane&) = delete;

  StreamHandle home() const noexcept { return home_; }
  /// The stream holding the lane's latest work (a snapshot when other threads use the lane).
  StreamHandle tail() const noexcept { return StreamHandle{tail_.load(std::memory_order_acquire)}; }
  bool started() const noexcept { return started_.load(std::memory_order_acquire); }

  /// The rule itself: makes `to` wait for everything enqueued on `from` so far, unless that has
  /// already completed (skipped only when `always_wait` is false). True if a wait was enqueued.
  /// Throws what the backend throws; the marker is released either way.
  static bool order(Backend& backend, StreamHandle from, StreamHandle to, bool always_wait = false) {
    const MarkerHandle m = backend.record_marker(from);
    bool wait = always_wait;
    try {
      if (!wait) wait = !backend.marker_done(m);
      if (wait) backend.wait_marker(to, m);
    } catch (...) {
      backend.release_marker(m);
      throw;
    }
    backend.release_marker(m);
    return wait;
  }

  /// One producer at a time: moves the lane to `to` (see the rule). On a backend failure the step
  /// stays on the old tail, and `*error` (if given) receives the backend's message.
  LaneStep step(Backend& backend, StreamHandle to, std::string* error = nullptr, bool always_wait = false) noexcept {
    return move(backend, to, error, always_wait);
  }

  /// Shared by threads: the stream to issue on; call leave() once the work is issued (or the
  /// attempt failed). Lock-free when `to` is the tail and no move is in progress.
  LaneStep enter(Backend& backend, StreamHandle to, std::string* error = nullptr, bool always_wait = false) noexcept {
    inflight_.fetch_add(1, std::memory_order_seq_cst);
    if (!switching_.load(std::memory_order_seq_cst) && tail_.load(std::memory_order_seq_cst) == to.value &&
        started_.load(std::memory_order_relaxed))
      return LaneStep{to};
    inflight_.fetch_sub(1, std::memory_order_seq_cst);
    std::lock_guard lock(mutex_);
    switching_.store(true, std::memory_order_seq_cst);
    while (inflight_.load(std::memory_order_seq_cst) != 0) std::this_thread::yield();
    const LaneStep s = move(backend, to, error, always_wait);
    inflight_.fetch_add(1, std::memory_order_seq_cst);  // our own issue: the next switcher waits for it
    switching_.store(false, std::memory_order_seq_cst);
    return s;
  }
  /// The work of the matching enter() has been issued (or was not: either way the lane is free).
  void leave() noexcept { inflight_.fetch_sub(1, std::memory_order_release); }

 private:
  LaneStep move(Backend& backend, StreamHandle to, std::string* error, bool always_wait) noexcept {
    if (!started_.load(std::memory_order_relaxed)) {
      tail_.store(to.value, std::memory_order_release);
      started_.store(true, std::memory_order_release);
      return LaneStep{to};
    }
    const StreamHandle from{tail_.load(std::memory_order_relaxed)};
    if (from == to) return LaneStep{to};
    LaneStep s{to, true, false, false};
    try {
      s.barrier = order(backend, from, to, always_wait);
    } catch (const std::exception& e) {  // eclip::Error from the backend, or e.g. bad_alloc
      if (error) try {
          *error = e.what();
        } catch (...) {
        }
      return LaneStep{from, false, false, true};
    } catch (...) {
      return LaneStep{from, false, false, true};
    }
    tail_.store(to.value, std::memory_order_release);
    return s;
  }

  StreamHandle home_{};
  std::atomic<std::uint64_t> tail_{0};
  std::atomic<bool> started_{false};
  std::atomic<bool> switching_{false};
  std::atomic<std::uint32_t> inflight_{0};
  std::mutex mutex_;
};

}  // namespace eclip
