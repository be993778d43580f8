#pragma once
// AQL packets: header encoding and the barrier-AND packet eclip uses to order a worker's kernel
// after its predecessor on another queue.
//
// An AQL packet is 64 bytes. Its first 16 bits are the header (HSA Platform System Architecture
// spec 1.2, "Architected Queuing Language"; hsa.h hsa_packet_header_t):
//   bits 0-7   type (HSA_PACKET_TYPE_*: 1 = INVALID, 2 = KERNEL_DISPATCH, 3 = BARRIER_AND, ...)
//   bit  8     barrier: the packet processor launches this packet only after every earlier packet
//              of the same queue has completed
//   bits 9-10  acquire fence scope (0 none, 1 agent, 2 system), applied before the packet runs
//   bits 11-12 release fence scope, applied after it completes
// The next 16 bits are packet specific (kernel dispatch: setup dimensions; barrier: reserved).
//
// A barrier-AND packet completes once every non-null dep_signal has value 0; then the packet
// processor decrements its completion_signal (if non-null). A null (handle 0) dependency is
// ignored, so up to five signals fit one packet.
//
// Publishing order (HSA spec, "Packet submission"): write the 60 body bytes, then store the
// 32-bit header+rest word with release semantics so the packet processor, which polls the header,
// never sees a valid type over a half-written body; then ring the doorbell. ring.hpp does that.
// Example:
//   hsa::BarrierAnd b;
//   b.depend_on(prev_kernel_done).complete(barrier_done);  // header(): type 3, barrier bit, agent scopes
//   hsa::submit(queue, b.header(), 0, b.body());
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include <hsa/hsa.h>

#include <fmt/format.h>

#include "eclip/core/error.hpp"

namespace eclip::hsa {

/// Size of every AQL packet, in bytes; ring slots are this large and this aligned.
inline constexpr std::size_t kPacketBytes = 64;
/// Dependency signals one barrier-AND packet holds (hsa_barrier_and_packet_t::dep_signal[5]).
inline constexpr std::size_t kMaxBarrierDeps = 5;

// The layout this file and ring.hpp rely on, checked against the installed hsa.h.
static_assert(sizeof(hsa_barrier_and_packet_t) == kPacketBytes, "AQL barrier-AND packet is 64 bytes");
static_assert(sizeof(hsa_kernel_dispatch_packet_t) == kPacketBytes, "AQL kernel dispatch packet is 64 bytes");
static_assert(sizeof(hsa_barrier_or_packet_t) == kPacketBytes, "AQL barrier-OR packet is 64 bytes");
static_assert(sizeof(hsa_signal_t) == 8, "hsa_signal_t is a 64-bit handle");
static_assert(offsetof(hsa_barrier_and_packet_t, header) == 0, "header first");
static_assert(offsetof(hsa_barrier_and_packet_t, reserved0) == 2, "16 reserved bits follow the header");
static_assert(offsetof(hsa_barrier_and_packet_t, dep_signal) == 8, "dep_signal[0] at byte 8");
static_assert(sizeof(hsa_barrier_and_packet_t::dep_signal) / sizeof(hsa_signal_t) == kMaxBarrierDeps,
              "five dependency signals");
static_assert(offsetof(hsa_barrier_and_packet_t, completion_signal) == 56, "completion_signal at byte 56");
static_assert(offsetof(hsa_kernel_dispatch_packet_t, setup) == 2, "dispatch setup shares the header word");
static_assert(offsetof(hsa_kernel_dispatch_packet_t, completion_signal) == 56, "completion_signal at byte 56");
static_assert(HSA_PACKET_HEADER_TYPE == 0 && HSA_PACKET_HEADER_WIDTH_TYPE == 8, "type: bits 0-7");
static_assert(HSA_PACKET_HEADER_BARRIER == 8 && HSA_PACKET_HEADER_WIDTH_BARRIER == 1, "barrier: bit 8");
static_assert(HSA_PACKET_HEADER_SCACQUIRE_FENCE_SCOPE == 9 && HSA_PACKET_HEADER_WIDTH_SCACQUIRE_FENCE_SCOPE == 2,
              "acquire scope: bits 9-10");
static_assert(HSA_PACKET_HEADER_SCRELEASE_FENCE_SCOPE == 11 && HSA_PACKET_HEADER_WIDTH_SCRELEASE_FENCE_SCOPE == 2,
              "release scope: bits 11-12");

enum class PacketType : std::uint8_t {
  vendor_specific = HSA_PACKET_TYPE_VENDOR_SPECIFIC,
  invalid = HSA_PACKET_TYPE_INVALID,
  kernel_dispatch = HSA_PACKET_TYPE_KERNEL_DISPATCH,
  barrier_and = HSA_PACKET_TYPE_BARRIER_AND,
  agent_dispatch = HSA_PACKET_TYPE_AGENT_DISPATCH,
  barrier_or = HSA_PACKET_TYPE_BARRIER_OR,
};

/// Memory fence scope: none, agent (the GPU's own caches: enough to order two queues of one
/// device) or system (host and peers too: costs an L2 writeback/invalidate).
enum class FenceScope : std::uint8_t {
  none = HSA_FENCE_SCOPE_NONE,
  agent = HSA_FENCE_SCOPE_AGENT,
  system = HSA_FENCE_SCOPE_SYSTEM,
};

struct Header {
  PacketType type = PacketType::invalid;
  bool barrier = false;
  FenceScope acquire = FenceScope::none;
  FenceScope release = FenceScope::none;
  friend bool operator==(const Header&, const Header&) = default;
};

/// The 16-bit AQL header for `h`.
constexpr std::uint16_t encode(const Header& h) noexcept {
  return static_cast<std::uint16_t>((static_cast<unsigned>(h.type) << HSA_PACKET_HEADER_TYPE) |
                                    (static_cast<unsigned>(h.barrier) << HSA_PACKET_HEADER_BARRIER) |
                                    (static_cast<unsigned>(h.acquire) << HSA_PACKET_HEADER_SCACQUIRE_FENCE_SCOPE) |
                                    (static_cast<unsigned>(h.release) << HSA_PACKET_HEADER_SCRELEASE_FENCE_SCOPE));
}

/// The fields of a 16-bit AQL header (bits 13-15 are reserved and ignored).
constexpr Header decode(std::uint16_t bits) noexcept {
  auto field = [bits](unsigned pos, unsigned width) { return (bits >> pos) & ((1U << width) - 1U); };
  return Header{static_cast<PacketType>(field(HSA_PACKET_HEADER_TYPE, HSA_PACKET_HEADER_WIDTH_TYPE)),
                field(HSA_PACKET_HEADER_BARRIER, HSA_PACKET_HEADER_WIDTH_BARRIER) != 0,
                static_cast<FenceScope>(
                    field(HSA_PACKET_HEADER_SCACQUIRE_FENCE_SCOPE, HSA_PACKET_HEADER_WIDTH_SCACQUIRE_FENCE_SCOPE)),
                static_cast<FenceScope>(
                    field(HSA_PACKET_HEADER_SCRELEASE_FENCE_SCOPE, HSA_PACKET_HEADER_WIDTH_SCRELEASE_FENCE_SCOPE))};
}

/// The header an unpublished slot holds: the packet processor stops at it.
inline constexpr std::uint16_t kInvalidHeader = encode(Header{PacketType::invalid, false, FenceScope::none, FenceScope::none});

/// Builds a barrier-AND packet. Defaults: barrier bit set (the packet also waits for the earlier
/// packets of its own queue, as a kernel that follows it would) and agent-scope acquire/release
/// fences: both queues belong to one GPU, so its L2 is the coherence point; system scope would add
/// an L2 writeback and invalidate that cross-queue ordering on one device does not need.
class BarrierAnd {
 public:
  BarrierAnd() = default;

