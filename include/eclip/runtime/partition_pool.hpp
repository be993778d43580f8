#pragma once
// PartitionPool: every masked stream a run needs, created once, up front.
//
// Changing a queue's CU mask is an IOCTL (55 us on an MI50, longer than many inference kernels;
// ECLIP), and a CUDA green context + stream costs ~3.3 ms to create (measured on H100), so the
// pool pays creation once and the router only chooses among existing streams.
//
// Layout: each worker has slot 0, its fallback stream (unmasked, the whole device), and one slot
// per distinct partition config it asked for, grown from its home group so co-located workers
// overlap as little as possible: the plan's home range when it gives one (static splits: disjoint
// by construction), else the topology's evenly spread home group. The whole-device config maps to slot 0. The pool refuses to
// create more masked streams than the topology's queue limit.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include <fmt/format.h>

#include "eclip/runtime/backend.hpp"
#include "eclip/core/partition_config.hpp"

namespace eclip {

class PartitionPool {
 public:
  static constexpr std::uint16_t kFallbackSlot = 0;

  struct Slot {
    PartitionConfig config;
    CuMask mask;
    StreamHandle stream;
  };

  /// Creates all streams. On any failure, destroys what it created (no half-built pool) and
  /// throws; the error names the worker, the config and the backend call that failed.
  PartitionPool(Backend& backend, unsigned workers, std::span<const PartitionSpec> specs)
      : backend_(backend), slots_(workers) {
    const Topology& topo = backend.topology();
    if (workers == 0) throw Error(Errc::invalid_argument, "PartitionPool: 0 workers");
    std::vector<PartitionSpec> masked;
    for (const PartitionSpec& s : specs) {
      if (s.worker >= workers)
        throw Error(Errc::invalid_argument,
                    fmt::format("PartitionPool: spec for worker {} but the pool has {} workers", s.worker, workers));
      if (s.config.groups == 0 || s.config.groups > topo.group_count())
        throw Error(Errc::invalid_argument,
                    fmt::format("PartitionPool: worker {} asks for {} groups; {} has 1..{}", s.worker,
                                s.config.groups, topo.name, topo.group_count()));
      if (s.first_group && *s.first_group >= topo.group_count())
        throw Error(Errc::invalid_argument,
                    fmt::format("PartitionPool: worker {}'s partition starts at group {}; {} has groups 0..{}", s.worker,
                                *s.first_group, topo.name, topo.group_count() - 1));
      if (!s.config.whole_device(topo)) masked.push_back(s);
    }
    std::sort(masked.begin(), masked.end());
    masked.erase(std::unique(masked.begin(), masked.end()), masked.end());
    if (masked.size() > topo.max_masked_streams)
      throw Error(Errc::capacity,
                  fmt::format("PartitionPool: the plan needs {} CU-masked streams but {} holds at most {} "
                              "(more oversubscribes its hardware queues)",
                              masked.size(), topo.name, topo.max_masked_streams));
    try {
      const PartitionConfig whole{topo.group_count()};
      for (unsigned w = 0; w < workers; ++w) add(w, whole, topo.all());
      for (const PartitionSpec& s : masked)
        add(s.worker, s.config, s.config.mask(topo, s.first_group.value_or(topo.home_group(s.worker, workers))));
    } catch (...) {
      destroy_all();
      throw;
    }
  }
  ~PartitionPool() { destroy_all(); }
  PartitionPool(const PartitionPool&) = delete;
  PartitionPool& operator=(const PartitionPool&) = delete;

  Backend& backend() const noexcept { return backend_; }
  unsigned workers() const noexcept { return static_cast<unsigned>(slots_.size()); }
  /// The worker's slots; slot 0 is its fallback (whole-device) stream.
  std::span<const Slot> slots(unsigned worker) const { return std::span<const Slot>(slots_.at(check(worker))); }
  StreamHandle fallback(unsigned worker) const { return slots(worker)[kFallbackSlot].stream; }
  /// The slot of `config` for `worker`, if the pool holds it.
  std::optional<std::uint16_t> find(unsigned worker, PartitionConfig config) const {
    auto s = slots(worker);
    for (std::uint16_t i = 0; i < s.size(); ++i)
      if (s[i].config == config) return i;
    return std::nullopt;
  }
  unsigned masked_stream_count() const {
    unsigned n = 0;
    for (const auto& w : slots_) n += static_cast<unsigned>(w.size() - 1);
    return n;
  }

 private:
  unsigned check(unsigned worker) const {
    if (worker >= slots_.size())
      throw Error(Errc::invalid_argument, fmt::format("worker {} out of range: pool has {} workers", worker, slots_.size()));
    return worker;
  }
  void add(unsigned worker, PartitionConfig config, const CuMask& mask) {
    StreamHandle h;
    try {
      h = backend_.create_stream(mask);
    } catch (const Error& e) {
      throw Error(e.code(), fmt::format("PartitionPool: creating the stream of worker {} ({} groups, units {}) "
                                        "failed: {}", worker, config.groups, mask.to_string(), e.what()));
    }
    try {
      created_.push_back(h);
    } catch (...) {
      backend_.destroy_stream(h);
      throw;
    }
    slots_[worker].push_back(Slot{config, mask, h});  // after: destroy_all() now owns h
  }
  void destroy_all() noexcept {
    for (auto it = created_.rbegin(); it != created_.rend(); ++it) backend_.destroy_stream(*it);
    created_.clear();
  }

  Backend& backend_;
  std::vector<std::vector<Slot>> slots_;
  std::vector<StreamHandle> created_;  // creation order, destroyed in reverse
};

}  // namespace eclip
