#pragma once
// The slice of the CUDA driver API the green-context backend uses, loaded at run time.
//
// Why not link libcuda: a binary linked with -lcuda (even against the toolkit's stub) cannot start
// on a machine without the NVIDIA driver ("libcuda.so.1: cannot open shared object file"), and CI
// has the toolkit but no driver. So libcuda.so.1 is dlopen()ed, cuGetProcAddress_v2 is looked up
// with dlsym, and every other entry point is fetched through it at the ABI of the headers we were
// compiled with (CUDA_VERSION), which is how the runtime itself binds the driver.
#include <string>

#include <cuda.h>

namespace eclip::cuda::detail {

// X(name): every driver function the backend calls. The stringised name is the unversioned symbol
// cuGetProcAddress expects; the member's type comes from cuda.h's declaration (decltype only, so
// nothing is linked).
#define ECLIP_CUDA_DRIVER_FUNCTIONS(X) \
  X(cuInit)                            \
  X(cuDriverGetVersion)                \
  X(cuDeviceGetCount)                  \
  X(cuDeviceGet)                       \
  X(cuDeviceGetName)                   \
  X(cuDeviceGetAttribute)              \
  X(cuDevicePrimaryCtxRetain)          \
  X(cuDevicePrimaryCtxRelease)         \
  X(cuCtxPushCurrent)                  \
  X(cuCtxPopCurrent)                   \
  X(cuCtxGetCurrent)                   \
  X(cuCtxSetCurrent)                   \
  X(cuDeviceGetDevResource)            \
  X(cuDevSmResourceSplitByCount)       \
  X(cuDevResourceGenerateDesc)         \
  X(cuGreenCtxCreate)                  \
  X(cuGreenCtxDestroy)                 \
  X(cuGreenCtxStreamCreate)            \
  X(cuCtxFromGreenCtx)                 \
  X(cuStreamCreate)                    \
  X(cuStreamDestroy)                   \
  X(cuStreamSynchronize)               \
  X(cuEventCreate)                     \
  X(cuEventDestroy)                    \
  X(cuEventRecord)                     \
  X(cuEventQuery)                      \
  X(cuStreamWaitEvent)                 \
  X(cuGraphLaunch)                     \
  X(cuLaunchKernel)

struct DriverApi {
#define ECLIP_CUDA_MEMBER(fn) decltype(&::fn) fn = nullptr;
  ECLIP_CUDA_DRIVER_FUNCTIONS(ECLIP_CUDA_MEMBER)
#undef ECLIP_CUDA_MEMBER
  decltype(&::cuGetErrorName) get_error_name = nullptr;
  decltype(&::cuGetErrorString) get_error_string = nullptr;
  std::string library;

  /// Opens `library` and resolves every function, then cuInit(0). Throws Errc::unavailable when
  /// the library cannot be opened, lacks a function (driver older than the green-context API), or
  /// cuInit reports no usable driver/device; the message names the call and the reason.
  /// When this cuInit is the one that starts the driver in the process (it was not started yet)
  /// and CUDA_DEVICE_MAX_CONNECTIONS is unset, the variable is set to `hardware_connections`
  /// first (0: never): the driver reads it when it starts, and a later setting has no effect.
  static DriverApi load(const std::string& library, unsigned hardware_connections);

  /// "CUDA_ERROR_INVALID_VALUE (invalid argument)"; the number when the name is unknown.
  std::string describe(CUresult r) const;
  /// Throws Errc::backend "<call> failed: <describe(r)>" unless r is CUDA_SUCCESS.
  void check(CUresult r, const char* call) const;
};

/// The name and string of common driver results, for when the driver cannot tell us itself.
const char* fallback_error_name(int r) noexcept;

}  // namespace eclip::cuda::detail