  /// Adds a dependency: the packet completes only after `signal` reaches 0. A null signal
  /// (handle 0) is accepted and ignored, as the packet processor ignores it. A sixth dependency is
  /// an error: split the wait over two packets (ROCclr does the same).
  BarrierAnd& depend_on(hsa_signal_t signal) {
    if (signal.handle == 0) return *this;
    if (deps_ == kMaxBarrierDeps)
      throw Error(Errc::invalid_argument,
                  fmt::format("hsa::BarrierAnd: dependency {} (signal 0x{:x}) exceeds the packet's {} dep_signal "
                              "slots; split it over two packets",
                              deps_ + 1, signal.handle, kMaxBarrierDeps));
    packet_.dep_signal[deps_++] = signal;
    return *this;
  }
  /// The packet processor decrements `signal` when the barrier completes (null: no signal).
  BarrierAnd& complete(hsa_signal_t signal) noexcept {
    packet_.completion_signal = signal;
    return *this;
  }
  BarrierAnd& barrier_bit(bool on) noexcept {
    header_.barrier = on;
    return *this;
  }
  BarrierAnd& acquire(FenceScope s) noexcept {
    header_.acquire = s;
    return *this;
  }
  BarrierAnd& release(FenceScope s) noexcept {
    header_.release = s;
    return *this;
  }

  std::size_t dependency_count() const noexcept { return deps_; }
  Header header_fields() const noexcept { return header_; }
  std::uint16_t header() const noexcept { return encode(header_); }
  /// The packet with its header left INVALID: ring.hpp writes the body first and the header last.
  const hsa_barrier_and_packet_t& body() const noexcept { return packet_; }

 private:
  Header header_{PacketType::barrier_and, true, FenceScope::agent, FenceScope::agent};
  hsa_barrier_and_packet_t packet_ = [] {
    hsa_barrier_and_packet_t p;
    std::memset(&p, 0, sizeof p);
    p.header = kInvalidHeader;
    return p;
  }();
  std::size_t deps_ = 0;
};

}  // namespace eclip::hsa
