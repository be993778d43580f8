// libeclip_preload_cuda.so, the NVIDIA half of transparent mode (docs/transparent.md).
//
// Entry points routed: the runtime's cudaLaunchKernel / cudaLaunchKernelExC and CUDA 13's
// <<<>>> entry point __cudaLaunchKernel (and their _ptsz forms), the driver's cuLaunchKernel / cuLaunchKernelEx (and _ptsz) where the application links
// them, and the same driver calls reached through pointers: cuGetProcAddress(_v2),
// cudaGetDriverEntryPoint(ByVersion) and dlsym (libraries such as cuBLAS carry a static runtime
// that dlopen's libcuda.so.1 and looks up cuGetProcAddress with dlsym on that handle, which
// LD_PRELOAD alone does not reach) hand out eclip's wrappers for the launch symbols.
// A launch that eclip itself issues through the runtime, which then calls the driver, is routed
// once: the inner call sees InsideGuard and passes through.
//
// Order: eager join by default (ECLIP_JOIN=eager): the non-kernel stream operations of the
// runtime and driver are not interposed here, so every routed kernel is joined back into the
// application's stream at once (marker on the partition stream, the app stream waits on it).
// Partitions are green contexts (eclip::cuda::GreenContextBackend, driver loaded with dlopen).
#include <dlfcn.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include <cuda.h>
#include <cuda_runtime_api.h>

#include <fmt/format.h>

#include "eclip/backend/cuda.hpp"
#include "engine.hpp"
#include "resolve.hpp"

#undef cuGetProcAddress

