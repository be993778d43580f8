#pragma once
// Observer: receives every routing decision, so tracing and counting are plug-ins rather than
// prints in the router (Taskflow's observer.hpp is the model).
#include <cstdint>
#include <memory>
#include <vector>

#include "eclip/runtime/backend.hpp"

namespace eclip {

enum class RouteStatus : std::uint8_t {
  routed,         ///< went to the plan's partition
  no_plan_entry,  ///< the plan has no entry for this kernel: ran on the worker's fallback stream
  backend_error,  ///< a marker/barrier call failed: ran on the previous stream, order kept
  budget_held,    ///< the online switch budget was spent: stayed on the current partition
};

inline const char* to_string(RouteStatus s) {
  switch (s) {
    case RouteStatus::routed: return "routed";
    case RouteStatus::no_plan_entry: return "no_plan_entry";
    case RouteStatus::backend_error: return "backend_error";
    case RouteStatus::budget_held: return "budget_held";
  }
  return "?";
}

struct RouteDecision {
  StreamHandle stream;           ///< where to launch
  std::uint32_t kernel = 0;      ///< position in the worker's current request
  std::uint16_t slot = 0;        ///< pool slot of `stream` (0 = fallback)
  bool switched = false;         ///< the previous launch went to another stream
  bool barrier = false;          ///< ... and had not completed, so a barrier was inserted
  RouteStatus status = RouteStatus::routed;
};

/// Called from each worker's thread, concurrently for different workers: implementations must
/// be thread-safe across workers. Must not throw.
class Observer {
 public:
  virtual ~Observer() = default;
  virtual void on_request(unsigned /*worker*/) noexcept {}
  virtual void on_route(unsigned worker, const RouteDecision& decision) noexcept = 0;
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
