#pragma once
// A Backend test double that keeps one log of everything that reaches its streams: marker
// records, waits, and the work a test issues (issue()), in the order the calls happened. From the
// log, happens_before() answers whether one item is ordered before another by stream order and
// marker waits, which is what a GPU would guarantee. Thread-safe.
#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

#include "eclip/runtime/backend.hpp"

namespace eclip::testing {

class StreamLogBackend final : public Backend {
 public:
  struct Op {
    enum Kind { record, wait, work } kind;
    std::uint64_t stream = 0;
    std::uint64_t marker = 0;  ///< record / wait
    long tag = -1;             ///< work
  };
  explicit StreamLogBackend(Topology t) : topo_(std::move(t)) {}

  std::string_view name() const noexcept override { return "stream-log"; }
  const Topology& topology() const noexcept override { return topo_; }
  StreamHandle create_stream(const CuMask&) override { return StreamHandle{next_stream_.fetch_add(1) + 1}; }
  void destroy_stream(StreamHandle) noexcept override {}
  MarkerHandle record_marker(StreamHandle s) override {
    std::lock_guard lock(mutex_);
    ops_.push_back({Op::record, s.value, ++markers_, -1});
    return MarkerHandle{markers_};
  }
  bool marker_done(MarkerHandle) override { return done.load(std::memory_order_relaxed); }
  void wait_marker(StreamHandle s, MarkerHandle m) override {
    std::lock_guard lock(mutex_);
    ops_.push_back({Op::wait, s.value, m.value, -1});
  }
  void release_marker(MarkerHandle) noexcept override {}

  /// Work the test puts on `stream` (a kernel launch, a copy), named by `tag`.
  void issue(StreamHandle stream, long tag) {
    std::lock_guard lock(mutex_);
    ops_.push_back({Op::work, stream.value, 0, tag});
  }
  std::vector<Op> log() const {
    std::lock_guard lock(mutex_);
    return ops_;
  }
  /// Indices of the work items in log order.
  static std::vector<long> work(const std::vector<Op>& log) {
    std::vector<long> out;
    for (std::size_t i = 0; i < log.size(); ++i)
      if (log[i].kind == Op::work) out.push_back(static_cast<long>(i));
    return out;
  }
  /// Op `a` is ordered before op `b`: a path back from b through "previous op on the same
  /// stream" and "a wait follows its marker's record" reaches a.
  static bool happens_before(const std::vector<Op>& log, long a, long b) {
    if (a < 0 || b <= a) return false;
    std::vector<char> seen(log.size(), 0);
    std::vector<long> todo{b};
    while (!todo.empty()) {
      const long j = todo.back();
      todo.pop_back();
      if (j == a) return true;
      if (j < a || seen[static_cast<std::size_t>(j)]) continue;
      seen[static_cast<std::size_t>(j)] = 1;
      const Op& op = log[static_cast<std::size_t>(j)];
      for (long i = j - 1; i >= a; --i)
        if (log[static_cast<std::size_t>(i)].stream == op.stream) {
          todo.push_back(i);
          break;
        }
      if (op.kind == Op::wait)
        for (long i = j - 1; i >= a; --i)
          if (log[static_cast<std::size_t>(i)].kind == Op::record && log[static_cast<std::size_t>(i)].marker == op.marker) {
            todo.push_back(i);
            break;
          }
    }
    return false;
  }

  std::atomic<bool> done{false};  ///< what marker_done answers

 private:
  Topology topo_;
  mutable std::mutex mutex_;
  std::vector<Op> ops_;
  std::uint64_t markers_ = 0;
  std::atomic<std::uint64_t> next_stream_{0x100};
};

}  // namespace eclip::testing