namespace eclip::preload {
namespace {

using DlsymFn = void* (*)(void*, const char*);
DlsymFn real_dlsym() {
  static const DlsymFn fn = [] {
    void* p = dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.34");
    if (!p) p = dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.2.5");
    return reinterpret_cast<DlsymFn>(p);
  }();
  return fn;
}

void* real_cuda(const char* name) {
  DlsymFn d = real_dlsym();
  if (!d) return nullptr;
  if (void* p = d(RTLD_NEXT, name)) return p;
  for (const char* lib : {"libcudart.so.13", "libcudart.so.12", "libcudart.so", "libcuda.so.1"}) {
    if (void* h = dlopen(lib, RTLD_NOLOAD | RTLD_LAZY)) {
      void* p = d(h, name);
      dlclose(h);
      if (p) return p;
    }
  }
  return nullptr;
}

template <class F>
F real_fn(const char* name, std::atomic<void*>& slot) {
  void* p = slot.load(std::memory_order_acquire);
  if (!p) {
    p = real_cuda(name);
    if (p) slot.store(p, std::memory_order_release);
  }
  return reinterpret_cast<F>(p);
}

std::uint64_t h(CUstream s) { return reinterpret_cast<std::uint64_t>(s); }
CUstream cs(std::uint64_t v) { return reinterpret_cast<CUstream>(v); }
// The engine keys the per-thread default stream of a _ptsz launch as CU_STREAM_PER_THREAD.
std::uint64_t key(CUstream s, bool ptsz) { return ptsz && s == nullptr ? h(CU_STREAM_PER_THREAD) : h(s); }

bool cuda_capturing(std::uint64_t stream) {
  static std::atomic<void*> slot{nullptr};
  auto is = real_fn<CUresult (*)(CUstream, CUstreamCaptureStatus*)>("cuStreamIsCapturing", slot);
  CUstreamCaptureStatus st = CU_STREAM_CAPTURE_STATUS_NONE;
  return is && is(cs(stream), &st) == CUDA_SUCCESS && st != CU_STREAM_CAPTURE_STATUS_NONE;
}

std::unique_ptr<Backend> make_cuda_backend(const std::string& device, std::string* why) {
  try {
    auto b = std::make_unique<cuda::GreenContextBackend>();
    if (!device.empty() && device != b->topology().name) {
      *why = fmt::format("the plan is for {} but the device is {}", device, b->topology().name);
      return nullptr;
    }
    // The application's CUDA runtime usually creates the primary context before the first launch
    // reaches here, so the backend cannot raise the hardware queues itself.
    if (b->device().hardware_connections < cuda::kMaxHardwareConnections) {
      const char* set = std::getenv("CUDA_DEVICE_MAX_CONNECTIONS");
      say_once("connections",
               fmt::format("the primary context has {} hardware queues (CUDA_DEVICE_MAX_CONNECTIONS={}): streams "
                           "beyond that share a queue and wait for each other; set CUDA_DEVICE_MAX_CONNECTIONS={} "
                           "before the application starts",
                           b->device().hardware_connections, set ? set : "unset", cuda::kMaxHardwareConnections));
    }
    return b;
  } catch (const std::exception& e) {
    *why = e.what();
    return nullptr;
  }
}

std::string describe_cuda_stream(std::uint64_t stream);
const VendorHooks kCuda{"cuda", &make_cuda_backend, &cuda_capturing, /*eager_default=*/true,
                        &describe_cuda_stream};
[[maybe_unused]] const bool kRegistered = (register_vendor(&kCuda), true);

/// Routes one launch into app stream `app`; `launch(stream)` issues it. `ptsz`: a per-thread
/// default stream entry point (stream 0 = this thread's default stream, keyed as
/// CU_STREAM_PER_THREAD); a launch left in place gets the application's own handle back.
template <class R, class F>
R routed(CUstream app, bool ptsz, R ok, const char* entry, const KernelRef& kernel, F&& launch) {
  const std::uint64_t k = key(app, ptsz);
  return route_launch(k, ok, entry, kernel, [&](std::uint64_t target) { return launch(target == k ? app : cs(target)); });
}

const char* driver_function_name(std::uint64_t f) {
  static std::atomic<void*> slot{nullptr};
  auto get = real_fn<CUresult (*)(const char**, CUfunction)>("cuFuncGetName", slot);
  const char* n = nullptr;
  return get && get(&n, reinterpret_cast<CUfunction>(f)) == CUDA_SUCCESS ? n : nullptr;
}
const char* driver_kernel_name(std::uint64_t k) {
  static std::atomic<void*> slot{nullptr};
  auto get = real_fn<CUresult (*)(const char**, CUkernel)>("cuKernelGetName", slot);
  const char* n = nullptr;
  return get && get(&n, reinterpret_cast<CUkernel>(k)) == CUDA_SUCCESS ? n : nullptr;
}
// cuLaunchKernel(Ex) also take a CUkernel cast to CUfunction (CUDA 12+), so each lookup tries both.
std::string function_name(std::uint64_t f) {
  const char* n = driver_function_name(f);
  return demangled(n ? n : driver_kernel_name(f));
}
std::string kernel_name(std::uint64_t k) {
  const char* n = driver_kernel_name(k);
  return demangled(n ? n : driver_function_name(k));
}
std::string runtime_name(std::uint64_t f) {
  static std::atomic<void*> slot{nullptr};
  auto get = real_fn<cudaError_t (*)(const char**, const void*)>("cudaFuncGetName", slot);
  const char* n = nullptr;
  return demangled(get && get(&n, reinterpret_cast<const void*>(f)) == cudaSuccess ? n : nullptr);  // "" if none
}
KernelRef function_ref(CUfunction f) { return {reinterpret_cast<std::uint64_t>(f), &function_name}; }
KernelRef kernel_ref(cudaKernel_t k) { return {reinterpret_cast<std::uint64_t>(k), &kernel_name}; }
KernelRef host_ref(const void* f) { return {reinterpret_cast<std::uint64_t>(f), &runtime_name}; }

/// ECLIP_TRACE's name for a stream: its id (the one CUPTI and torch.profiler report) and the SMs of
/// its green context ("all" for a stream of an ordinary context).
std::string describe_cuda_stream(std::uint64_t stream) {
  static std::atomic<void*> id_slot{nullptr}, green_slot{nullptr}, res_slot{nullptr};
  auto get_id = real_fn<CUresult (*)(CUstream, unsigned long long*)>("cuStreamGetId", id_slot);
  auto get_green = real_fn<CUresult (*)(CUstream, CUgreenCtx*)>("cuStreamGetGreenCtx", green_slot);
  auto get_res = real_fn<CUresult (*)(CUgreenCtx, CUdevResource*, CUdevResourceType)>("cuGreenCtxGetDevResource",
                                                                                        res_slot);
  unsigned long long id = 0;
  std::string text = get_id && get_id(cs(stream), &id) == CUDA_SUCCESS ? fmt::format("id={}", id) : "id=?";
  CUgreenCtx g = nullptr;
  CUdevResource r{};
  if (get_green && get_green(cs(stream), &g) == CUDA_SUCCESS && g && get_res &&
      get_res(g, &r, CU_DEV_RESOURCE_TYPE_SM) == CUDA_SUCCESS)
    return text + fmt::format(" sms={}", r.sm.smCount);
  return text + " sms=all";
}

std::atomic<void*> g_cuLaunchKernel{nullptr}, g_cuLaunchKernel_ptsz{nullptr}, g_cuLaunchKernelEx{nullptr},
    g_cuLaunchKernelEx_ptsz{nullptr};

using LaunchKernelFn = CUresult (*)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
                                    CUstream, void**, void**);
using LaunchKernelExFn = CUresult (*)(const CUlaunchConfig*, CUfunction, void**, void**);

CUresult launch_kernel(std::atomic<void*>& slot, const char* name, bool ptsz, CUfunction f, unsigned gx, unsigned gy,
                       unsigned gz, unsigned bx, unsigned by, unsigned bz, unsigned shm, CUstream stream,
                       void** params, void** extra) {
  auto real = real_fn<LaunchKernelFn>(name, slot);
  if (!real) return CUDA_ERROR_NOT_FOUND;
  return routed(stream, ptsz, CUDA_SUCCESS, name, function_ref(f),
                [&](CUstream s) { return real(f, gx, gy, gz, bx, by, bz, shm, s, params, extra); });
}
CUresult launch_kernel_ex(std::atomic<void*>& slot, const char* name, bool ptsz, const CUlaunchConfig* config,
                          CUfunction f, void** params, void** extra) {
  auto real = real_fn<LaunchKernelExFn>(name, slot);
  if (!real) return CUDA_ERROR_NOT_FOUND;
  if (!config) return real(config, f, params, extra);
  return routed(config->hStream, ptsz, CUDA_SUCCESS, name, function_ref(f), [&](CUstream s) {
    CUlaunchConfig c = *config;
    c.hStream = s;
    return real(&c, f, params, extra);
  });
}

// The wrappers handed out for pointers the driver would give.
CUresult w_cuLaunchKernel(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                          unsigned shm, CUstream s, void** p, void** x) {
  return launch_kernel(g_cuLaunchKernel, "cuLaunchKernel", false, f, gx, gy, gz, bx, by, bz, shm, s, p, x);
}
CUresult w_cuLaunchKernel_ptsz(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                               unsigned bz, unsigned shm, CUstream s, void** p, void** x) {
  return launch_kernel(g_cuLaunchKernel_ptsz, "cuLaunchKernel_ptsz", true, f, gx, gy, gz, bx, by, bz, shm, s, p, x);
}
CUresult w_cuLaunchKernelEx(const CUlaunchConfig* c, CUfunction f, void** p, void** x) {
  return launch_kernel_ex(g_cuLaunchKernelEx, "cuLaunchKernelEx", false, c, f, p, x);
}
CUresult w_cuLaunchKernelEx_ptsz(const CUlaunchConfig* c, CUfunction f, void** p, void** x) {
  return launch_kernel_ex(g_cuLaunchKernelEx_ptsz, "cuLaunchKernelEx_ptsz", true, c, f, p, x);
}

/// True when `p` lies in this library.
bool is_ours(void* p) {
  static void* const base = [] {
    Dl_info self{};
    return dladdr(reinterpret_cast<void*>(&cuda_capturing), &self) ? self.dli_fbase : nullptr;
  }();
  Dl_info info{};
  return base && dladdr(p, &info) && info.dli_fbase == base;
}

/// ECLIP_VERBOSE=2: every driver symbol a library looks up through a pointer path, once each
/// (which entry points a library's static runtime really uses).
void log_lookup(const char* path, const char* symbol) {
  static const bool on = [] {
    const char* v = std::getenv("ECLIP_VERBOSE");
    return v && std::strcmp(v, "2") == 0;
  }();
  if (!on || !symbol) return;
  try {
    say_once(std::string("lookup:") + path + symbol, fmt::format("{}(\"{}\")", path, symbol));
  } catch (...) {  // a diagnostic must never fail the lookup it reports
  }
}

/// Replaces the driver's pointer for a launch symbol with eclip's wrapper, remembering the real
/// one. `ptsz`: the lookup asked for per-thread default-stream versions.
void wrap(const char* symbol, void** pfn, bool ptsz) {
  if (!symbol || !pfn || !*pfn || InsideGuard::active()) return;
  struct Entry {
    const char* name;
    bool ptsz;
    std::atomic<void*>* slot;
    void* wrapper;
  };
  static const Entry table[] = {
      {"cuLaunchKernel", false, &g_cuLaunchKernel, reinterpret_cast<void*>(&w_cuLaunchKernel)},
      {"cuLaunchKernel", true, &g_cuLaunchKernel_ptsz, reinterpret_cast<void*>(&w_cuLaunchKernel_ptsz)},
      {"cuLaunchKernel_ptsz", true, &g_cuLaunchKernel_ptsz, reinterpret_cast<void*>(&w_cuLaunchKernel_ptsz)},
      {"cuLaunchKernelEx", false, &g_cuLaunchKernelEx, reinterpret_cast<void*>(&w_cuLaunchKernelEx)},
      {"cuLaunchKernelEx", true, &g_cuLaunchKernelEx_ptsz, reinterpret_cast<void*>(&w_cuLaunchKernelEx_ptsz)},
      {"cuLaunchKernelEx_ptsz", true, &g_cuLaunchKernelEx_ptsz, reinterpret_cast<void*>(&w_cuLaunchKernelEx_ptsz)},
  };
  for (const Entry& e : table) {
    if (std::strcmp(symbol, e.name) != 0 || (e.ptsz != ptsz && std::strstr(e.name, "_ptsz") == nullptr)) continue;
    if (*pfn == e.wrapper) return;
    // A driver whose own exports are interposable may hand out our exported entry point (its
    // address resolved through the GOT): never remember that as the real one (endless recursion);
    // the real one is then found through dlsym(RTLD_NEXT).
    if (!is_ours(*pfn)) e.slot->store(*pfn, std::memory_order_release);
    *pfn = e.wrapper;
    return;
  }
}

}  // namespace
}  // namespace eclip::preload

