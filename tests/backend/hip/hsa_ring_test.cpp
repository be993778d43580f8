// Ring arithmetic, publication order and barrier semantics on a fake queue drained by a fake
// packet processor (fake_queue.hpp). No GPU needed.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <deque>
#include <thread>
#include <vector>

#include "eclip/backend/hsa/ring.hpp"
#include "fake_queue.hpp"

using namespace eclip;
using testing::FakeProcessor;
using testing::FakeQueue;
using testing::FakeSignal;
using Step = FakeProcessor::Step;

TEST_CASE("slot_address wraps at the ring size and slot_free counts in-flight packets", "[hsa][ring]") {
  alignas(64) static unsigned char ring[8 * 64];
  void* base = ring;
  CHECK(hsa::slot_address(base, 8, 0) == ring);
  CHECK(hsa::slot_address(base, 8, 7) == ring + 7 * 64);
  CHECK(hsa::slot_address(base, 8, 8) == ring);
  CHECK(hsa::slot_address(base, 8, 13) == ring + 5 * 64);
  CHECK(hsa::slot_address(base, 8, (std::uint64_t{1} << 40) + 3) == ring + 3 * 64);
  CHECK(hsa::valid_ring_size(2));
  CHECK(hsa::valid_ring_size(1024));
  CHECK_FALSE(hsa::valid_ring_size(0));
  CHECK_FALSE(hsa::valid_ring_size(1));
  CHECK_FALSE(hsa::valid_ring_size(96));
  CHECK(hsa::slot_free(7, 0, 8));
  CHECK_FALSE(hsa::slot_free(8, 0, 8));
  CHECK(hsa::slot_free(8, 1, 8));
}

TEST_CASE("a submitted barrier is consumed with its header, deps and completion signal", "[hsa][ring]") {
  FakeQueue q(4);
  FakeProcessor gpu(q);
  FakeSignal dep(0), done(1);
  hsa::BarrierAnd b;
  b.depend_on(dep.handle()).complete(done.handle());
  const std::uint64_t index = hsa::submit(q, b);
  CHECK(index == 0);
  CHECK(q.doorbell() == 0);
  CHECK(gpu.drain() == Step::empty);
  REQUIRE(gpu.consumed().size() == 1);
  const auto c = gpu.consumed()[0];
  CHECK(c.index == 0);
  CHECK(c.header == b.header_fields());
  CHECK(c.rest == 0);
  CHECK(c.packet.dep_signal[0].handle == dep.handle().handle);
  CHECK(c.packet.completion_signal.handle == done.handle().handle);
  CHECK(done.value == 0);
  CHECK(q.load_read_index() == 1);
}

TEST_CASE("the processor never sees a packet before its header is published", "[hsa][ring]") {
  FakeQueue q(4);
  FakeProcessor gpu(q);
  FakeSignal done(1);
  hsa::BarrierAnd b;
  b.complete(done.handle());
  const std::uint64_t i = hsa::reserve(q);
  hsa::write_body(q, i, b.body());
  q.ring_doorbell(i);  // even with the doorbell rung early, an INVALID header stops the processor
  CHECK(gpu.step() == Step::not_published);
  CHECK(done.value == 1);
  hsa::publish(q, i, b.header(), 0);
  CHECK(gpu.step() == Step::consumed);
  CHECK(done.value == 0);
}

TEST_CASE("packets past the doorbell wait for it", "[hsa][ring]") {
  FakeQueue q(4);
  FakeProcessor gpu(q);
  hsa::BarrierAnd b;
  const std::uint64_t i = hsa::reserve(q);
  hsa::write_body(q, i, b.body());
  hsa::publish(q, i, b.header(), 0);
  CHECK(gpu.step() == Step::empty);  // published but the doorbell has not been rung
  q.ring_doorbell(i);
  CHECK(gpu.step() == Step::consumed);
}

TEST_CASE("ring indices wrap: 50 packets through a 4-slot ring land in slot index % 4", "[hsa][ring]") {
  FakeQueue q(4);
  FakeProcessor gpu(q);
  std::deque<FakeSignal> done;
  for (unsigned k = 0; k < 50; ++k) {
    done.emplace_back(1);
    hsa::BarrierAnd b;
    b.complete(done.back().handle());
    const std::uint64_t i = hsa::submit(q, b);
    CHECK(i == k);
    if (k % 3 == 2) CHECK(gpu.drain() == Step::empty);  // the GPU catches up now and then
    if (k % 3 != 2 && (k + 1) % 4 == 0) gpu.drain();   // never more than 4 in flight
  }
  gpu.drain();
  const auto c = gpu.consumed();
  REQUIRE(c.size() == 50);
  for (unsigned k = 0; k < 50; ++k) {
    CHECK(c[k].index == k);
    CHECK(c[k].packet.completion_signal.handle == done[k].handle().handle);
    CHECK(done[k].value == 0);
  }
  CHECK(q.doorbell_rings() == 50);
  CHECK(q.load_write_index() == 50);
  CHECK(q.load_read_index() == 50);
}

