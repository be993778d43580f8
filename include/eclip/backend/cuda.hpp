#pragma once
// eclip::cuda: the NVIDIA backend. A partition is a CUDA green context (driver API, CUDA 12.4+)
// over a union of allocation atoms; its stream is an ordinary CUstream / cudaStream_t.
//
// Atoms. At construction the backend splits the device's SMs once with
// cuDevSmResourceSplitByCount(minCount = the device's minimum partition, 8 SMs on Hopper). The
// topology's groups are the split's groups in the order it returns them, then its remainder
// (H100: 15 atoms of 8 SMs + a remainder of 12 = 132; docs/hardware.md). CuMask unit u is the u-th SM in
// that order, not a hardware %smid: the driver does not say which physical SMs an atom holds
// (tests/backend/cuda find out with a %smid probe). A mask must be a union of whole atoms:
//   Topology t = backend.topology();               // H100: groups {8 x 15, 12}
//   backend.create_stream(t.grow_from(3, 2));       // atoms 3 and 4 = units 24-39: one green context
//   backend.create_stream(CuMask::range(132, 0, 4)) // error: atom 0 (units 0-7) is partly covered
// All masks come from the one split, so a worker's partitions may overlap another worker's
// (cuDevResourceGenerateDesc accepts any union of one split's outputs) and every partition grows
// from its worker's home atom. A full mask gives a plain non-blocking stream in the primary
// context, so the whole-device fallback costs no green context.
//
// Driver. libcuda.so.1 is opened at run time (dlopen + cuGetProcAddress), never linked: a binary
// linked with -lcuda cannot even start on a machine without the NVIDIA driver (docs/hardware.md), while
// these start, and the backend constructor throws Errc::unavailable with the dlopen reason. The
// launch wrappers below use the CUDA runtime (link CUDA::cudart_static; it too starts without a
// driver and reports cudaErrorInsufficientDriver). The launch wrappers and RoutedGraph, which take a
// KernelRouter, are in eclip/backend/cuda_launch.hpp.
//
// Costs (H100, docs/hardware.md; docs/results/h100-backend-*): creating a green context + stream takes
// milliseconds, so the PartitionPool creates every partition once, up front; green contexts
// cannot be resized, so remask_stream() throws Errc::unavailable. Markers are pooled events
// (CU_EVENT_DISABLE_TIMING); marker_done is cuEventQuery; the barrier is cuStreamWaitEvent.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <cuda.h>
#include <cuda_runtime_api.h>
#include <fmt/format.h>

#include "eclip/runtime/backend.hpp"
#include "eclip/core/topology.hpp"