using namespace eclip::preload;
#define ECLIP_EXPORT extern "C" __attribute__((visibility("default")))

// ---- Runtime API. ---------------------------------------------------------------------------------
namespace {
std::atomic<void*> g_cudaLaunchKernel{nullptr}, g_cudaLaunchKernel_ptsz{nullptr}, g_cudaLaunchKernelExC{nullptr},
    g_cudaLaunchKernelExC_ptsz{nullptr}, g_cudaGetDriverEntryPoint{nullptr}, g_cudaGetDriverEntryPointByVersion{nullptr},
    g_cuGetProcAddress{nullptr}, g_cuGetProcAddress_v2{nullptr};
using RtLaunchFn = cudaError_t (*)(const void*, dim3, dim3, void**, size_t, cudaStream_t);
using RtLaunchExFn = cudaError_t (*)(const cudaLaunchConfig_t*, const void*, void**);

cudaError_t rt_launch(std::atomic<void*>& slot, const char* name, bool ptsz, const void* f, dim3 g, dim3 b,
                      void** a, size_t shm, cudaStream_t s) {
  auto real = real_fn<RtLaunchFn>(name, slot);
  if (!real) return cudaErrorSharedObjectInitFailed;
  return routed(s, ptsz, cudaSuccess, name, host_ref(f),
                [&](CUstream t) { return real(f, g, b, a, shm, t); });
}
cudaError_t rt_launch_ex(std::atomic<void*>& slot, const char* name, bool ptsz, const cudaLaunchConfig_t* config,
                         const void* f, void** a) {
  auto real = real_fn<RtLaunchExFn>(name, slot);
  if (!real) return cudaErrorSharedObjectInitFailed;
  if (!config) return real(config, f, a);
  return routed(config->stream, ptsz, cudaSuccess, name, host_ref(f), [&](CUstream t) {
    cudaLaunchConfig_t c = *config;
    c.stream = t;
    return real(&c, f, a);
  });
}
// CUDA 13's <<<...>>>: nvcc's host stub calls __cudaGetKernel once per kernel and then
// __cudaLaunchKernel(_ptsz) with the cudaKernel_t (crt/host_runtime.h, crt/device_functions.h);
// ATen's kernels reach the runtime only through these (cudaLaunchKernel is used with
// -D__NV_LEGACY_LAUNCH or by hand).
std::atomic<void*> g___cudaLaunchKernel{nullptr}, g___cudaLaunchKernel_ptsz{nullptr};
using StubLaunchFn = cudaError_t (*)(cudaKernel_t, dim3, dim3, void**, size_t, cudaStream_t);
cudaError_t stub_launch(std::atomic<void*>& slot, const char* name, bool ptsz, cudaKernel_t k, dim3 g, dim3 b,
                        void** a, size_t shm, cudaStream_t s) {
  auto real = real_fn<StubLaunchFn>(name, slot);
  if (!real) return cudaErrorSharedObjectInitFailed;
  return routed(s, ptsz, cudaSuccess, name, kernel_ref(k),
                [&](CUstream t) { return real(k, g, b, a, shm, t); });
}
}  // namespace

