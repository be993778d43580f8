#pragma once
// A fake AQL queue in host memory and a fake packet processor that drains it, so ring.hpp and
// packet.hpp run without a GPU.
//
// FakeQueue models the hsa_queue_t fields ring.hpp touches: a 64-byte-aligned ring of `size`
// slots initialised to INVALID headers, 64-bit atomic write/read indices, and a doorbell.
// FakeProcessor plays the GPU's command processor: it consumes packets in order up to the last
// doorbell value; a slot whose header is still INVALID has not been published and stops it; a
// barrier-AND packet stalls the queue until every dependency signal is 0, then decrements its
// completion signal; a barrier bit is honoured trivially because packets complete in order. After
// consuming a packet it writes INVALID back into the header and advances the read index.
//
// Fake signals: a signal handle is the address of a FakeSignal (an atomic 64-bit value), which is
// what a real hsa_signal_t handle is too (a pointer to the runtime's amd_signal_t).
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#include <hsa/hsa.h>

#include "eclip/backend/hsa/packet.hpp"
#include "eclip/backend/hsa/ring.hpp"

namespace eclip::testing {

struct FakeSignal {
  std::atomic<std::int64_t> value;
  explicit FakeSignal(std::int64_t v = 1) : value(v) {}
  hsa_signal_t handle() { return hsa_signal_t{reinterpret_cast<std::uint64_t>(this)}; }
  static FakeSignal* from(hsa_signal_t s) { return reinterpret_cast<FakeSignal*>(s.handle); }
};

class FakeQueue {
 public:
  explicit FakeQueue(std::uint32_t size, std::uint64_t first_index = 0)
      : size_(size), ring_(static_cast<unsigned char*>(std::aligned_alloc(hsa::kPacketBytes, size * hsa::kPacketBytes))),
        write_(first_index), read_(first_index), doorbell_(static_cast<std::int64_t>(first_index) - 1) {
    for (std::uint32_t i = 0; i < size; ++i) {
      std::memset(ring_.get() + i * hsa::kPacketBytes, 0, hsa::kPacketBytes);
      const std::uint16_t h = hsa::kInvalidHeader;
      std::memcpy(ring_.get() + i * hsa::kPacketBytes, &h, sizeof h);
    }
  }

  // PacketQueue
  void* base_address() const noexcept { return ring_.get(); }
  std::uint32_t size() const noexcept { return size_; }
  std::uint64_t add_write_index(std::uint64_t n) noexcept { return write_.fetch_add(n, std::memory_order_acq_rel); }
  std::uint64_t cas_write_index(std::uint64_t expected, std::uint64_t desired) noexcept {
    write_.compare_exchange_strong(expected, desired, std::memory_order_acq_rel);
    return expected;  // the observed value, as hsa_queue_cas_write_index returns
  }
  std::uint64_t load_write_index() const noexcept { return write_.load(std::memory_order_relaxed); }
  std::uint64_t load_read_index() const noexcept { return read_.load(std::memory_order_acquire); }
  void ring_doorbell(std::uint64_t index) noexcept {
    // A doorbell never moves backwards for the processor (several producers may ring out of order).
    std::int64_t v = static_cast<std::int64_t>(index);
    std::int64_t cur = doorbell_.load(std::memory_order_relaxed);
    while (cur < v && !doorbell_.compare_exchange_weak(cur, v, std::memory_order_release)) {
    }
    rings_.fetch_add(1, std::memory_order_relaxed);
  }

  // What the processor uses.
  std::int64_t doorbell() const noexcept { return doorbell_.load(std::memory_order_acquire); }
  std::uint64_t doorbell_rings() const noexcept { return rings_.load(std::memory_order_relaxed); }
  void advance_read_index() noexcept { read_.fetch_add(1, std::memory_order_release); }
  unsigned char* slot(std::uint64_t index) const noexcept {
    return static_cast<unsigned char*>(hsa::slot_address(ring_.get(), size_, index));
  }

 private:
  struct Free {
    void operator()(unsigned char* p) const noexcept { std::free(p); }
  };
  std::uint32_t size_;
  std::unique_ptr<unsigned char, Free> ring_;
  std::atomic<std::uint64_t> write_;
  std::atomic<std::uint64_t> read_;
  std::atomic<std::int64_t> doorbell_;
  std::atomic<std::uint64_t> rings_{0};
};
static_assert(hsa::PacketQueue<FakeQueue>);

class FakeProcessor {
 public:
  enum class Step { consumed, empty, not_published, blocked };

  struct Consumed {
    std::uint64_t index;
    hsa::Header header;
    std::uint16_t rest;
    hsa_barrier_and_packet_t packet;  // the raw 64 bytes, viewed as a barrier packet
  };

  explicit FakeProcessor(FakeQueue& q) : q_(q) {}

  /// Tries to consume the packet at the read index.
  Step step() {
    const std::uint64_t index = q_.load_read_index();
    if (static_cast<std::int64_t>(index) > q_.doorbell()) return Step::empty;
    unsigned char* slot = q_.slot(index);
    auto* word = reinterpret_cast<std::uint32_t*>(slot);
    const std::uint32_t hw = std::atomic_ref<std::uint32_t>(*word).load(std::memory_order_acquire);
    const hsa::Header h = hsa::decode(static_cast<std::uint16_t>(hw & 0xffffU));
    if (h.type == hsa::PacketType::invalid) return Step::not_published;
    Consumed c{index, h, static_cast<std::uint16_t>(hw >> 16), {}};
    std::memcpy(&c.packet, slot, sizeof c.packet);
    if (h.type == hsa::PacketType::barrier_and) {
      for (hsa_signal_t dep : c.packet.dep_signal)
        if (dep.handle != 0 && FakeSignal::from(dep)->value.load(std::memory_order_acquire) != 0) return Step::blocked;
    }
    if (c.packet.completion_signal.handle != 0)
      FakeSignal::from(c.packet.completion_signal)->value.fetch_sub(1, std::memory_order_acq_rel);
    {
      std::lock_guard lock(mu_);
      consumed_.push_back(c);
    }
    std::atomic_ref<std::uint32_t>(*word).store(hsa::kInvalidHeader, std::memory_order_relaxed);
    q_.advance_read_index();
    return Step::consumed;
  }

  /// Consumes until the queue is empty, unpublished or blocked; returns what stopped it.
  Step drain() {
    for (;;) {
      Step s = step();
      if (s != Step::consumed) return s;
    }
  }

  std::vector<Consumed> consumed() const {
    std::lock_guard lock(mu_);
    return consumed_;
  }

 private:
  FakeQueue& q_;
  mutable std::mutex mu_;
  std::vector<Consumed> consumed_;
};

}  // namespace eclip::testing
