#pragma once
// Observer: receives every routing decision, so tracing and counting are plug-ins rather than
// prints in the router (Taskflow's observer.hpp is the model). The library's KernelRouter, the
// transparent-mode interposer and the simulator all report through it (TraceObserver writes a
// Perfetto trace from it).
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "eclip/runtime/backend.hpp"

namespace eclip {

enum class RouteStatus : std::uint8_t {
  routed,         ///< went to the plan's partition
  no_plan_entry,  ///< the plan has no entry for this kernel: ran on the worker's fallback stream
  backend_error,  ///< a marker/barrier call failed: ran on the previous stream, order kept
  budget_held,    ///< the online switch budget was spent: stayed on the current partition
  captured,       ///< issued into a stream being captured into a graph: passed through unrouted
};

inline const char* to_string(RouteStatus s) {
  switch (s) {
    case RouteStatus::routed: return "routed";
    case RouteStatus::no_plan_entry: return "no_plan_entry";
    case RouteStatus::backend_error: return "backend_error";
    case RouteStatus::budget_held: return "budget_held";
    case RouteStatus::captured: return "captured";
  }
  return "?";
}

struct RouteDecision {
  static constexpr std::uint32_t kNoPosition = 0xffffffffU;

  StreamHandle stream;           ///< where to launch
  std::uint32_t kernel = 0;      ///< position in the worker's current request (kNoPosition: none)
  std::uint16_t slot = 0;        ///< pool slot of `stream` (0 = fallback / the lane's home)
  bool switched = false;         ///< the previous launch went to another stream
  bool barrier = false;          ///< ... and had not completed, so a barrier was inserted
  RouteStatus status = RouteStatus::routed;
  std::uint32_t units = 0;       ///< compute units of the partition launched on (0: unknown)
  std::uint64_t request = 0;     ///< the worker's request number, 1 = first (0: none begun)
  StreamHandle lane;             ///< the lane's home stream (route_on: the application's stream)
  const char* name = nullptr;    ///< the kernel's name when the caller knows it (valid during the call)
  const char* entry = nullptr;   ///< the API entry point it came through, when known (ditto)
};

/// Called from the routing threads, concurrently for different workers (and, through
/// KernelRouter::route_on, for threads sharing a worker): implementations must be thread-safe.
/// Must not throw.
class Observer {
 public:
  virtual ~Observer() = default;
  virtual void on_request(unsigned /*worker*/) noexcept {}
  virtual void on_route(unsigned worker, const RouteDecision& decision) noexcept = 0;
  /// A non-kernel operation on `lane` made the lane come home first (KernelRouter::join_on).
  virtual void on_join(unsigned /*worker*/, StreamHandle /*lane*/, bool /*barrier*/) noexcept {}
  /// A run begins (the simulator: one strategy on one mix): the events that follow belong to
  /// `name`, and `clock_us` (may be empty: host time) gives their time in microseconds. Valid
  /// until on_run_end().
  virtual void on_run_begin(std::string_view /*name*/, std::function<double()> /*clock_us*/) noexcept {}
  virtual void on_run_end() noexcept {}
};

/// Records every decision, one log per worker (each written only by its worker's thread, so no
/// lock is needed while routing). Read it after the workers have stopped.
class RouteLog final : public Observer {
 public:
  explicit RouteLog(unsigned workers) : logs_(workers) {}
  void on_route(unsigned worker, const RouteDecision& d) noexcept override {
    if (worker < logs_.size()) logs_[worker].push_back(d);
  }
  const std::vector<RouteDecision>& worker(unsigned w) const { return logs_.at(w); }

 private:
  std::vector<std::vector<RouteDecision>> logs_;
};

}  // namespace eclip
