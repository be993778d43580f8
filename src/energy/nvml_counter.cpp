// NVML's cumulative energy counter (nvmlDeviceGetTotalEnergyConsumption), libnvidia-ml.so.1 loaded
// at run time: no NVML header is installed with the CUDA toolkit here, and eclip must run without it.
#include <cstdint>

#include <fmt/format.h>

#include "dl.hpp"
#include "eclip/energy/energy_meter.hpp"

// NVML's opaque device type, declared at global scope as nvml.h does: a pointer to a function
// taking it has the type of NVML's own functions.
struct nvmlDevice_st;

namespace eclip {
namespace {
using energy_detail::open_library;
using energy_detail::symbol;

// ---- NVML --------------------------------------------------------------------------------------
// The few prototypes we need (nvml.h, NVML API version 2): nvmlReturn_t is an int enum, 0 = success;
// nvmlDevice_t an opaque pointer.
using nvmlReturn_t = int;
using nvmlDevice_t = ::nvmlDevice_st*;
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


}  // namespace

std::unique_ptr<EnergyCounter> open_nvml_counter(const NvmlOptions& options) {
  return std::make_unique<NvmlCounter>(options);
}

}  // namespace eclip
