#pragma once
// The AQL ring: reserving packet slots, writing a packet, publishing its header, ringing the
// doorbell. Written against a small PacketQueue interface so the same code runs on a real HSA
// queue (hsa::Queue, queue.hpp) and on a fake queue in host memory that a test "packet
// processor" drains (tests/backend/hip/fake_queue.hpp): no GPU needed to test the arithmetic.
//
// Ring arithmetic (HSA spec 1.2, "User mode queues"): the queue holds `size` 64-byte slots, size a
// power of two. Write and read indices only grow (64-bit, never wrap in practice); packet `i`
// lives in slot i & (size - 1). A producer owns index i once it has advanced the write index past
// it, and may fill it only while i - read_index < size (else the slot still holds a packet the
// processor has not consumed). Once reserved, a slot must be published: the processor stops at
// the first INVALID header, so an abandoned slot would stall the queue forever. Hence reserve()
// waits for room after reserving, and try_reserve() reserves only if there is room (CAS).
//
// Doorbell: storing index i tells the packet processor that packets up to i may be ready (AMD:
// hsa_signal_store_screlease on queue->doorbell_signal with the index of the last packet written).
#include <atomic>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <optional>
#include <thread>

#include "eclip/backend/hsa/packet.hpp"

namespace eclip::hsa {

/// What ring.hpp needs from a queue. hsa::Queue implements it over hsa_queue_t; tests implement
/// it over host memory.
template <class Q>
concept PacketQueue = requires(Q& q, std::uint64_t v) {
  { q.base_address() } -> std::convertible_to<void*>;
  { q.size() } -> std::convertible_to<std::uint32_t>;         ///< slots; a power of two
  { q.add_write_index(v) } -> std::same_as<std::uint64_t>;    ///< atomic add (acq_rel); old value
  { q.cas_write_index(v, v) } -> std::same_as<std::uint64_t>; ///< CAS(expected, desired); observed
  { q.load_write_index() } -> std::same_as<std::uint64_t>;    ///< relaxed is enough
  { q.load_read_index() } -> std::same_as<std::uint64_t>;     ///< acquire
  { q.ring_doorbell(v) };                                     ///< release store of an index
};

/// Address of the slot packet `index` occupies in a ring of `size` slots.
inline void* slot_address(void* base, std::uint32_t size, std::uint64_t index) noexcept {
  return static_cast<unsigned char*>(base) + (index & (static_cast<std::uint64_t>(size) - 1)) * kPacketBytes;
}

/// True when `size` is a usable ring size (a power of two, at least 2 slots).
constexpr bool valid_ring_size(std::uint64_t size) noexcept { return size >= 2 && (size & (size - 1)) == 0; }

/// Whether packet `index` may be written when the processor has read up to `read_index`.
constexpr bool slot_free(std::uint64_t index, std::uint64_t read_index, std::uint32_t size) noexcept {
  return index - read_index < size;
}

/// Reserves `count` consecutive packets and waits until all their slots are free. Returns the
/// first index. Waiting yields the thread: the processor frees slots as it completes packets.
template <PacketQueue Q>
std::uint64_t reserve(Q& q, std::uint32_t count = 1) {
  const std::uint32_t size = q.size();
  if (count == 0 || count > size)
    throw Error(Errc::invalid_argument,
                fmt::format("hsa::reserve: {} packets do not fit a ring of {} slots", count, size));
  const std::uint64_t first = q.add_write_index(count);
  while (!slot_free(first + count - 1, q.load_read_index(), size)) std::this_thread::yield();
  return first;
}

/// Reserves `count` packets only if their slots are free now; nullopt when the ring is full.
/// Never leaves a reserved slot unpublished.
template <PacketQueue Q>
std::optional<std::uint64_t> try_reserve(Q& q, std::uint32_t count = 1) {
  const std::uint32_t size = q.size();
  if (count == 0 || count > size)
    throw Error(Errc::invalid_argument,
                fmt::format("hsa::try_reserve: {} packets do not fit a ring of {} slots", count, size));
  std::uint64_t expected = q.load_write_index();
  for (;;) {
    if (!slot_free(expected + count - 1, q.load_read_index(), size)) return std::nullopt;
    const std::uint64_t observed = q.cas_write_index(expected, expected + count);
    if (observed == expected) return expected;
    expected = observed;  // another producer won; retry from where it left the index
  }
}

/// Writes the 60 body bytes of `packet` (everything after the header word) into slot `index`.
/// The slot's header word is not touched, so the processor keeps seeing INVALID.
template <PacketQueue Q, class Packet>
void write_body(Q& q, std::uint64_t index, const Packet& packet) noexcept {
  static_assert(sizeof(Packet) == kPacketBytes, "AQL packets are 64 bytes");
  unsigned char* slot = static_cast<unsigned char*>(slot_address(q.base_address(), q.size(), index));
  std::memcpy(slot + 4, reinterpret_cast<const unsigned char*>(&packet) + 4, kPacketBytes - 4);
}

/// Makes slot `index` valid: one 32-bit release store of header | rest << 16, so the body written
/// before it is visible to the processor once it observes the new type.
template <PacketQueue Q>
void publish(Q& q, std::uint64_t index, std::uint16_t header, std::uint16_t rest) noexcept {
  auto* word = static_cast<std::uint32_t*>(slot_address(q.base_address(), q.size(), index));
  std::atomic_ref<std::uint32_t>(*word).store(static_cast<std::uint32_t>(header) | (static_cast<std::uint32_t>(rest) << 16),
                                              std::memory_order_release);
}

/// Reserves a slot, writes `packet`, publishes `header`/`rest` and rings the doorbell. Returns
/// the packet's index.
template <PacketQueue Q, class Packet>
std::uint64_t submit(Q& q, std::uint16_t header, std::uint16_t rest, const Packet& packet) {
  const std::uint64_t index = reserve(q);
  write_body(q, index, packet);
  publish(q, index, header, rest);
  q.ring_doorbell(index);
  return index;
}

/// Submits a barrier-AND packet built with BarrierAnd; returns its index.
template <PacketQueue Q>
std::uint64_t submit(Q& q, const BarrierAnd& barrier) {
  return submit(q, barrier.header(), 0, barrier.body());
}

}  // namespace eclip::hsa
