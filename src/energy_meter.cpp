// Energy counters (NVML, rocm_smi_lib, the simulator) and the windowed EnergyMeter.
// NVML and rocm_smi_lib are loaded at run time with dlopen, so a binary built here starts on a
// machine without either driver and reports Errc::unavailable with the reason.
#include "eclip/energy_meter.hpp"

#include <dlfcn.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <thread>

#include <fmt/format.h>

#include "eclip/backend/sim.hpp"
#include "eclip/error.hpp"

#if defined(__has_include)
#if __has_include(<rocm_smi/rocm_smi.h>)
#include <rocm_smi/rocm_smi.h>
#define ECLIP_HAVE_ROCM_SMI 1
#endif
#endif
#ifndef ECLIP_HAVE_ROCM_SMI
#define ECLIP_HAVE_ROCM_SMI 0
#endif

namespace eclip {
namespace {

/// dlopen with the reason in the error; the handle is kept for the process (never dlclosed: the
/// vendor libraries start threads that must not outlive their code).
void* open_library(const std::string& source, const std::string& library) {
  dlerror();
  void* lib = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char* why = dlerror();
    throw Error(Errc::unavailable, fmt::format("{}: dlopen {}: {}", source, library, why ? why : "unknown error"));
  }
  return lib;
}

template <class F>
F symbol(void* lib, const std::string& source, const std::string& library, const char* name) {
  dlerror();
  void* p = dlsym(lib, name);
  if (!p)
    throw Error(Errc::unavailable, fmt::format("{}: {} has no {} (not the vendor's library, or too old)", source,
                                               library, name));
  return reinterpret_cast<F>(p);
}

// ---- NVML --------------------------------------------------------------------------------------
// The few prototypes we need (nvml.h, NVML API version 2): nvmlReturn_t is an int enum, 0 = success;
// nvmlDevice_t an opaque pointer.
using nvmlReturn_t = int;
using nvmlDevice_t = struct nvmlDevice_st*;
constexpr nvmlReturn_t kNvmlSuccess = 0;
constexpr nvmlReturn_t kNvmlErrorNotSupported = 3;

struct NvmlApi {
  nvmlReturn_t (*init)();                                          // nvmlInit_v2
  nvmlReturn_t (*shutdown)();                                      // nvmlShutdown
  const char* (*error_string)(nvmlReturn_t);                       // nvmlErrorString
  nvmlReturn_t (*count)(unsigned*);                                // nvmlDeviceGetCount_v2
  nvmlReturn_t (*handle)(unsigned, nvmlDevice_t*);                 // nvmlDeviceGetHandleByIndex_v2
  nvmlReturn_t (*name)(nvmlDevice_t, char*, unsigned);             // nvmlDeviceGetName
  nvmlReturn_t (*energy)(nvmlDevice_t, unsigned long long*);       // nvmlDeviceGetTotalEnergyConsumption, mJ
  nvmlReturn_t (*power)(nvmlDevice_t, unsigned*);                  // nvmlDeviceGetPowerUsage, mW
};

class NvmlCounter final : public EnergyCounter {
 public:
  explicit NvmlCounter(const NvmlOptions& o) {
    const std::string src = "nvml";
    void* lib = open_library(src, o.library);
    api_.init = symbol<decltype(api_.init)>(lib, src, o.library, "nvmlInit_v2");
    api_.shutdown = symbol<decltype(api_.shutdown)>(lib, src, o.library, "nvmlShutdown");
    api_.error_string = symbol<decltype(api_.error_string)>(lib, src, o.library, "nvmlErrorString");
    api_.count = symbol<decltype(api_.count)>(lib, src, o.library, "nvmlDeviceGetCount_v2");
    api_.handle = symbol<decltype(api_.handle)>(lib, src, o.library, "nvmlDeviceGetHandleByIndex_v2");
    api_.name = symbol<decltype(api_.name)>(lib, src, o.library, "nvmlDeviceGetName");
    api_.energy = symbol<decltype(api_.energy)>(lib, src, o.library, "nvmlDeviceGetTotalEnergyConsumption");
    api_.power = symbol<decltype(api_.power)>(lib, src, o.library, "nvmlDeviceGetPowerUsage");
    if (nvmlReturn_t rc = api_.init(); rc != kNvmlSuccess)
      throw Error(Errc::unavailable, fmt::format("nvml: nvmlInit_v2 failed: {}", why(rc)));
    try {
      unsigned n = 0;
      if (nvmlReturn_t rc = api_.count(&n); rc != kNvmlSuccess)
        throw Error(Errc::unavailable, fmt::format("nvml: nvmlDeviceGetCount_v2 failed: {}", why(rc)));
      if (o.index >= n)
        throw Error(Errc::unavailable, fmt::format("nvml: device {} out of range: NVML reports {} device(s)", o.index, n));
      if (nvmlReturn_t rc = api_.handle(o.index, &dev_); rc != kNvmlSuccess)
        throw Error(Errc::unavailable,
                    fmt::format("nvml: nvmlDeviceGetHandleByIndex_v2({}) failed: {}", o.index, why(rc)));
      char buf[96] = {};
      if (api_.name(dev_, buf, sizeof buf) == kNvmlSuccess) name_ = buf;
      unsigned long long mj = 0;
      if (nvmlReturn_t rc = api_.energy(dev_, &mj); rc != kNvmlSuccess)
        throw Error(Errc::unavailable,
                    fmt::format("nvml: device {} ({}) has no total-energy counter: nvmlDeviceGetTotalEnergyConsumption: "
                                "{}{}",
                                o.index, name_, why(rc), rc == kNvmlErrorNotSupported ? " (needs Volta or newer)" : ""));
    } catch (...) {
      api_.shutdown();
      throw;
    }
  }
  ~NvmlCounter() override { api_.shutdown(); }

