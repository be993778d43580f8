#pragma once
// eclip::hip: the AMD backend over HIP (ROCm 5.2 and later).
//
// Partitions. A partition is a HIP stream created once with hipExtStreamCreateWithCUMask: ROCclr
// gives every CU-masked stream its own HSA hardware queue with the mask applied by
// hsa_amd_queue_cu_set_mask (docs/amd.md cites the source). A full mask gives a plain
// hipStreamCreateWithFlags(hipStreamNonBlocking) stream (no mask, so no dedicated queue: ROCclr
// shares unmasked streams over GPU_MAX_HW_QUEUES = 4 queues).
//
// Units. The topology's groups are the device's shader engines (HSA_AMD_AGENT_INFO_NUM_SHADER_ENGINES
// on the GPU agent) and CuMask unit u is the u-th CU counting engine by engine. That is NOT the
// driver's bit order: amdkfd deals mask bits round-robin over engines (bit 0 -> SE0, bit 1 -> SE1,
// ...), so the backend translates every mask with hsa::CuMaskLayout (cu_mask_layout.hpp) before
// passing it to HIP. On an MI50 the partition "SE 0" (units 0-14) becomes HIP words
// {0x11111111, 0x01111111}; passing CuMask::hip_words() unchanged would spread it over all four
// engines. Options::raw_cu_bits turns the translation off (unit u = driver bit u).
//
// Order across streams. Markers are pooled hipEvents; marker_done is hipEventQuery; the barrier is
// hipStreamWaitEvent. ROCclr turns that wait into an AQL barrier-AND packet on the waiting queue
// (after spinning up to ROC_ACTIVE_WAIT_TIMEOUT = 10 us on the host in case the predecessor ends
// first). eclip cannot write its own barrier packet into ROCclr's queue: HIP 5.2 exposes no
// hipStream_t -> hsa_queue_t mapping. docs/amd.md gives the source references, the costs, and what
// an eclip-owned HSA queue (hsa/queue.hpp) saves.
//
// Remask. HIP 5.2 cannot change a stream's mask in place, so remask_stream() throws
// Errc::unavailable; the per-kernel remask baseline runs on an eclip-owned hsa::Queue
// (bench/hip). Without an AMD GPU the constructor throws Errc::unavailable:
//   "no AMD GPU (hipGetDeviceCount = hipErrorNoDevice)".
//
// Launching through the router (launch, launch_module) is in eclip/backend/hip_launch.hpp, so the
// backend itself does not depend on the router. Example:
//   eclip::hip::HipBackend gpu;                       // device 0
//   eclip::PartitionPool pool(gpu, workers, plan.pool_specs(gpu.topology()));
//   eclip::KernelRouter router(pool, plan);
//   router.begin_request(w);
//   eclip::hip::launch(router, w, my_kernel, dim3(64), dim3(256), 0, d_x, n);
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <hip/hip_runtime_api.h>

#include <fmt/format.h>

#include "eclip/runtime/backend.hpp"
#include "eclip/backend/hsa/cu_mask_layout.hpp"
#include "eclip/core/topology.hpp"

