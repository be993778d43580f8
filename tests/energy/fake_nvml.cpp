// libfake_nvml.so: a stand-in NVML with one device, "Stand-in GPU", whose total-energy counter
// reads 1234500 mJ and whose power reads 250000 mW. With FAKE_NVML_NO_ENERGY set, the energy
// counter is "not supported" (NVML_ERROR_NOT_SUPPORTED, 3), as on a pre-Volta GPU. The test loads
// it in place of libnvidia-ml.so.1, so the working-NVML path is checked on machines without one.
#include <cstdlib>
#include <cstring>

// NVML's prototypes, as nvml.h declares them (an opaque device type at global scope), so that a
// caller through a correctly typed pointer calls a function of exactly that type (clang's UBSan
// -fsanitize=function checks it).
struct nvmlDevice_st {
  int unused;
};

namespace {
nvmlDevice_st g_device{};  // the one device's handle points here
constexpr int kSuccess = 0, kInvalidArgument = 2, kNotSupported = 3;
}  // namespace

#define FAKE_NVML_EXPORT extern "C" __attribute__((visibility("default")))

FAKE_NVML_EXPORT int nvmlInit_v2() { return kSuccess; }
FAKE_NVML_EXPORT int nvmlShutdown() { return kSuccess; }
FAKE_NVML_EXPORT const char* nvmlErrorString(int rc) {
  return rc == kNotSupported ? "Not Supported" : rc == kInvalidArgument ? "Invalid Argument" : "Stand-in error";
}
FAKE_NVML_EXPORT int nvmlDeviceGetCount_v2(unsigned* n) {
  *n = 1;
  return kSuccess;
}
FAKE_NVML_EXPORT int nvmlDeviceGetHandleByIndex_v2(unsigned index, nvmlDevice_st** device) {
  if (index != 0) return kInvalidArgument;
  *device = &g_device;
  return kSuccess;
}
FAKE_NVML_EXPORT int nvmlDeviceGetName(nvmlDevice_st* device, char* name, unsigned length) {
  if (device != &g_device || length < 16) return kInvalidArgument;
  std::strcpy(name, "Stand-in GPU");
  return kSuccess;
}
FAKE_NVML_EXPORT int nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_st* device, unsigned long long* mj) {
  if (device != &g_device) return kInvalidArgument;
  if (std::getenv("FAKE_NVML_NO_ENERGY")) return kNotSupported;
  *mj = 1234500;
  return kSuccess;
}
FAKE_NVML_EXPORT int nvmlDeviceGetPowerUsage(nvmlDevice_st* device, unsigned* mw) {
  if (device != &g_device) return kInvalidArgument;
  *mw = 250000;
  return kSuccess;
}
