#pragma once
// Backend: the small interface every device implementation (sim, hip, cuda) provides.
// The core talks to devices only through it, so no core header includes a vendor header.
#include <cstdint>
#include <string_view>

#include "eclip/core/cu_mask.hpp"
#include "eclip/core/error.hpp"
#include "eclip/core/topology.hpp"

namespace eclip {

/// Opaque stream handle: a hipStream_t, a CUstream, or a simulator queue id.
struct StreamHandle {
  std::uint64_t value = 0;
  friend bool operator==(StreamHandle, StreamHandle) = default;
};
/// Opaque completion marker: a hipEvent_t/HSA signal, a CUevent, or a simulator marker id.
struct MarkerHandle {
  std::uint64_t value = 0;
  friend bool operator==(MarkerHandle, MarkerHandle) = default;
};

/// Implementations must be safe to call concurrently from several threads as long as each
/// thread uses its own streams (the router calls from one thread per worker). Failures throw
/// eclip::Error naming the API call that failed and its error string.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string_view name() const noexcept = 0;
  virtual const Topology& topology() const noexcept = 0;

  /// A stream whose work may run only on `mask`'s units; a full mask gives an unmasked stream.
  virtual StreamHandle create_stream(const CuMask& mask) = 0;
  virtual void destroy_stream(StreamHandle stream) noexcept = 0;

  /// Completion marker: completes once everything enqueued on `stream` so far has completed.
  virtual MarkerHandle record_marker(StreamHandle stream) = 0;
  /// True once the marker has completed. Cheap: a query, never a wait.
  virtual bool marker_done(MarkerHandle marker) = 0;
  /// Barrier: work enqueued on `stream` after this call starts only after `marker` completes.
  virtual void wait_marker(StreamHandle stream, MarkerHandle marker) = 0;
  /// The caller no longer needs `marker`; the backend keeps it alive while waits reference it.
  virtual void release_marker(MarkerHandle marker) noexcept = 0;

  /// Changes an existing stream's mask in place (AMD: hsa_amd_queue_cu_set_mask, an IOCTL).
  /// This is the per-kernel remask baseline that pre-allocated streams replace; backends that
  /// cannot do it (CUDA green contexts are fixed at creation) throw Errc::unavailable.
  virtual void remask_stream(StreamHandle /*stream*/, const CuMask& /*mask*/) {
    throw Error(Errc::unavailable, fmt::format("backend {} cannot remask a stream in place", name()));
  }
};

}  // namespace eclip
