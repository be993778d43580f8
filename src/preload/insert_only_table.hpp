#pragma once
// InsertOnlyTable: a fixed-capacity hash table of heap entries keyed by a 64-bit key, read without
// a lock on the launch path. Entries are only ever added (never erased, never moved), so a pointer
// once published stays valid until the table dies; insertion publishes with one compare-exchange
// (linear probing, acquire/release), and a thread that loses a race for the same key frees its
// copy and uses the winner's. Full: find_or_insert answers null and the caller degrades.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace eclip::preload {

/// `KeyOf` maps an entry to its key: std::uint64_t operator()(const T&).
template <class T, class KeyOf>
class InsertOnlyTable {
 public:
  /// `capacity` is rounded up to a power of two.
  explicit InsertOnlyTable(std::size_t capacity) {
    std::size_t n = 1;
    while (n < capacity) n <<= 1;
    mask_ = n - 1;
    slots_ = std::make_unique<std::atomic<T*>[]>(n);
    for (std::size_t i = 0; i < n; ++i) slots_[i].store(nullptr, std::memory_order_relaxed);
  }
  ~InsertOnlyTable() {
    for (std::size_t i = 0; i <= mask_; ++i) delete slots_[i].load(std::memory_order_relaxed);
  }
  InsertOnlyTable(const InsertOnlyTable&) = delete;
  InsertOnlyTable& operator=(const InsertOnlyTable&) = delete;

  T* find(std::uint64_t key) const noexcept {
    for (std::size_t i = 0, at = home(key); i <= mask_; ++i, at = (at + 1) & mask_) {
      T* e = slots_[at].load(std::memory_order_acquire);
      if (!e) return nullptr;
      if (KeyOf{}(*e) == key) return e;
    }
    return nullptr;
  }

  /// The entry for `key`, made by `make()` (returning std::unique_ptr<T>, may throw) when absent.
  /// Null when the table is full or `make` failed.
  template <class Make>
  T* find_or_insert(std::uint64_t key, Make&& make) noexcept {
    if (T* e = find(key)) return e;
    std::unique_ptr<T> fresh;
    try {
      fresh = make();
    } catch (...) {
      return nullptr;
    }
    if (!fresh) return nullptr;
    for (std::size_t i = 0, at = home(key); i <= mask_; ++i, at = (at + 1) & mask_) {
      T* e = slots_[at].load(std::memory_order_acquire);
      if (!e) {
        if (slots_[at].compare_exchange_strong(e, fresh.get(), std::memory_order_acq_rel, std::memory_order_acquire))
          return fresh.release();
        // Lost the slot: `e` now holds the winner; fall through and compare it.
      }
      if (KeyOf{}(*e) == key) return e;  // another thread made the same entry first
    }
    return nullptr;
  }

 private:
  std::size_t home(std::uint64_t key) const noexcept {
    return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ULL) >> 32) & mask_;
  }

  std::size_t mask_ = 0;
  std::unique_ptr<std::atomic<T*>[]> slots_;
};

}  // namespace eclip::preload
