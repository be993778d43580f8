#include "driver_api.hpp"

#include <dlfcn.h>

#include <cstdlib>

#include <fmt/format.h>

#include "eclip/core/error.hpp"

namespace eclip::cuda::detail {

const char* fallback_error_name(int r) noexcept {
  switch (r) {
    case 0: return "CUDA_SUCCESS";
    case 1: return "CUDA_ERROR_INVALID_VALUE";
    case 2: return "CUDA_ERROR_OUT_OF_MEMORY";
    case 3: return "CUDA_ERROR_NOT_INITIALIZED";
    case 4: return "CUDA_ERROR_DEINITIALIZED";
    case 34: return "CUDA_ERROR_STUB_LIBRARY";
    case 35: return "CUDA_ERROR_INSUFFICIENT_DRIVER";
    case 100: return "CUDA_ERROR_NO_DEVICE";
    case 101: return "CUDA_ERROR_INVALID_DEVICE";
    case 201: return "CUDA_ERROR_INVALID_CONTEXT";
    case 400: return "CUDA_ERROR_INVALID_HANDLE";
    case 500: return "CUDA_ERROR_NOT_FOUND";
    case 600: return "CUDA_ERROR_NOT_READY";
    case 801: return "CUDA_ERROR_NOT_SUPPORTED";
    case 914: return "CUDA_ERROR_INVALID_RESOURCE_TYPE";
    case 915: return "CUDA_ERROR_INVALID_RESOURCE_CONFIGURATION";
    default: return nullptr;
  }
}

std::string DriverApi::describe(CUresult r) const {
  const char* name = nullptr;
  const char* text = nullptr;
  if (get_error_name == nullptr || get_error_name(r, &name) != CUDA_SUCCESS) name = nullptr;
  if (get_error_string == nullptr || get_error_string(r, &text) != CUDA_SUCCESS) text = nullptr;
  if (name == nullptr) name = fallback_error_name(static_cast<int>(r));
  std::string out = name ? std::string(name) : fmt::format("CUresult {}", static_cast<int>(r));
  if (text != nullptr) out += fmt::format(" ({})", text);
  return out;
}

void DriverApi::check(CUresult r, const char* call) const {
  if (r != CUDA_SUCCESS) throw Error(Errc::backend, fmt::format("{} failed: {}", call, describe(r)));
}

DriverApi DriverApi::load(const std::string& library, unsigned hardware_connections) {
  DriverApi api;
  api.library = library;
  // Never dlclose()d: the CUDA runtime, if linked, opens the same library and both must outlive
  // every handle; the loader's reference count keeps it mapped once for the process.
  void* lib = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    const char* why = dlerror();
    throw Error(Errc::unavailable, fmt::format("dlopen {}: {}", library, why ? why : "unknown error"));
  }
  api.get_error_name = reinterpret_cast<decltype(&::cuGetErrorName)>(dlsym(lib, "cuGetErrorName"));
  api.get_error_string = reinterpret_cast<decltype(&::cuGetErrorString)>(dlsym(lib, "cuGetErrorString"));
  // cuGetProcAddress_v2 exists from CUDA 12.0; green contexts need 12.4 anyway.
  using GetProc = CUresult (*)(const char*, void**, int, cuuint64_t, CUdriverProcAddressQueryResult*);
  auto get_proc = reinterpret_cast<GetProc>(dlsym(lib, "cuGetProcAddress_v2"));
  if (get_proc == nullptr)
    throw Error(Errc::unavailable,
                fmt::format("{} has no cuGetProcAddress_v2: the driver is older than CUDA 12.0 (green contexts "
                            "need a CUDA 12.4+ driver)", library));
  auto resolve = [&](const char* symbol, void** out) {
    CUdriverProcAddressQueryResult status = CU_GET_PROC_ADDRESS_SUCCESS;
    const CUresult r = get_proc(symbol, out, CUDA_VERSION, CU_GET_PROC_ADDRESS_DEFAULT, &status);
    if (r != CUDA_SUCCESS)
      throw Error(Errc::unavailable,
                  fmt::format("cuGetProcAddress({}) in {} failed: {}", symbol, library, api.describe(r)));
    if (*out == nullptr || status != CU_GET_PROC_ADDRESS_SUCCESS)
      throw Error(Errc::unavailable,
                  fmt::format("{} lacks {} at CUDA {}.{} ({}): green contexts need a CUDA 12.4+ driver", library,
                              symbol, CUDA_VERSION / 1000, CUDA_VERSION % 1000 / 10,
                              status == CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT ? "driver too old"
                                                                                   : "symbol not found"));
  };
#define ECLIP_CUDA_RESOLVE(fn) resolve(#fn, reinterpret_cast<void**>(&api.fn));
  ECLIP_CUDA_DRIVER_FUNCTIONS(ECLIP_CUDA_RESOLVE)
#undef ECLIP_CUDA_RESOLVE
  // Every driver call but cuInit answers CUDA_ERROR_NOT_INITIALIZED until the driver is started.
  int devices = 0;
  const bool starting = api.cuDeviceGetCount(&devices) == CUDA_ERROR_NOT_INITIALIZED;
  if (starting && hardware_connections != 0 && std::getenv("CUDA_DEVICE_MAX_CONNECTIONS") == nullptr)
    (void)::setenv("CUDA_DEVICE_MAX_CONNECTIONS", std::to_string(hardware_connections).c_str(), 0);
  const CUresult r = api.cuInit(0);
  if (r != CUDA_SUCCESS)
    throw Error(Errc::unavailable, fmt::format("cuInit failed: {} (driver library {})", api.describe(r), library));
  return api;
}

}  // namespace eclip::cuda::detail