namespace eclip::cuda {

struct Options {
  int device = 0;  ///< CUDA device ordinal
  /// SMs per atom; 0 = the device's minimum partition (CUdevSmResource::minSmPartitionSize, 8 on
  /// Hopper). A size the device cannot split by is refused with Errc::invalid_argument.
  unsigned atom_sms = 0;
  /// Queue limit the pool enforces; 0 = one per full atom (H100: 15, measured concurrent).
  unsigned max_masked_streams = 0;
  /// Library to load the driver API from; tests point it elsewhere.
  std::string driver_library = "libcuda.so.1";
  /// CUDA_DEVICE_MAX_CONNECTIONS (1..32) the backend sets when the variable is unset and the
  /// backend is the first in the process to start the driver (0: leave the environment alone).
  /// It is the number of hardware work queues each context's streams are spread over; with the
  /// driver's default 8, co-located workers on many routed streams stalled each other on the
  /// H200, with 32 they did not (docs/hardware.md, "Hardware work queues"). The driver reads it
  /// when it starts: set after torch.cuda.is_available() it had no effect, so a program that
  /// starts CUDA before eclip exports it itself (the preload interposer says so once).
  unsigned hardware_connections = 32;
};

/// The driver's default and largest CUDA_DEVICE_MAX_CONNECTIONS (CUDA Programming Guide,
/// "CUDA Environment Variables": 1 to 32, default 8).
inline constexpr unsigned kDefaultHardwareConnections = 8;
inline constexpr unsigned kMaxHardwareConnections = 32;

/// The hardware work queues a context created now gets, from CUDA_DEVICE_MAX_CONNECTIONS's text
/// (null: unset): the driver's default when unset or not a number, else clamped to 1..32.
unsigned hardware_connections_from_env(const char* value);

/// What the backend read from the device.
struct DeviceInfo {
  int ordinal = 0;
  std::string name;                ///< cuDeviceGetName, e.g. "NVIDIA H100 80GB HBM3"
  int cc_major = 0, cc_minor = 0;  ///< compute capability
  unsigned sm_count = 0;
  int driver_version = 0;  ///< cuDriverGetVersion: 13000 = CUDA 13.0
  unsigned atom_sms = 0;   ///< the minCount the split used
  unsigned min_partition_sms = 0, coscheduled_alignment = 0;  ///< CUdevSmResource fields
  /// Hardware work queues per context, as far as the backend can know: CUDA_DEVICE_MAX_CONNECTIONS
  /// as the driver read it when it started (Options::hardware_connections when this backend
  /// started it; otherwise the environment's value, or the default 8, assuming it has not been
  /// changed since the driver started).
  unsigned hardware_connections = 0;
};

/// "H100" for "NVIDIA H100 80GB HBM3": the first word after "NVIDIA " when it holds a digit (the
/// preset names plans refer to), else the whole name without "NVIDIA ".
std::string short_device_name(std::string_view full_name);

/// The topology of a device whose SMs split into `atom_sms` (one entry per group the split
/// returned, in its order) plus `remainder_sms` left over (0: none). Size classes are the powers
/// of two below the group count, then the whole device; the queue limit is `max_masked_streams`,
/// or one per full atom when 0. For an H100 (15 x 8 + 12) this equals presets::h100().
Topology topology_from_split(std::string_view device_name, const std::vector<unsigned>& atom_sms,
                             unsigned remainder_sms, unsigned max_masked_streams = 0);

/// The atoms (topology groups) whose union is `mask`, ascending. Throws Errc::invalid_argument
/// naming the atom when the mask covers only part of one, is empty, or is for another device size.
std::vector<unsigned> atoms_of(const Topology& topo, const CuMask& mask);

/// "" when `driver_library` loads and reports at least one device; otherwise why not, e.g.
/// "dlopen libcuda.so.1: libcuda.so.1: cannot open shared object file: No such file or directory".
/// Hardware tests print it as their skip reason.
std::string driver_unavailable_reason(const std::string& driver_library = "libcuda.so.1");

/// "CUDA_ERROR_INVALID_VALUE (invalid argument)" for a driver result, through `driver_library`
/// (the numeric code when the driver cannot be loaded).
std::string describe_driver_error(int result, const std::string& driver_library = "libcuda.so.1");

class GreenContextBackend final : public Backend {
 public:
  /// Loads the driver, retains the device's primary context, reads the device and splits its SMs
  /// into atoms. Throws Errc::unavailable when there is no usable driver or device (the message
  /// says which call and why), Errc::invalid_argument for a bad ordinal or atom size.
  explicit GreenContextBackend(const Options& options = {});
  ~GreenContextBackend() override;
  GreenContextBackend(const GreenContextBackend&) = delete;
  GreenContextBackend& operator=(const GreenContextBackend&) = delete;

  std::string_view name() const noexcept override { return "cuda"; }
  const Topology& topology() const noexcept override;

  /// Full mask: cuStreamCreate(CU_STREAM_NON_BLOCKING) in the primary context. Otherwise
  /// cuGreenCtxStreamCreate(CU_STREAM_NON_BLOCKING) in the green context of the mask's atoms, made
  /// by the first stream on them (cuDevResourceGenerateDesc -> cuGreenCtxCreate
  /// (CU_GREEN_CTX_DEFAULT_STREAM)) and kept until the backend is destroyed: streams of the same
  /// atoms share one context (context_of), in every pool. The handle's value is the CUstream.
  StreamHandle create_stream(const CuMask& mask) override;
  /// Synchronises the stream, then destroys it; its green context stays for the next stream on the
  /// same atoms. Unknown handles are ignored.
  void destroy_stream(StreamHandle stream) noexcept override;
  MarkerHandle record_marker(StreamHandle stream) override;
  bool marker_done(MarkerHandle marker) override;
  void wait_marker(StreamHandle stream, MarkerHandle marker) override;
  void release_marker(MarkerHandle marker) noexcept override;
  /// Green contexts are fixed at creation: always throws Errc::unavailable.
  void remask_stream(StreamHandle stream, const CuMask& mask) override;