  std::string_view kind() const noexcept override { return "nvml"; }
  std::string device() const override { return name_; }
  double energy_j() override {
    unsigned long long mj = 0;
    if (nvmlReturn_t rc = api_.energy(dev_, &mj); rc != kNvmlSuccess)
      throw Error(Errc::backend, fmt::format("nvml: nvmlDeviceGetTotalEnergyConsumption failed: {}", why(rc)));
    return static_cast<double>(mj) * 1e-3;
  }
  std::optional<double> power_w() override {
    unsigned mw = 0;
    if (api_.power(dev_, &mw) != kNvmlSuccess) return std::nullopt;
    return mw * 1e-3;
  }

 private:
  std::string why(nvmlReturn_t rc) const {
    const char* s = api_.error_string ? api_.error_string(rc) : nullptr;
    return fmt::format("{} (NVML error {})", s ? s : "?", rc);
  }
  NvmlApi api_{};
  nvmlDevice_t dev_ = nullptr;
  std::string name_;
};

// ---- rocm_smi_lib ------------------------------------------------------------------------------
#if ECLIP_HAVE_ROCM_SMI
class RocmSmiCounter final : public EnergyCounter {
 public:
  explicit RocmSmiCounter(const RocmSmiOptions& o) : index_(o.index) {
    const std::string src = "rocm_smi";
    void* lib = nullptr;
    try {
      lib = open_library(src, o.library);
    } catch (const Error&) {
      if (o.library != "librocm_smi64.so.1") throw;
      lib = open_library(src, "librocm_smi64.so");  // the -dev package's name
    }
    init_ = symbol<decltype(&rsmi_init)>(lib, src, o.library, "rsmi_init");
    shutdown_ = symbol<decltype(&rsmi_shut_down)>(lib, src, o.library, "rsmi_shut_down");
    status_string_ = symbol<decltype(&rsmi_status_string)>(lib, src, o.library, "rsmi_status_string");
    num_ = symbol<decltype(&rsmi_num_monitor_devices)>(lib, src, o.library, "rsmi_num_monitor_devices");
    energy_ = symbol<decltype(&rsmi_dev_energy_count_get)>(lib, src, o.library, "rsmi_dev_energy_count_get");
    power_ = symbol<decltype(&rsmi_dev_power_ave_get)>(lib, src, o.library, "rsmi_dev_power_ave_get");
    name_fn_ = symbol<decltype(&rsmi_dev_name_get)>(lib, src, o.library, "rsmi_dev_name_get");
    if (rsmi_status_t rc = init_(0); rc != RSMI_STATUS_SUCCESS)
      throw Error(Errc::unavailable, fmt::format("rocm_smi: rsmi_init failed: {}", why(rc)));
    try {
      uint32_t n = 0;
      if (rsmi_status_t rc = num_(&n); rc != RSMI_STATUS_SUCCESS)
        throw Error(Errc::unavailable, fmt::format("rocm_smi: rsmi_num_monitor_devices failed: {}", why(rc)));
      if (index_ >= n)
        throw Error(Errc::unavailable,
                    fmt::format("rocm_smi: device {} out of range: rocm_smi reports {} device(s)", index_, n));
      char buf[96] = {};
      if (name_fn_(index_, buf, sizeof buf) == RSMI_STATUS_SUCCESS) name_ = buf;
      uint64_t c = 0, ts = 0;
      float res = 0;
      if (rsmi_status_t rc = energy_(index_, &c, &res, &ts); rc != RSMI_STATUS_SUCCESS)
        throw Error(Errc::unavailable, fmt::format("rocm_smi: device {} ({}) has no energy counter: "
                                                   "rsmi_dev_energy_count_get: {}",
                                                   index_, name_, why(rc)));
    } catch (...) {
      shutdown_();
      throw;
    }
  }
  ~RocmSmiCounter() override { shutdown_(); }