namespace eclip::hip {

struct Options {
  int device = 0;  ///< HIP device ordinal (after HIP_VISIBLE_DEVICES)
  /// CU-masked streams the pool may create. ECLIP measured oversubscription past 7 masked streams
  /// (+ the default = 8 hardware queues) on an MI50; assumed for other devices until measured
  /// (bench/hip/bench_queue_tail measures it).
  unsigned max_masked_streams = 7;
  /// hipEvents created up front for markers; more are created on demand.
  unsigned marker_pool = 64;
  /// Pass CuMask bits to HIP unchanged (unit u = driver bit u) instead of translating eclip's
  /// engine-major units. For experiments that reproduce naive contiguous-bit masks.
  bool raw_cu_bits = false;
};

/// What the backend read from the device.
struct DeviceInfo {
  int ordinal = 0;
  std::string name;                 ///< hipDeviceProp_t::name, e.g. "AMD Instinct MI210"
  std::string arch;                 ///< hipDeviceProp_t::gcnArchName, e.g. "gfx90a:sramecc+:xnack-"
  unsigned compute_units = 0;       ///< hipDeviceProp_t::multiProcessorCount
  unsigned shader_engines = 0;      ///< HSA_AMD_AGENT_INFO_NUM_SHADER_ENGINES
  unsigned arrays_per_engine = 0;   ///< HSA_AMD_AGENT_INFO_NUM_SHADER_ARRAYS_PER_SE
  unsigned xccs = 1;                ///< compute dies (gfx94x: shader engines / 4)
  int pci_domain = 0, pci_bus = 0, pci_device = 0;
  std::string hsa_agent;            ///< HSA_AGENT_INFO_NAME of the matched agent, e.g. "gfx90a"
  /// How the GPU agent was matched to the HIP device ("PCI 0000:63:00" or a fallback).
  std::string agent_match;
  /// Non-empty when the CU layout had to be assumed (uneven engines): says what was assumed.
  std::string layout_note;
};

/// "hipErrorInvalidValue (invalid argument)"; just the name when HIP's string repeats it.
inline std::string error_text(hipError_t e) {
  const char* name = hipGetErrorName(e);
  const char* text = hipGetErrorString(e);
  std::string_view n = name ? name : "hipError?";
  std::string_view t = text ? text : "";
  if (t.empty() || t == n) return std::string(n);
  return fmt::format("{} ({})", n, t);
}

namespace detail {
[[noreturn]] inline void throw_hip(hipError_t e, std::string_view call, Errc code = Errc::backend) {
  throw Error(code, fmt::format("{} failed: {}", call, error_text(e)));
}
inline void check(hipError_t e, std::string_view call, Errc code = Errc::backend) {
  if (e != hipSuccess) throw_hip(e, call, code);
}
}  // namespace detail

/// "" when HIP reports at least one device; otherwise why not, e.g.
/// "no AMD GPU (hipGetDeviceCount = hipErrorNoDevice)". Tests, examples and benchmarks print it
/// as their skip reason.
std::string unavailable_reason();

/// "MI50" for "AMD Instinct MI50/MI60", "MI300X" for "AMD Instinct MI300X": the first word that
/// starts with "MI" and a digit, cut at '/' (the preset names plans refer to); otherwise the
/// architecture without its feature flags ("gfx906" for "gfx906:sramecc+:xnack-").
std::string short_device_name(std::string_view name, std::string_view arch);

/// The topology of a device laid out as `layout`: one group per shader engine; size classes 1..n
/// groups for n <= 4, else the powers of two below n and n (MI50: 1,2,3,4; MI100: 1,2,4,8).
Topology topology_from_layout(std::string_view device_name, const hsa::CuMaskLayout& layout,
                              unsigned max_masked_streams, std::string source);

class HipBackend final : public Backend {
 public:
  /// Finds the device and its HSA agent, reads its CU/engine layout, creates the marker pool.
  /// Throws Errc::unavailable without an AMD GPU (the message says which call said so),
  /// Errc::invalid_argument for a bad ordinal, Errc::backend when a HIP/HSA call fails.
  explicit HipBackend(const Options& options = {});
  ~HipBackend() override;
  HipBackend(const HipBackend&) = delete;
  HipBackend& operator=(const HipBackend&) = delete;

  std::string_view name() const noexcept override { return "hip"; }
  const Topology& topology() const noexcept override;

  /// Full mask: hipStreamCreateWithFlags(hipStreamNonBlocking). Otherwise
  /// hipExtStreamCreateWithCUMask(ceil(CUs/32) words of the translated mask). The handle's value
  /// is the hipStream_t.
  StreamHandle create_stream(const CuMask& mask) override;
  /// hipStreamDestroy. Unknown handles are ignored.
  void destroy_stream(StreamHandle stream) noexcept override;
  /// hipEventRecord of a pooled event (hipEventDisableTiming) on `stream`.
  MarkerHandle record_marker(StreamHandle stream) override;
  /// hipEventQuery: hipSuccess = done, hipErrorNotReady = not yet, anything else throws.
  bool marker_done(MarkerHandle marker) override;
  /// hipStreamWaitEvent(stream, event, 0).
  void wait_marker(StreamHandle stream, MarkerHandle marker) override;
  /// Returns the event to the pool. A later re-record does not affect waits already enqueued:
  /// HIP captures the event's current command when hipStreamWaitEvent is called.
  void release_marker(MarkerHandle marker) noexcept override;
  /// Always throws Errc::unavailable: HIP 5.2 has no call that changes a stream's CU mask, and the
  /// HSA queue behind a stream is private to ROCclr. Use hsa::Queue::set_cu_mask on a queue eclip
  /// owns (bench/hip/bench_remask).
  void remask_stream(StreamHandle stream, const CuMask& mask) override;

  const DeviceInfo& device() const noexcept;
  const hsa::CuMaskLayout& layout() const noexcept;
  /// The HIP words a mask is created with (the translation create_stream applies).
  std::vector<std::uint32_t> hip_words(const CuMask& mask) const;
  /// Streams created and not yet destroyed.
  unsigned live_streams() const;
  /// The mask a stream was created with; throws Errc::invalid_argument for an unknown handle.
  CuMask mask_of(StreamHandle stream) const;
  /// hipStreamSynchronize.
  void synchronize(StreamHandle stream);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The raw stream/event behind a handle of this backend, and back.
inline hipStream_t stream_of(StreamHandle h) noexcept { return reinterpret_cast<hipStream_t>(h.value); }
inline StreamHandle handle_of(hipStream_t s) noexcept { return StreamHandle{reinterpret_cast<std::uint64_t>(s)}; }
inline hipEvent_t event_of(MarkerHandle m) noexcept { return reinterpret_cast<hipEvent_t>(m.value); }

}  // namespace eclip::hip
