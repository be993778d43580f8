#pragma once
// Energy measurement: a device's cumulative energy counter, read at the edges of a window.
//
// Sources (each an EnergyCounter):
// - NVIDIA: NVML's nvmlDeviceGetTotalEnergyConsumption (millijoules since the driver loaded,
//   Volta and later), loaded at run time from libnvidia-ml.so.1 (no NVML header or link needed);
//   nvmlDeviceGetPowerUsage for the instantaneous draw.
// - AMD: rocm_smi_lib's rsmi_dev_energy_count_get (counter x resolution in microjoules), loaded at
//   run time from librocm_smi64.so.1; compiled in only where rocm_smi/rocm_smi.h was found at build
//   time (rocm_smi_built()).
// - The simulator: SimDevice::energy_j(), with the simulated clock (sim_meter()).
// A source that cannot be used throws Error(Errc::unavailable) naming the reason, e.g.
// "nvml: dlopen libnvidia-ml.so.1: libnvidia-ml.so.1: cannot open shared object file: ...".
//
// Windows (EnergyMeter): begin() and end() each call the caller's device-synchronise hook first, so
// the window holds exactly the work submitted inside it, then read the counter and the clock. The
// NVML counter only moves every 20-100 ms (docs/hardware.md: ~12 distinct values per second on the H100), so
// by default each edge also waits for the counter's next update and takes that moment as the edge:
// the joules then belong to exactly the window's seconds (the device is idle while an edge waits,
// since the hook has synchronised it). idle() measures idle power the same way over a window with
// nothing launched: report it beside every result.
//
//   eclip::EnergyMeter meter(eclip::open_nvml_counter());
//   meter.begin([] { cudaDeviceSynchronize(); });
//   ... run the workload ...
//   eclip::EnergyWindow w = meter.end([] { cudaDeviceSynchronize(); });   // w.joules, w.seconds
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace eclip {

class SimDevice;

/// A monotone cumulative energy counter of one device.
class EnergyCounter {
 public:
  virtual ~EnergyCounter() = default;
  /// "nvml", "rocm_smi", "sim", or a test's own name.
  virtual std::string_view kind() const noexcept = 0;
  /// The device as the source names it (e.g. "NVIDIA H100 80GB HBM3").
  virtual std::string device() const = 0;
  /// Joules since an arbitrary origin. Throws Error(Errc::backend) naming the call on failure.
  virtual double energy_j() = 0;
  /// Current power draw in watts, where the source has one.
  virtual std::optional<double> power_w() { return std::nullopt; }
};

struct NvmlOptions {
  unsigned index = 0;                       ///< NVML device index (not always the CUDA ordinal)
  std::string library = "libnvidia-ml.so.1";
};
/// Throws Error(Errc::unavailable) naming the reason: no library, a library without the symbols,
/// nvmlInit_v2 failing, no such device, or a device without an energy counter.
std::unique_ptr<EnergyCounter> open_nvml_counter(const NvmlOptions& options = {});

struct RocmSmiOptions {
  unsigned index = 0;
  std::string library = "librocm_smi64.so.1";
};
/// Whether this build has the rocm_smi_lib source (rocm_smi/rocm_smi.h was found at build time).
bool rocm_smi_built() noexcept;
/// Throws Error(Errc::unavailable) naming the reason (not built, no library, rsmi_init failing,
/// no such device, no energy counter).
std::unique_ptr<EnergyCounter> open_rocm_smi_counter(const RocmSmiOptions& options = {});

/// One measured window.
struct EnergyWindow {
  double seconds = 0;       ///< between the two edges
  double joules = 0;        ///< counter difference
  double avg_power_w = 0;   ///< joules / seconds (0 for an empty window)
  double start_j = 0, end_j = 0;  ///< raw counter at the edges
  double edge_wait_s = 0;   ///< time both edges spent waiting for a counter update
  bool aligned = false;     ///< both edges fell on counter updates
};

struct EnergyMeterOptions {
  /// Wait at each edge for the counter's next update and take that moment as the edge.
  bool align_to_updates = true;
  double poll_s = 0.0005;        ///< counter polling interval while an edge waits
  double align_timeout_s = 0.5;  ///< give up waiting (then the edge is unaligned)
};

/// Windowed energy measurement over one EnergyCounter. Not thread-safe: one thread measures.
class EnergyMeter {
 public:
  using SyncHook = std::function<void()>;
  using Clock = std::function<double()>;     ///< monotone seconds
  using Sleep = std::function<void(double)>; ///< lets (real or simulated) seconds pass

  /// Defaults: std::chrono::steady_clock and std::this_thread::sleep_for.
  explicit EnergyMeter(std::unique_ptr<EnergyCounter> counter, EnergyMeterOptions options = {}, Clock clock = {},
                       Sleep sleep = {});

  EnergyCounter& counter() noexcept { return *counter_; }
  const EnergyMeterOptions& options() const noexcept { return opts_; }
  void set_options(const EnergyMeterOptions& o);
  double now() const { return clock_(); }

  /// Runs `sync` (the device-synchronise hook; may be empty), then takes the start edge.
  /// Throws Errc::invalid_argument when a window is already open.
  void begin(const SyncHook& sync = {});
  /// Runs `sync`, takes the end edge and closes the window. Throws Errc::invalid_argument when no
  /// window is open.
  EnergyWindow end(const SyncHook& sync = {});
  bool in_window() const noexcept { return open_; }
  /// Idle power: `sync`, then a window of about `seconds` in which the caller launches nothing.
  EnergyWindow idle(double seconds, const SyncHook& sync = {});

 private:
  struct Edge {
    double t = 0, j = 0, waited = 0;
    bool aligned = false;
  };
  Edge take_edge();

  std::unique_ptr<EnergyCounter> counter_;
  EnergyMeterOptions opts_;
  Clock clock_;
  Sleep sleep_;
  bool open_ = false;
  Edge start_;
};

/// The simulator's counter (SimDevice::energy_j()); `device` must outlive it.
std::unique_ptr<EnergyCounter> sim_counter(const SimDevice& device);
/// A meter on the simulator: its counter, its clock (simulated time) and its sleep (advancing the
/// simulated device), without alignment (the model integrates energy exactly).
EnergyMeter sim_meter(SimDevice& device);

}  // namespace eclip