ECLIP_EXPORT cudaError_t __cudaLaunchKernel(cudaKernel_t k, dim3 g, dim3 b, void** a, size_t shm, cudaStream_t s) {
  return stub_launch(g___cudaLaunchKernel, "__cudaLaunchKernel", false, k, g, b, a, shm, s);
}
ECLIP_EXPORT cudaError_t __cudaLaunchKernel_ptsz(cudaKernel_t k, dim3 g, dim3 b, void** a, size_t shm,
                                                 cudaStream_t s) {
  return stub_launch(g___cudaLaunchKernel_ptsz, "__cudaLaunchKernel_ptsz", true, k, g, b, a, shm, s);
}
ECLIP_EXPORT cudaError_t cudaLaunchKernel(const void* f, dim3 g, dim3 b, void** a, size_t shm, cudaStream_t s) {
  return rt_launch(g_cudaLaunchKernel, "cudaLaunchKernel", false, f, g, b, a, shm, s);
}
ECLIP_EXPORT cudaError_t cudaLaunchKernel_ptsz(const void* f, dim3 g, dim3 b, void** a, size_t shm, cudaStream_t s) {
  return rt_launch(g_cudaLaunchKernel_ptsz, "cudaLaunchKernel_ptsz", true, f, g, b, a, shm, s);
}
ECLIP_EXPORT cudaError_t cudaLaunchKernelExC(const cudaLaunchConfig_t* c, const void* f, void** a) {
  return rt_launch_ex(g_cudaLaunchKernelExC, "cudaLaunchKernelExC", false, c, f, a);
}
ECLIP_EXPORT cudaError_t cudaLaunchKernelExC_ptsz(const cudaLaunchConfig_t* c, const void* f, void** a) {
  return rt_launch_ex(g_cudaLaunchKernelExC_ptsz, "cudaLaunchKernelExC_ptsz", true, c, f, a);
}
ECLIP_EXPORT cudaError_t cudaGetDriverEntryPoint(const char* symbol, void** fn, unsigned long long flags,
                                                 cudaDriverEntryPointQueryResult* status) {
  auto real = real_fn<cudaError_t (*)(const char*, void**, unsigned long long, cudaDriverEntryPointQueryResult*)>(
      "cudaGetDriverEntryPoint", g_cudaGetDriverEntryPoint);
  if (!real) return cudaErrorSharedObjectInitFailed;
  const cudaError_t r = real(symbol, fn, flags, status);
  log_lookup("cudaGetDriverEntryPoint", symbol);
  if (r == cudaSuccess) wrap(symbol, fn, (flags & cudaEnablePerThreadDefaultStream) != 0);
  return r;
}
ECLIP_EXPORT cudaError_t cudaGetDriverEntryPointByVersion(const char* symbol, void** fn, unsigned int version,
                                                          unsigned long long flags,
                                                          cudaDriverEntryPointQueryResult* status) {
  auto real =
      real_fn<cudaError_t (*)(const char*, void**, unsigned, unsigned long long, cudaDriverEntryPointQueryResult*)>(
          "cudaGetDriverEntryPointByVersion", g_cudaGetDriverEntryPointByVersion);
  if (!real) return cudaErrorSharedObjectInitFailed;
  const cudaError_t r = real(symbol, fn, version, flags, status);
  log_lookup("cudaGetDriverEntryPointByVersion", symbol);
  if (r == cudaSuccess) wrap(symbol, fn, (flags & cudaEnablePerThreadDefaultStream) != 0);
  return r;
}

