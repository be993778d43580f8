// The interposer's engine in-process (no LD_PRELOAD, so sanitizers see it): a stand-in vendor
// whose backend logs every marker, wait and issued item (tests/core/stream_log_backend.hpp), and
// threads that launch into ONE application stream as the same worker, with copies in between. The
// stream's work must stay one chain: each item ordered after the item issued before it, whichever
// thread issued it, while launches move between the plan's partitions and the app stream.
// Run with ECLIP_PLAN=data/mi50_two_workers.json (and once with ECLIP_JOIN=eager).
#include <cstdio>
#include <cstdlib>
#include <random>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "engine.hpp"
#include "stream_log_backend.hpp"

using eclip::StreamHandle;
using eclip::preload::Engine;
using eclip::testing::StreamLogBackend;

namespace {

StreamLogBackend* g_backend = nullptr;  // owned by the engine, which lives until exit

std::unique_ptr<eclip::Backend> make_backend(const std::string&, std::string*) {
  auto b = std::make_unique<StreamLogBackend>(eclip::presets::mi50());
  g_backend = b.get();
  return b;
}
bool never_capturing(std::uint64_t) { return false; }
const eclip::preload::VendorHooks kVendor{"test", &make_backend, &never_capturing, false, nullptr};

Engine* engine() {
  static Engine* e = [] {
    eclip::preload::register_vendor(&kVendor);
    return Engine::get();
  }();
  return e;
}

}  // namespace

TEST_CASE("threads launching into one application stream keep one order, lock-free when nothing moves",
          "[preload][threads]") {
  REQUIRE(std::getenv("ECLIP_PLAN"));
  Engine* e = engine();
  REQUIRE(e);
  REQUIRE(g_backend);
  const std::uint64_t app = 0x5000;
  constexpr int kThreads = 3, kItems = 1200;
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t + 11));
      for (int i = 0; i < kItems; ++i) {
        const long tag = t * kItems + i;
        if (rng() % 6 == 0) {  // a copy: joined, issued on the app stream while the join is held
          const Engine::Joined joined = e->join(app);
          g_backend->issue(StreamHandle{app}, tag);
          continue;
        }
        Engine::Launch l = e->begin_launch(app);
        if (rng() % 4 == 0) std::this_thread::yield();  // between the decision and the launch
        g_backend->issue(StreamHandle{l.target}, tag);
        e->end_launch(l, true);
      }
    });
  for (auto& t : ts) t.join();
  const auto log = g_backend->log();
  const auto work = StreamLogBackend::work(log);
  REQUIRE(work.size() == kThreads * kItems);
  long broken = 0;
  std::size_t off_app = 0;
  for (std::size_t i = 1; i < work.size(); ++i)
    broken += !StreamLogBackend::happens_before(log, work[i - 1], work[i]);
  for (long w : work) off_app += log[static_cast<std::size_t>(w)].stream != app;
  CHECK(broken == 0);
  CHECK(off_app > 0);  // the plan moved work off the app stream
  eclip_preload_counters c{};
  REQUIRE(e->counters(0, &c));
  CHECK(c.launches + 0 > kThreads * kItems / 2);
  CHECK(c.routed > 0);
  CHECK(c.kept > 0);  // position 4 is on the whole device: stays on the app stream
  CHECK(c.requests > 1);
  CHECK(c.switches > 0);
  CHECK(c.barriers > 0);
  CHECK(c.joins > 0);
}
