// rocm_smi_lib's energy counter (AMD). Built only where CMake found rocm_smi/rocm_smi.h
// (ECLIP_HAVE_ROCM_SMI); the library itself is loaded at run time.
#include <cstdint>

#include <fmt/format.h>

#include "dl.hpp"
#include "eclip/energy/energy_meter.hpp"

#ifndef ECLIP_HAVE_ROCM_SMI
#define ECLIP_HAVE_ROCM_SMI 0
#endif
#if ECLIP_HAVE_ROCM_SMI
#include <rocm_smi/rocm_smi.h>
#endif

namespace eclip {
namespace {
using energy_detail::open_library;
using energy_detail::symbol;

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

}  // namespace

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

}  // namespace eclip