// ---- Driver API. ----------------------------------------------------------------------------------
ECLIP_EXPORT CUresult cuLaunchKernel(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                                     unsigned bz, unsigned shm, CUstream s, void** p, void** x) {
  return w_cuLaunchKernel(f, gx, gy, gz, bx, by, bz, shm, s, p, x);
}
ECLIP_EXPORT CUresult cuLaunchKernel_ptsz(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                                          unsigned by, unsigned bz, unsigned shm, CUstream s, void** p, void** x) {
  return w_cuLaunchKernel_ptsz(f, gx, gy, gz, bx, by, bz, shm, s, p, x);
}
ECLIP_EXPORT CUresult cuLaunchKernelEx(const CUlaunchConfig* c, CUfunction f, void** p, void** x) {
  return w_cuLaunchKernelEx(c, f, p, x);
}
ECLIP_EXPORT CUresult cuLaunchKernelEx_ptsz(const CUlaunchConfig* c, CUfunction f, void** p, void** x) {
  return w_cuLaunchKernelEx_ptsz(c, f, p, x);
}
ECLIP_EXPORT CUresult cuGetProcAddress(const char* symbol, void** pfn, int version, cuuint64_t flags) {
  auto real = real_fn<CUresult (*)(const char*, void**, int, cuuint64_t)>("cuGetProcAddress", g_cuGetProcAddress);
  if (!real) return CUDA_ERROR_NOT_FOUND;
  const CUresult r = real(symbol, pfn, version, flags);
  log_lookup("cuGetProcAddress", symbol);
  if (r == CUDA_SUCCESS) wrap(symbol, pfn, (flags & CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM) != 0);
  return r;
}
ECLIP_EXPORT CUresult cuGetProcAddress_v2(const char* symbol, void** pfn, int version, cuuint64_t flags,
                                          CUdriverProcAddressQueryResult* status) {
  auto real = real_fn<CUresult (*)(const char*, void**, int, cuuint64_t, CUdriverProcAddressQueryResult*)>(
      "cuGetProcAddress_v2", g_cuGetProcAddress_v2);
  if (!real) return CUDA_ERROR_NOT_FOUND;
  const CUresult r = real(symbol, pfn, version, flags, status);
  log_lookup("cuGetProcAddress_v2", symbol);
  if (r == CUDA_SUCCESS) wrap(symbol, pfn, (flags & CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM) != 0);
  return r;
}