  std::string_view kind() const noexcept override { return "rocm_smi"; }
  std::string device() const override { return name_; }
  double energy_j() override {
    uint64_t c = 0, ts = 0;
    float res = 0;
    if (rsmi_status_t rc = energy_(index_, &c, &res, &ts); rc != RSMI_STATUS_SUCCESS)
      throw Error(Errc::backend, fmt::format("rocm_smi: rsmi_dev_energy_count_get failed: {}", why(rc)));
    return static_cast<double>(c) * static_cast<double>(res) * 1e-6;  // resolution in microjoules
  }
  std::optional<double> power_w() override {
    uint64_t uw = 0;
    if (power_(index_, 0, &uw) != RSMI_STATUS_SUCCESS) return std::nullopt;
    return static_cast<double>(uw) * 1e-6;
  }

 private:
  std::string why(rsmi_status_t rc) const {
    const char* s = nullptr;
    if (status_string_) status_string_(rc, &s);
    return fmt::format("{} (status {})", s ? s : "?", static_cast<int>(rc));
  }
  uint32_t index_;
  decltype(&rsmi_init) init_ = nullptr;
  decltype(&rsmi_shut_down) shutdown_ = nullptr;
  decltype(&rsmi_status_string) status_string_ = nullptr;
  decltype(&rsmi_num_monitor_devices) num_ = nullptr;
  decltype(&rsmi_dev_energy_count_get) energy_ = nullptr;
  decltype(&rsmi_dev_power_ave_get) power_ = nullptr;
  decltype(&rsmi_dev_name_get) name_fn_ = nullptr;
  std::string name_;
};
#endif

// ---- the simulator -----------------------------------------------------------------------------
class SimCounter final : public EnergyCounter {
 public:
  explicit SimCounter(const SimDevice& d) : dev_(d) {}
  std::string_view kind() const noexcept override { return "sim"; }
  std::string device() const override { return "simulated " + dev_.topology().name; }
  double energy_j() override { return dev_.energy_j(); }

 private:
  const SimDevice& dev_;
};

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

std::unique_ptr<EnergyCounter> open_nvml_counter(const NvmlOptions& options) {
  return std::make_unique<NvmlCounter>(options);
}

bool rocm_smi_built() noexcept { return ECLIP_HAVE_ROCM_SMI != 0; }

std::unique_ptr<EnergyCounter> open_rocm_smi_counter(const RocmSmiOptions& options) {
#if ECLIP_HAVE_ROCM_SMI
  return std::make_unique<RocmSmiCounter>(options);
#else
  (void)options;
  throw Error(Errc::unavailable,
              "rocm_smi: not built into this eclip (rocm_smi/rocm_smi.h was not found at build time; install "
              "librocm-smi-dev and rebuild)");
#endif
}

std::unique_ptr<EnergyCounter> sim_counter(const SimDevice& device) { return std::make_unique<SimCounter>(device); }

EnergyMeter sim_meter(SimDevice& device) {
  EnergyMeterOptions o;
  o.align_to_updates = false;
  SimDevice* d = &device;
  return EnergyMeter(sim_counter(device), o, [d] { return d->now_us() * 1e-6; },
                     [d](double s) { d->advance_to(d->now_us() + std::max(0.0, s) * 1e6); });
}

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
