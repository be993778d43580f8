#include <random>
#include <thread>

#include <catch2/catch.hpp>

#include "eclip/runtime/ordered_lane.hpp"
#include "fake_backend.hpp"
#include "stream_log_backend.hpp"

using namespace eclip;
using eclip::testing::FakeBackend;
using eclip::testing::StreamLogBackend;

TEST_CASE("a lane move waits only when the predecessor has not completed", "[lane]") {
  FakeBackend be(presets::mi50());
  const StreamHandle home{10}, p{11}, q{12};
  OrderedLane lane(home);
  bool done = false;
  be.done_answer = [&](std::uint64_t) { return done; };

  LaneStep s = lane.step(be, home);  // already there: nothing at all
  CHECK(s.stream == home);
  CHECK_FALSE(s.switched);
  CHECK(be.calls.empty());

  s = lane.step(be, p);  // predecessor incomplete: record on home, query, wait on p, release
  CHECK(s.stream == p);
  CHECK(s.switched);
  CHECK(s.barrier);
  REQUIRE(be.calls.size() == 4);
  CHECK(be.calls[0].kind == FakeBackend::Call::record);
  CHECK(be.calls[0].a == home.value);
  CHECK(be.calls[1].kind == FakeBackend::Call::query);
  CHECK(be.calls[2].kind == FakeBackend::Call::wait);
  CHECK(be.calls[2].a == p.value);
  CHECK(be.calls[2].b == be.calls[0].b);
  CHECK(be.calls[3].kind == FakeBackend::Call::release);
  CHECK(lane.tail() == p);

  done = true;  // predecessor complete: the marker is recorded and queried, but no wait
  be.calls.clear();
  s = lane.enter(be, q);
  lane.leave();
  CHECK(s.switched);
  CHECK_FALSE(s.barrier);
  REQUIRE(be.calls.size() == 3);
  CHECK(be.calls[0].a == p.value);
  CHECK(be.calls[1].kind == FakeBackend::Call::query);
  CHECK(be.calls[2].kind == FakeBackend::Call::release);

  be.calls.clear();  // always_wait (the eager join): no query, always a wait
  s = lane.step(be, home, nullptr, /*always_wait=*/true);
  CHECK(s.barrier);
  REQUIRE(be.calls.size() == 3);
  CHECK(be.calls[1].kind == FakeBackend::Call::wait);
  CHECK(be.released == 3);  // every marker given back
}

TEST_CASE("a lane's first step is unordered; a failed marker call keeps the tail", "[lane]") {
  FakeBackend be(presets::mi50());
  OrderedLane lane;
  CHECK_FALSE(lane.started());
  LaneStep s = lane.step(be, StreamHandle{5});
  CHECK(s.stream == StreamHandle{5});
  CHECK_FALSE(s.switched);
  CHECK(be.calls.empty());
  be.done_answer = [](std::uint64_t) { return false; };
  be.fail_wait = true;
  std::string error;
  s = lane.enter(be, StreamHandle{6}, &error);
  lane.leave();
  CHECK(s.failed);
  CHECK(s.stream == StreamHandle{5});  // stays where the work is: stream order keeps it correct
  CHECK(lane.tail() == StreamHandle{5});
  CHECK_THAT(error, Catch::Contains("fakeStreamWaitEvent failed"));
  CHECK(be.released == be.recorded());
}

// Several threads issue into one lane, each item to a stream of its own choosing: every item must
// be ordered after the item logged before it (one chain, as on one stream), whichever thread
// issued it. A lane whose optimistic issue could race a move would leave an item on the old tail
// after the mover's marker: the next item would not be ordered after it.
TEST_CASE("threads sharing a lane keep one chain of work", "[lane][threads]") {
  {  // markers never complete: every order edge is a wait the log can show
    StreamLogBackend be(presets::mi50());
    const StreamHandle home{1}, p{2}, q{3};
    OrderedLane lane(home);
    constexpr int kThreads = 3, kItems = 1500;
    std::vector<std::thread> ts;
    for (int t = 0; t < kThreads; ++t)
      ts.emplace_back([&, t] {
        std::mt19937 rng(static_cast<unsigned>(t + 1));
        const StreamHandle targets[] = {home, p, q, p, p};  // mostly stays: the lock-free path
        for (int i = 0; i < kItems; ++i) {
          const LaneStep s = lane.enter(be, targets[rng() % 5]);
          if (rng() % 4 == 0) std::this_thread::yield();  // widen the window between decision and issue
          be.issue(s.stream, t * kItems + i);
          lane.leave();
        }
      });
    for (auto& t : ts) t.join();
    const auto log = be.log();
    const auto work = StreamLogBackend::work(log);
    REQUIRE(work.size() == kThreads * kItems);
    long broken = 0;
    for (std::size_t i = 1; i < work.size(); ++i) broken += !StreamLogBackend::happens_before(log, work[i - 1], work[i]);
    CHECK(broken == 0);
  }
}
