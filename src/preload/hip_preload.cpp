// libeclip_preload.so, the AMD half of transparent mode (docs/transparent.md): interposes the HIP
// launch entry points of libamdhip64 and the stream operations whose order must follow routed
// kernels; reaches the real ones through dlsym. Partition streams come from its own small backend
// over the real HIP calls (hipExtStreamCreateWithCUMask, hipEventRecord/Query, hipStreamWaitEvent),
// so nothing eclip calls re-enters the interposer, and the library never links libamdhip64.
#include <algorithm>
#include <atomic>
#include <cctype>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "eclip/backend/hsa/cu_mask_layout.hpp"
#include "engine.hpp"
#include "hip_abi.hpp"
#include "resolve.hpp"

namespace eclip::preload {
namespace {

void* real_hip(const char* name) {
  return resolve_real(name, {"libamdhip64.so", "libamdhip64.so.5", "libamdhip64.so.6", "libamdhip64.so.7"});
}

#define ECLIP_REAL(fn)                                                                     \
  ([]() -> decltype(&::fn) {                                                               \
    static const auto eclip_real_ptr = reinterpret_cast<decltype(&::fn)>(::eclip::preload::real_hip(#fn)); \
    return eclip_real_ptr;                                                                 \
  }())

hipError_t missing(const char* fn) {
  say_once(std::string("missing:") + fn,
           fmt::format("{} is not in any loaded HIP runtime; the call fails with hipErrorSharedObjectInitFailed", fn));
  return hipErrorSharedObjectInitFailed;
}

std::uint64_t h(hipStream_t s) { return reinterpret_cast<std::uint64_t>(s); }
hipStream_t s_of(std::uint64_t v) { return reinterpret_cast<hipStream_t>(v); }

std::string hip_error(hipError_t e) {
  auto name = ECLIP_REAL(hipGetErrorName);
  const char* n = name ? name(e) : nullptr;
  return n ? std::string(n) : fmt::format("hipError {}", e);
}
void check(hipError_t e, const char* call) {
  if (e != hipSuccess) throw Error(Errc::backend, fmt::format("{} failed: {}", call, hip_error(e)));
}

std::atomic<bool> g_capture_seen{false};

bool hip_capturing(std::uint64_t stream) {
  if (!g_capture_seen.load(std::memory_order_relaxed)) return false;  // no capture was ever begun
  auto is = ECLIP_REAL(hipStreamIsCapturing);
  hipStreamCaptureStatus st = hipStreamCaptureStatusNone;
  return is && is(s_of(stream), &st) == hipSuccess && st != hipStreamCaptureStatusNone;
}

/// Partition streams and markers over the real HIP calls. Units are eclip's engine-major CU order,
/// translated to the driver's bit order by hsa::CuMaskLayout as eclip::hip::HipBackend does.
class HipRuntimeBackend final : public Backend {
 public:
  HipRuntimeBackend(Topology topo, hsa::CuMaskLayout layout) : topo_(std::move(topo)), layout_(std::move(layout)) {}
  ~HipRuntimeBackend() override {
    auto destroy = ECLIP_REAL(hipEventDestroy);
    if (destroy)
      for (hipEvent_t e : free_) destroy(e);
  }
  std::string_view name() const noexcept override { return "hip-preload"; }
  const Topology& topology() const noexcept override { return topo_; }

  StreamHandle create_stream(const CuMask& mask) override {
    hipStream_t s = nullptr;
    if (mask.full()) {
      auto create = ECLIP_REAL(hipStreamCreateWithFlags);
      if (!create) throw Error(Errc::unavailable, "hipStreamCreateWithFlags not found");
      check(create(&s, hipStreamNonBlocking), "hipStreamCreateWithFlags");
    } else {
      auto create = ECLIP_REAL(hipExtStreamCreateWithCUMask);
      if (!create) throw Error(Errc::unavailable, "hipExtStreamCreateWithCUMask not found");
      const std::vector<std::uint32_t> words = layout_.hip_words(mask);
      check(create(&s, static_cast<std::uint32_t>(words.size()), words.data()), "hipExtStreamCreateWithCUMask");
    }
    return StreamHandle{h(s)};
  }
  void destroy_stream(StreamHandle stream) noexcept override {
    if (auto destroy = ECLIP_REAL(hipStreamDestroy)) destroy(s_of(stream.value));
  }
  MarkerHandle record_marker(StreamHandle stream) override {
    hipEvent_t e = nullptr;
    {
      std::lock_guard lock(mutex_);
      if (!free_.empty()) {
        e = free_.back();
        free_.pop_back();
      }
    }
    if (!e) {
      auto create = ECLIP_REAL(hipEventCreateWithFlags);
      if (!create) throw Error(Errc::unavailable, "hipEventCreateWithFlags not found");
      check(create(&e, hipEventDisableTiming), "hipEventCreateWithFlags");
    }
    const hipError_t r = ECLIP_REAL(hipEventRecord)(e, s_of(stream.value));
    if (r != hipSuccess) {
      release_marker(MarkerHandle{reinterpret_cast<std::uint64_t>(e)});
      check(r, "hipEventRecord");
    }
    return MarkerHandle{reinterpret_cast<std::uint64_t>(e)};
  }
  bool marker_done(MarkerHandle m) override {
    const hipError_t r = ECLIP_REAL(hipEventQuery)(reinterpret_cast<hipEvent_t>(m.value));
    if (r == hipSuccess) return true;
    if (r == hipErrorNotReady) return false;
    check(r, "hipEventQuery");
    return false;
  }
  void wait_marker(StreamHandle stream, MarkerHandle m) override {
    check(ECLIP_REAL(hipStreamWaitEvent)(s_of(stream.value), reinterpret_cast<hipEvent_t>(m.value), 0),
          "hipStreamWaitEvent");
  }
  void release_marker(MarkerHandle m) noexcept override {
    std::lock_guard lock(mutex_);
    try {
      free_.push_back(reinterpret_cast<hipEvent_t>(m.value));
    } catch (...) {
    }
  }

 private:
  Topology topo_;
  hsa::CuMaskLayout layout_;
  std::mutex mutex_;
  std::vector<hipEvent_t> free_;
};

std::unique_ptr<Backend> make_hip_backend(const std::string& device, std::string* why) {
  if (device.empty()) {
    *why = "the plan names no device and ECLIP_DEVICE is not set";
    return nullptr;
  }
  std::string preset = device;
  std::transform(preset.begin(), preset.end(), preset.begin(), [](unsigned char c) { return std::tolower(c); });
  Topology topo;
  try {
    topo = presets::by_name(preset);
  } catch (const std::exception& e) {
    *why = e.what();
    return nullptr;
  }
  if (topo.vendor != ::eclip::Vendor::amd) {
    *why = fmt::format("{} is not an AMD device", topo.name);
    return nullptr;
  }
  auto get_device = ECLIP_REAL(hipGetDevice);
  auto attribute = ECLIP_REAL(hipDeviceGetAttribute);
  if (!get_device || !attribute || !ECLIP_REAL(hipExtStreamCreateWithCUMask) || !ECLIP_REAL(hipEventRecord) ||
      !ECLIP_REAL(hipEventQuery) || !ECLIP_REAL(hipStreamWaitEvent) || !ECLIP_REAL(hipEventCreateWithFlags)) {
    *why = "no HIP runtime with hipExtStreamCreateWithCUMask, hipEventRecord/Query and hipStreamWaitEvent is loaded";
    return nullptr;
  }
  int dev = 0, cus = 0;
  if (hipError_t e = get_device(&dev); e != hipSuccess) {
    *why = fmt::format("hipGetDevice: {}", hip_error(e));
    return nullptr;
  }
  if (hipError_t e = attribute(&cus, hipDeviceAttributeMultiprocessorCount, dev); e != hipSuccess) {
    *why = fmt::format("hipDeviceGetAttribute(MultiprocessorCount): {}", hip_error(e));
    return nullptr;
  }
  if (static_cast<unsigned>(cus) != topo.units()) {
    *why = fmt::format("the plan is for {} ({} CUs) but device {} has {} CUs", topo.name, topo.units(), dev, cus);
    return nullptr;
  }
  try {
    const unsigned xccs = topo.name == "MI300X" ? 8 : 1;
    auto layout = hsa::CuMaskLayout::uniform(topo.units(), topo.group_count(), 1, xccs);
    return std::make_unique<HipRuntimeBackend>(std::move(topo), std::move(layout));
  } catch (const std::exception& e) {
    *why = e.what();
    return nullptr;
  }
}

const VendorHooks kHip{"hip", &make_hip_backend, &hip_capturing, /*eager_default=*/false};
[[maybe_unused]] const bool kRegistered = (register_vendor(&kHip), true);

/// Routes one launch: `launch(stream)` issues it on the stream it is given.
template <class F>
hipError_t routed(hipStream_t app, const char* entry, const KernelRef& kernel, F&& launch) {
  return route_launch(h(app), hipSuccess, entry, kernel, [&](std::uint64_t target) { return launch(s_of(target)); });
}
// Names as the profilers record them (demangled); "" when the runtime has none.
std::string name_by_ptr(std::uint64_t f) {
  auto ref = ECLIP_REAL(hipKernelNameRefByPtr);
  return demangled(ref ? ref(reinterpret_cast<const void*>(f), nullptr) : nullptr);
}
std::string name_of(std::uint64_t f) {
  auto ref = ECLIP_REAL(hipKernelNameRef);
  return demangled(ref ? ref(reinterpret_cast<hipFunction_t>(f)) : nullptr);
}
KernelRef host_ref(const void* f) { return {reinterpret_cast<std::uint64_t>(f), &name_by_ptr}; }
KernelRef function_ref(hipFunction_t f) { return {reinterpret_cast<std::uint64_t>(f), &name_of}; }

/// Before a non-kernel operation on `s`: keep the result alive while issuing it (see Engine::join).
Engine::Joined join(hipStream_t s) {
  if (InsideGuard::active()) return Engine::Joined{};
  if (Engine* e = Engine::current()) return e->join(h(s));
  return Engine::Joined{};
}

}  // namespace
}  // namespace eclip::preload

using eclip::preload::join;
using eclip::preload::missing;
using eclip::preload::function_ref;
using eclip::preload::host_ref;
using eclip::preload::routed;

#define ECLIP_EXPORT extern "C" __attribute__((visibility("default")))

// ---- Launches: routed by the plan. ----------------------------------------------------------------
ECLIP_EXPORT hipError_t hipLaunchKernel(const void* f, dim3 grid, dim3 block, void** args, size_t shm,
                                        hipStream_t stream) {
  auto real = ECLIP_REAL(hipLaunchKernel);
  if (!real) return missing("hipLaunchKernel");
  return routed(stream, "hipLaunchKernel", host_ref(f),
                [&](hipStream_t s) { return real(f, grid, block, args, shm, s); });
}
ECLIP_EXPORT hipError_t hipExtLaunchKernel(const void* f, dim3 grid, dim3 block, void** args, size_t shm,
                                           hipStream_t stream, hipEvent_t start, hipEvent_t stop, int flags) {
  auto real = ECLIP_REAL(hipExtLaunchKernel);
  if (!real) return missing("hipExtLaunchKernel");
  return routed(stream, "hipExtLaunchKernel", host_ref(f),
                [&](hipStream_t s) { return real(f, grid, block, args, shm, s, start, stop, flags); });
}
ECLIP_EXPORT hipError_t hipModuleLaunchKernel(hipFunction_t f, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                                              unsigned by, unsigned bz, unsigned shm, hipStream_t stream,
                                              void** params, void** extra) {
  auto real = ECLIP_REAL(hipModuleLaunchKernel);
  if (!real) return missing("hipModuleLaunchKernel");
  return routed(stream, "hipModuleLaunchKernel", function_ref(f),
                [&](hipStream_t s) { return real(f, gx, gy, gz, bx, by, bz, shm, s, params, extra); });
}
ECLIP_EXPORT hipError_t hipExtModuleLaunchKernel(hipFunction_t f, std::uint32_t gx, std::uint32_t gy,
                                                 std::uint32_t gz, std::uint32_t lx, std::uint32_t ly,
                                                 std::uint32_t lz, size_t shm, hipStream_t stream, void** params,
                                                 void** extra, hipEvent_t start, hipEvent_t stop,
                                                 std::uint32_t flags) {
  auto real = ECLIP_REAL(hipExtModuleLaunchKernel);
  if (!real) return missing("hipExtModuleLaunchKernel");
  return routed(stream, "hipExtModuleLaunchKernel", function_ref(f), [&](hipStream_t s) {
    return real(f, gx, gy, gz, lx, ly, lz, shm, s, params, extra, start, stop, flags);
  });
}
ECLIP_EXPORT hipError_t hipHccModuleLaunchKernel(hipFunction_t f, std::uint32_t gx, std::uint32_t gy,
                                                 std::uint32_t gz, std::uint32_t lx, std::uint32_t ly,
                                                 std::uint32_t lz, size_t shm, hipStream_t stream, void** params,
                                                 void** extra, hipEvent_t start, hipEvent_t stop) {
  auto real = ECLIP_REAL(hipHccModuleLaunchKernel);
  if (!real) return missing("hipHccModuleLaunchKernel");
  return routed(stream, "hipHccModuleLaunchKernel", function_ref(f), [&](hipStream_t s) {
    return real(f, gx, gy, gz, lx, ly, lz, shm, s, params, extra, start, stop);
  });
}

// ---- Operations that stay on the application's stream, after its routed work. ---------------------
// The join is held while the operation is enqueued, so a kernel another thread routes off the
// stream meanwhile is ordered after it (ordered_lane.hpp).
#define ECLIP_JOINED(ret, fn, stream, params, args) \
  ECLIP_EXPORT ret fn params {                      \
    auto real = ECLIP_REAL(fn);                     \
    if (!real) return missing(#fn);                 \
    const auto joined = join(stream);               \
    return real args;                               \
  }
// A call that blocks or only asks (sync, query) enqueues nothing: it needs the routed work before
// it, not the lane held while it waits (that would stall other threads' switches on the stream).
#define ECLIP_JOINED_BLOCKING(ret, fn, stream, params, args) \
  ECLIP_EXPORT ret fn params {                               \
    auto real = ECLIP_REAL(fn);                              \
    if (!real) return missing(#fn);                          \
    { const auto joined = join(stream); }                    \
    return real args;                                        \
  }

// A cooperative grid needs the whole device resident: never moved to a partition.
ECLIP_JOINED(hipError_t, hipLaunchCooperativeKernel, stream,
             (const void* f, dim3 grid, dim3 block, void** params, unsigned shm, hipStream_t stream),
             (f, grid, block, params, shm, stream))
ECLIP_JOINED(hipError_t, hipMemcpyAsync, stream,
             (void* dst, const void* src, size_t n, hipMemcpyKind kind, hipStream_t stream),
             (dst, src, n, kind, stream))
ECLIP_JOINED(hipError_t, hipMemcpyWithStream, stream,
             (void* dst, const void* src, size_t n, hipMemcpyKind kind, hipStream_t stream),
             (dst, src, n, kind, stream))
ECLIP_JOINED(hipError_t, hipMemcpyHtoDAsync, stream, (hipDeviceptr_t dst, void* src, size_t n, hipStream_t stream),
             (dst, src, n, stream))
ECLIP_JOINED(hipError_t, hipMemcpyDtoHAsync, stream, (void* dst, hipDeviceptr_t src, size_t n, hipStream_t stream),
             (dst, src, n, stream))
ECLIP_JOINED(hipError_t, hipMemcpyDtoDAsync, stream,
             (hipDeviceptr_t dst, hipDeviceptr_t src, size_t n, hipStream_t stream), (dst, src, n, stream))
ECLIP_JOINED(hipError_t, hipMemcpy2DAsync, stream,
             (void* dst, size_t dp, const void* src, size_t sp, size_t w, size_t hh, hipMemcpyKind kind,
              hipStream_t stream),
             (dst, dp, src, sp, w, hh, kind, stream))
ECLIP_JOINED(hipError_t, hipMemcpyPeerAsync, stream,
             (void* dst, int dd, const void* src, int sd, size_t n, hipStream_t stream), (dst, dd, src, sd, n, stream))
ECLIP_JOINED(hipError_t, hipMemsetAsync, stream, (void* dst, int v, size_t n, hipStream_t stream), (dst, v, n, stream))
ECLIP_JOINED(hipError_t, hipMemsetD8Async, stream, (hipDeviceptr_t dst, unsigned char v, size_t n, hipStream_t stream),
             (dst, v, n, stream))
ECLIP_JOINED(hipError_t, hipMemsetD16Async, stream,
             (hipDeviceptr_t dst, unsigned short v, size_t n, hipStream_t stream), (dst, v, n, stream))
ECLIP_JOINED(hipError_t, hipMemsetD32Async, stream, (hipDeviceptr_t dst, int v, size_t n, hipStream_t stream),
             (dst, v, n, stream))
ECLIP_JOINED(hipError_t, hipMemPrefetchAsync, stream, (const void* p, size_t n, int device, hipStream_t stream),
             (p, n, device, stream))
ECLIP_JOINED(hipError_t, hipMallocAsync, stream, (void** p, size_t n, hipStream_t stream), (p, n, stream))
ECLIP_JOINED(hipError_t, hipFreeAsync, stream, (void* p, hipStream_t stream), (p, stream))
ECLIP_JOINED(hipError_t, hipEventRecord, stream, (hipEvent_t event, hipStream_t stream), (event, stream))
ECLIP_JOINED(hipError_t, hipStreamWaitEvent, stream, (hipStream_t stream, hipEvent_t event, unsigned int flags),
             (stream, event, flags))
ECLIP_JOINED_BLOCKING(hipError_t, hipStreamSynchronize, stream, (hipStream_t stream), (stream))
ECLIP_JOINED_BLOCKING(hipError_t, hipStreamQuery, stream, (hipStream_t stream), (stream))
ECLIP_JOINED(hipError_t, hipStreamAddCallback, stream,
             (hipStream_t stream, hipStreamCallback_t cb, void* user, unsigned int flags), (stream, cb, user, flags))
ECLIP_JOINED(hipError_t, hipLaunchHostFunc, stream, (hipStream_t stream, hipHostFn_t fn, void* user),
             (stream, fn, user))
ECLIP_JOINED(hipError_t, hipGraphLaunch, stream, (hipGraphExec_t exec, hipStream_t stream), (exec, stream))

ECLIP_EXPORT hipError_t hipStreamBeginCapture(hipStream_t stream, hipStreamCaptureMode mode) {
  auto real = ECLIP_REAL(hipStreamBeginCapture);
  if (!real) return missing("hipStreamBeginCapture");
  eclip::preload::g_capture_seen.store(true, std::memory_order_relaxed);
  const auto joined = join(stream);
  return real(stream, mode);
}
ECLIP_EXPORT hipError_t hipStreamDestroy(hipStream_t stream) {
  auto real = ECLIP_REAL(hipStreamDestroy);
  if (!real) return missing("hipStreamDestroy");
  if (!eclip::preload::InsideGuard::active())
    if (eclip::preload::Engine* e = eclip::preload::Engine::current()) e->forget(eclip::preload::h(stream));
  return real(stream);
}
