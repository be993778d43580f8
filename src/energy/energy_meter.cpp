// EnergyMeter: windows over any EnergyCounter, with the device synchronised at their edges.
// The counters live beside it (nvml_counter.cpp, rocm_smi_counter.cpp, sim_counter.cpp).
#include "eclip/energy/energy_meter.hpp"

#include <chrono>
#include <cmath>
#include <cstdint>
#include <thread>

#include <fmt/format.h>

#include "eclip/core/error.hpp"

namespace eclip {
namespace {

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

EnergyMeter::EnergyMeter(std::unique_ptr<EnergyCounter> counter, EnergyMeterOptions options, Clock clock, Sleep sleep)
    : counter_(std::move(counter)), clock_(std::move(clock)), sleep_(std::move(sleep)) {
  if (!counter_) throw Error(Errc::invalid_argument, "EnergyMeter: no counter");
  set_options(options);
  if (!clock_) clock_ = steady_seconds;
  if (!sleep_) sleep_ = [](double s) { std::this_thread::sleep_for(std::chrono::duration<double>(std::max(0.0, s))); };
}

void EnergyMeter::set_options(const EnergyMeterOptions& o) {
  if (!(o.poll_s > 0) || !std::isfinite(o.poll_s))
    throw Error(Errc::invalid_argument, fmt::format("EnergyMeter: poll interval {} s must be > 0", o.poll_s));
  if (!(o.align_timeout_s >= 0) || !std::isfinite(o.align_timeout_s))
    throw Error(Errc::invalid_argument, fmt::format("EnergyMeter: align timeout {} s must be >= 0", o.align_timeout_s));
  opts_ = o;
}

EnergyMeter::Edge EnergyMeter::take_edge() {
  const double t0 = clock_();
  const double j0 = counter_->energy_j();
  if (!opts_.align_to_updates) return Edge{t0, j0, 0, false};
  // Wait for the counter's next update: its moment is the edge, and the joules up to it are in.
  for (;;) {
    sleep_(opts_.poll_s);
    const double j = counter_->energy_j();
    const double t = clock_();
    if (j != j0) return Edge{t, j, t - t0, true};
    if (t - t0 >= opts_.align_timeout_s) return Edge{t, j, t - t0, false};
  }
}

void EnergyMeter::begin(const SyncHook& sync) {
  if (open_) throw Error(Errc::invalid_argument, "EnergyMeter::begin: a window is already open (call end() first)");
  if (sync) sync();
  start_ = take_edge();
  open_ = true;
}

EnergyWindow EnergyMeter::end(const SyncHook& sync) {
  if (!open_) throw Error(Errc::invalid_argument, "EnergyMeter::end: no window is open (call begin() first)");
  if (sync) sync();
  const Edge e = take_edge();
  // The window stays open until its end edge is read: a failed hook or read can be retried.
  open_ = false;
  if (e.j < start_.j)
    throw Error(Errc::backend, fmt::format("EnergyMeter: the energy counter went backwards ({} J -> {} J: driver "
                                           "reset?); the window is invalid", start_.j, e.j));
  EnergyWindow w;
  w.seconds = e.t - start_.t;
  w.joules = e.j - start_.j;
  w.avg_power_w = w.seconds > 0 ? w.joules / w.seconds : 0;
  w.start_j = start_.j;
  w.end_j = e.j;
  w.edge_wait_s = start_.waited + e.waited;
  w.aligned = start_.aligned && e.aligned;
  return w;
}

EnergyWindow EnergyMeter::idle(double seconds, const SyncHook& sync) {
  if (!(seconds >= 0) || !std::isfinite(seconds))
    throw Error(Errc::invalid_argument, fmt::format("EnergyMeter::idle: {} s must be >= 0", seconds));
  begin(sync);
  sleep_(seconds);
  return end(sync);
}

}  // namespace eclip