  const DeviceInfo& device() const noexcept;
  /// Streams created and not yet destroyed (tests check that a failed pool leaves none).
  unsigned live_streams() const;
  /// Green contexts made so far: one per set of atoms a stream was created on.
  unsigned green_contexts() const;
  /// The mask a stream was created with; throws Errc::invalid_argument for an unknown handle.
  CuMask mask_of(StreamHandle stream) const;
  /// cuStreamSynchronize.
  void synchronize(StreamHandle stream);
  /// cuGraphLaunch of an instantiated graph (a CUgraphExec / cudaGraphExec_t) on `stream`.
  void launch_graph(StreamHandle stream, std::uint64_t graph_exec);
  /// cuLaunchKernel of a module function (a CUfunction) on `stream`; `extra` may be null.
  void launch_function(StreamHandle stream, CUfunction function, dim3 grid, dim3 block, unsigned shared_bytes,
                       void** args, void** extra);
  /// The CUcontext a stream's work runs in: its green context as a CUcontext (cuCtxFromGreenCtx),
  /// the same for every stream on the same atoms, or the primary context for a whole-device
  /// stream. Throws Errc::invalid_argument for a handle this backend did not create.
  CUcontext context_of(StreamHandle stream) const;
  /// Makes `stream`'s context current on the calling thread (cuCtxPushCurrent of context_of). Work
  /// a library issues on streams it creates itself then stays in the partition: cuDNN and cuBLAS
  /// create internal streams in the *current* context, so a graph captured on a green stream while
  /// the primary context is current runs those kernels on every SM (found on the H100, see
  /// docs/cuda.md "Capturing graphs per partition"). Pair with pop_context() on the same thread.
  /// A green context can be current to one thread at a time (cuGreenCtxCreate) and streams on the
  /// same atoms share one: a push of a green context pushed on another thread waits for that
  /// thread's pop (captures on one partition from several threads take turns), and after 30 s
  /// throws Errc::invalid_argument naming the stream and its SMs. Do not nest pushes of two
  /// partitions in opposite orders on two threads. The primary context has no such limit.
  void push_context(StreamHandle stream);
  /// cuCtxPopCurrent: undoes the calling thread's last push_context().
  void pop_context();

  /// push_context() for a scope: the stream's context is current on this thread while it lives.
  ///   { auto current = backend.current(slot.stream); capture_on(slot.stream); }
  class ContextGuard {
   public:
    ContextGuard(GreenContextBackend& backend, StreamHandle stream) : backend_(&backend) { backend.push_context(stream); }
    ~ContextGuard() {
      if (backend_) backend_->pop_context();
    }
    ContextGuard(ContextGuard&& o) noexcept : backend_(o.backend_) { o.backend_ = nullptr; }
    ContextGuard(const ContextGuard&) = delete;
    ContextGuard& operator=(const ContextGuard&) = delete;
    ContextGuard& operator=(ContextGuard&&) = delete;

   private:
    GreenContextBackend* backend_;
  };
  [[nodiscard]] ContextGuard current(StreamHandle stream) { return ContextGuard(*this, stream); }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The raw stream behind a handle of this backend.
inline cudaStream_t stream_of(StreamHandle h) noexcept { return reinterpret_cast<cudaStream_t>(h.value); }
inline StreamHandle handle_of(cudaStream_t s) noexcept { return StreamHandle{reinterpret_cast<std::uint64_t>(s)}; }

namespace detail {
[[noreturn]] inline void throw_runtime(cudaError_t e, const char* call) {
  throw Error(Errc::backend, fmt::format("{} failed: {} ({})", call, cudaGetErrorName(e), cudaGetErrorString(e)));
}
inline void check_runtime(cudaError_t e, const char* call) {
  if (e != cudaSuccess) throw_runtime(e, call);
}
}  // namespace detail

}  // namespace eclip::cuda