// ---- dlsym: a runtime that looks the driver up on a dlopen handle gets eclip's cuGetProcAddress
// and launch wrappers (ECLIP_CUDA_DLSYM=0 turns this off). ------------------------------------------
ECLIP_EXPORT void* dlsym(void* handle, const char* name) {
  DlsymFn real = real_dlsym();
  if (!real) return nullptr;
  void* p = real(handle, name);
  if (!p || name[0] != 'c' || name[1] != 'u' || handle == RTLD_NEXT) return p;
  static const bool off = [] {
    const char* e = std::getenv("ECLIP_CUDA_DLSYM");
    return e && std::strcmp(e, "0") == 0;
  }();
  if (off || InsideGuard::active()) return p;
  if (std::strcmp(name, "cuGetProcAddress_v2") == 0) {
    g_cuGetProcAddress_v2.store(p, std::memory_order_release);
    return reinterpret_cast<void*>(&cuGetProcAddress_v2);
  }
  if (std::strcmp(name, "cuGetProcAddress") == 0) {
    g_cuGetProcAddress.store(p, std::memory_order_release);
    return reinterpret_cast<void*>(&cuGetProcAddress);
  }
  const bool ptsz = std::strstr(name, "_ptsz") != nullptr;
  log_lookup("dlsym", name);
  wrap(name, &p, ptsz);
  return p;
}
