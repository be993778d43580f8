#pragma once
// A Backend test double: records every call, answers marker_done from a script the test sets,
// and can be told to fail a given call. Thread-safe (the router calls it from worker threads).
#include <functional>
#include <map>
#include <mutex>
#include <vector>

#include "eclip/runtime/backend.hpp"

namespace eclip::testing {

class FakeBackend final : public Backend {
 public:
  struct Call {
    enum Kind { create, destroy, record, query, wait, release } kind;
    std::uint64_t a = 0, b = 0;
  };
  explicit FakeBackend(Topology t) : topo_(std::move(t)) {}

  std::string_view name() const noexcept override { return "fake"; }
  const Topology& topology() const noexcept override { return topo_; }
  StreamHandle create_stream(const CuMask& mask) override {
    std::lock_guard l(mu_);
    if (fail_create_after >= 0 && created_ok_ >= fail_create_after)
      throw Error(Errc::backend, "fakeStreamCreate failed: out of queues");
    ++created_ok_;
    masks.push_back(mask);
    live.push_back(true);
    calls.push_back({Call::create, masks.size(), 0});
    return StreamHandle{masks.size()};
  }
  void destroy_stream(StreamHandle s) noexcept override {
    std::lock_guard l(mu_);
    live.at(s.value - 1) = false;
    calls.push_back({Call::destroy, s.value, 0});
  }
  MarkerHandle record_marker(StreamHandle s) override {
    std::lock_guard l(mu_);
    if (fail_record) throw Error(Errc::backend, "fakeEventRecord failed: device lost");
    calls.push_back({Call::record, s.value, ++next_marker_});
    marker_stream_[next_marker_] = s.value;
    return MarkerHandle{next_marker_};
  }
  bool marker_done(MarkerHandle m) override {
    std::lock_guard l(mu_);
    calls.push_back({Call::query, m.value, 0});
    return done_answer ? done_answer(marker_stream_.at(m.value)) : true;
  }
  void wait_marker(StreamHandle s, MarkerHandle m) override {
    std::lock_guard l(mu_);
    if (fail_wait) throw Error(Errc::backend, "fakeStreamWaitEvent failed: invalid handle");
    calls.push_back({Call::wait, s.value, m.value});
  }
  void release_marker(MarkerHandle m) noexcept override {
    std::lock_guard l(mu_);
    calls.push_back({Call::release, m.value, 0});
    ++released;
  }

  // Test controls (set before routing).
  std::function<bool(std::uint64_t stream)> done_answer;  // is the marker on this stream complete?
  int fail_create_after = -1;
  bool fail_record = false, fail_wait = false;
  // Observations.
  std::vector<CuMask> masks;
  std::vector<bool> live;
  std::vector<Call> calls;
  std::uint64_t released = 0;
  std::uint64_t recorded() const {
    std::uint64_t n = 0;
    for (auto& c : calls) n += c.kind == Call::record;
    return n;
  }

 private:
  Topology topo_;
  std::mutex mu_;
  int created_ok_ = 0;
  std::uint64_t next_marker_ = 0;
  std::map<std::uint64_t, std::uint64_t> marker_stream_;
};

}  // namespace eclip::testing
