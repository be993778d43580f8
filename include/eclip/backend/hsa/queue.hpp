#pragma once
// hsa::Queue: an HSA user-mode queue eclip owns (hsa_queue_create on a GPU agent), RAII and
// move-only, usable with ring.hpp (it models PacketQueue) and with a CU mask.
//
// Why own a queue: the HSA queue behind a hipStream_t belongs to ROCclr and no HIP 5.2 API hands
// it out (docs/amd.md, "Can eclip reach the queue behind a hipStream_t?"). On a queue eclip owns it
// can (a) write barrier-AND packets directly and (b) change the CU mask in place with
// hsa_amd_queue_cu_set_mask: the per-kernel remask that ECLIP measured at 55.4 us on an MI50
// (arXiv 2506.12598) and that pre-allocated streams avoid. bench/hip measures both.
//
// CU mask bits: hsa_amd_queue_cu_set_mask passes the words to the kernel driver (ROCr
// AqlQueue::SetCUMasking -> hsaKmtSetQueueCUMask), which spreads bit i round-robin over shader
// engines (cu_mask_layout.hpp). Translate an eclip CuMask with CuMaskLayout::hip_words() first.
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include <hsa/hsa.h>
#include <hsa/hsa_ext_amd.h>

#include "eclip/backend/hsa/ring.hpp"
#include "eclip/backend/hsa/runtime.hpp"

namespace eclip::hsa {

class Queue {
 public:
  Queue() = default;
  /// hsa_queue_create(agent, packets, MULTI: several producers may reserve slots). `packets`
  /// must be a power of two not above HSA_AGENT_INFO_QUEUE_MAX_SIZE.
  static Queue create(hsa_agent_t agent, std::uint32_t packets, hsa_queue_type32_t type = HSA_QUEUE_TYPE_MULTI) {
    if (!valid_ring_size(packets))
      throw Error(Errc::invalid_argument,
                  fmt::format("hsa::Queue: {} packets is not a power of two >= 2", packets));
    hsa_queue_t* q = nullptr;
    check(hsa_queue_create(agent, packets, type, nullptr, nullptr, UINT32_MAX, UINT32_MAX, &q), "hsa_queue_create");
    return Queue(q);
  }
  ~Queue() { reset(); }
  Queue(Queue&& o) noexcept : queue_(std::exchange(o.queue_, nullptr)) {}
  Queue& operator=(Queue&& o) noexcept {
    if (this != &o) {
      reset();
      queue_ = std::exchange(o.queue_, nullptr);
    }
    return *this;
  }
  Queue(const Queue&) = delete;
  Queue& operator=(const Queue&) = delete;

  hsa_queue_t* get() const noexcept { return queue_; }

  // PacketQueue (ring.hpp).
  void* base_address() const noexcept { return queue_->base_address; }
  std::uint32_t size() const noexcept { return queue_->size; }
  std::uint64_t add_write_index(std::uint64_t n) noexcept { return hsa_queue_add_write_index_scacq_screl(queue_, n); }
  std::uint64_t cas_write_index(std::uint64_t expected, std::uint64_t desired) noexcept {
    return hsa_queue_cas_write_index_scacq_screl(queue_, expected, desired);
  }
  std::uint64_t load_write_index() const noexcept { return hsa_queue_load_write_index_relaxed(queue_); }
  std::uint64_t load_read_index() const noexcept { return hsa_queue_load_read_index_scacquire(queue_); }
  void ring_doorbell(std::uint64_t index) noexcept {
    hsa_signal_store_screlease(queue_->doorbell_signal, static_cast<hsa_signal_value_t>(index));
  }

  /// hsa_amd_queue_cu_set_mask with `words` (32 CUs per word, driver bit order). Returns false
  /// when ROCr reports HSA_STATUS_CU_MASK_REDUCED (some requested CUs are disabled by the
  /// process-wide HSA_CU_MASK and stay off); throws for any other failure.
  bool set_cu_mask(std::span<const std::uint32_t> words) {
    const hsa_status_t s =
        hsa_amd_queue_cu_set_mask(queue_, static_cast<std::uint32_t>(words.size() * 32), words.data());
    if (s == static_cast<hsa_status_t>(HSA_STATUS_CU_MASK_REDUCED)) return false;
    check(s, "hsa_amd_queue_cu_set_mask");
    return true;
  }
  /// hsa_amd_queue_cu_get_mask for `compute_units` CUs.
  std::vector<std::uint32_t> cu_mask(unsigned compute_units) const {
    std::vector<std::uint32_t> words((compute_units + 31) / 32);
    check(hsa_amd_queue_cu_get_mask(queue_, static_cast<std::uint32_t>(words.size() * 32), words.data()),
          "hsa_amd_queue_cu_get_mask");
    return words;
  }

 private:
  explicit Queue(hsa_queue_t* q) noexcept : queue_(q) {}
  void reset() noexcept {
    if (queue_ != nullptr) hsa_queue_destroy(queue_);
    queue_ = nullptr;
  }
  hsa_queue_t* queue_ = nullptr;
};

static_assert(PacketQueue<Queue>);

}  // namespace eclip::hsa