TEST_CASE("64-bit indices: a ring started just below 2^32 keeps counting past it", "[hsa][ring]") {
  const std::uint64_t start = (std::uint64_t{1} << 32) - 3;
  FakeQueue q(8, start);
  FakeProcessor gpu(q);
  for (unsigned k = 0; k < 12; ++k) {
    CHECK(hsa::submit(q, hsa::BarrierAnd{}) == start + k);
    gpu.drain();
  }
  const auto c = gpu.consumed();
  REQUIRE(c.size() == 12);
  CHECK(c.back().index == start + 11);
  CHECK(q.load_read_index() == start + 12);
}

TEST_CASE("try_reserve refuses a full ring without taking a slot and reserve waits for room", "[hsa][ring]") {
  FakeQueue q(4);
  FakeProcessor gpu(q);
  for (int k = 0; k < 4; ++k) hsa::submit(q, hsa::BarrierAnd{});
  CHECK_FALSE(hsa::try_reserve(q).has_value());
  CHECK(q.load_write_index() == 4);  // no slot was taken
  CHECK(gpu.step() == Step::consumed);
  auto i = hsa::try_reserve(q);
  REQUIRE(i.has_value());
  CHECK(*i == 4);
  hsa::write_body(q, *i, hsa::BarrierAnd{}.body());
  hsa::publish(q, *i, hsa::BarrierAnd{}.header(), 0);
  q.ring_doorbell(*i);
  CHECK_THROWS_AS(hsa::reserve(q, 5), Error);
  CHECK_THROWS_AS(hsa::try_reserve(q, 0), Error);

  // Full again: reserve() blocks until the processor (another thread) frees a slot.
  std::atomic<bool> submitted{false};
  std::thread producer([&] {
    hsa::submit(q, hsa::BarrierAnd{});
    submitted = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK_FALSE(submitted.load());
  CHECK(gpu.step() == Step::consumed);
  producer.join();
  CHECK(submitted.load());
  CHECK(gpu.drain() == Step::empty);
  CHECK(gpu.consumed().size() == 6);
}

TEST_CASE("barrier-AND stalls the queue until its dependencies are 0, then completes in order", "[hsa][ring]") {
  FakeQueue q(8);
  FakeProcessor gpu(q);
  FakeSignal prev_kernel(1), other(1), barrier_done(1), next_done(1);
  hsa::BarrierAnd barrier;
  barrier.depend_on(prev_kernel.handle()).depend_on(other.handle()).complete(barrier_done.handle());
  hsa::submit(q, barrier);
  hsa::BarrierAnd next;  // stands in for the kernel that must run after the barrier
  next.complete(next_done.handle());
  hsa::submit(q, next);

  CHECK(gpu.drain() == Step::blocked);
  CHECK(barrier_done.value == 1);
  CHECK(next_done.value == 1);  // in-order: nothing behind a blocked barrier runs
  prev_kernel.value = 0;
  CHECK(gpu.drain() == Step::blocked);  // AND: one dependency is not enough
  other.value = 0;
  CHECK(gpu.drain() == Step::empty);
  CHECK(barrier_done.value == 0);
  CHECK(next_done.value == 0);
  REQUIRE(gpu.consumed().size() == 2);
  CHECK(gpu.consumed()[0].index == 0);
  CHECK(gpu.consumed()[1].index == 1);
}

TEST_CASE("concurrent producers: every packet is consumed exactly once", "[hsa][ring]") {
  constexpr unsigned kProducers = 4, kEach = 2000;
  FakeQueue q(16);
  FakeProcessor gpu(q);
  std::vector<FakeSignal> done(kProducers * kEach);
  std::atomic<bool> stop{false};
  std::thread processor([&] {
    while (!stop.load()) gpu.step();
    while (gpu.step() == Step::consumed) {
    }
  });
  std::vector<std::thread> producers;
  for (unsigned p = 0; p < kProducers; ++p)
    producers.emplace_back([&, p] {
      for (unsigned k = 0; k < kEach; ++k) {
        hsa::BarrierAnd b;
        b.complete(done[p * kEach + k].handle());
        hsa::submit(q, b);
      }
    });
  for (auto& t : producers) t.join();
  while (q.load_read_index() < kProducers * kEach) std::this_thread::yield();
  stop = true;
  processor.join();
  const auto c = gpu.consumed();
  REQUIRE(c.size() == kProducers * kEach);
  for (std::size_t i = 0; i < c.size(); ++i) CHECK(c[i].index == i);
  unsigned not_done = 0;
  for (auto& s : done) not_done += s.value != 0;
  CHECK(not_done == 0);
}
