#pragma once
// hsa::Signal: an owned HSA signal (RAII, move-only).
//
// Semantics eclip relies on (HSA spec 1.2, "Signals"): a signal is a 64-bit value the GPU and the
// host can read and update atomically. A completion signal starts at 1 and the packet processor
// decrements it when its packet completes, so "done" is value 0 (== value < 1). A barrier-AND
// packet waits until each of its dependency signals is 0. Example:
//   hsa::Signal done = hsa::Signal::create(1);
//   hsa::submit(queue, hsa::BarrierAnd{}.depend_on(prev.handle()).complete(done.handle()));
//   done.wait_done();  // returns once the barrier has completed
#include <cstdint>
#include <utility>

#include <hsa/hsa.h>

#include "eclip/backend/hsa/runtime.hpp"

namespace eclip::hsa {

class Signal {
 public:
  Signal() = default;
  /// hsa_signal_create(initial, 0 consumers = any agent may wait on it).
  static Signal create(hsa_signal_value_t initial = 1) {
    hsa_signal_t s{};
    check(hsa_signal_create(initial, 0, nullptr, &s), "hsa_signal_create");
    return Signal(s);
  }
  ~Signal() { reset(); }
  Signal(Signal&& o) noexcept : signal_(std::exchange(o.signal_, hsa_signal_t{})) {}
  Signal& operator=(Signal&& o) noexcept {
    if (this != &o) {
      reset();
      signal_ = std::exchange(o.signal_, hsa_signal_t{});
    }
    return *this;
  }
  Signal(const Signal&) = delete;
  Signal& operator=(const Signal&) = delete;

  hsa_signal_t handle() const noexcept { return signal_; }
  explicit operator bool() const noexcept { return signal_.handle != 0; }

  hsa_signal_value_t load() const noexcept { return hsa_signal_load_scacquire(signal_); }
  void store(hsa_signal_value_t v) noexcept { hsa_signal_store_screlease(signal_, v); }
  /// A completion signal is done once the packet processor has decremented it to 0.
  bool done() const noexcept { return load() < 1; }
  /// Waits until the value is below 1; `active` spins (lowest latency, burns a core) instead of
  /// sleeping on the signal's interrupt. Returns the value observed.
  hsa_signal_value_t wait_done(bool active = true, std::uint64_t timeout_hint = UINT64_MAX) const noexcept {
    return hsa_signal_wait_scacquire(signal_, HSA_SIGNAL_CONDITION_LT, 1, timeout_hint,
                                     active ? HSA_WAIT_STATE_ACTIVE : HSA_WAIT_STATE_BLOCKED);
  }

 private:
  explicit Signal(hsa_signal_t s) noexcept : signal_(s) {}
  void reset() noexcept {
    if (signal_.handle != 0) hsa_signal_destroy(signal_);
    signal_ = hsa_signal_t{};
  }
  hsa_signal_t signal_{};
};

}  // namespace eclip::hsa
