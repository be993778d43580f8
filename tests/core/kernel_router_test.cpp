#include <random>
#include <thread>

#include <catch2/catch.hpp>

#include "eclip/runtime/kernel_router.hpp"
#include "fake_backend.hpp"

using namespace eclip;
using eclip::testing::FakeBackend;

namespace {

Plan random_plan(std::mt19937& rng, const Topology& t, unsigned workers, unsigned kernels) {
  Plan p{t.name, "random", {}, {}};
  std::uniform_int_distribution<size_t> cls(0, t.size_classes.size() - 1);
  for (unsigned w = 0; w < workers; ++w) {
    // Two masked configs per worker at most, so 3 workers fit MI50's 7 masked streams.
    const unsigned a = t.size_classes[cls(rng) % 2], b = t.size_classes.back();
    std::vector<PartitionConfig> cfg;
    for (unsigned k = 0; k < kernels; ++k) cfg.push_back(PartitionConfig{rng() % 3 == 0 ? b : (rng() % 2 ? a : 2)});
    p.workers.push_back(WorkerPlan::from_per_kernel("m" + std::to_string(w), cfg));
  }
  return p;
}

}  // namespace

TEST_CASE("property: a barrier exactly when the previous launch is on another stream and incomplete", "[router]") {
  std::mt19937 rng(12345);
  for (int trial = 0; trial < 200; ++trial) {
    FakeBackend be(presets::mi50());
    const unsigned W = 1 + rng() % 3, K = 1 + rng() % 40;
    Plan plan = random_plan(rng, be.topology(), W, K);
    PartitionPool pool(be, W, plan.pool_specs(be.topology()));
    KernelRouter router(pool, plan);
    std::bernoulli_distribution coin(0.5);
    bool answer = true;
    be.done_answer = [&](std::uint64_t) { return answer; };
    // Reference model, per worker: the stream of the previous launch.
    std::vector<std::uint64_t> prev(W, 0);
    std::vector<std::uint64_t> barriers(W, 0), switches(W, 0);
    for (int req = 0; req < 3; ++req) {
      for (unsigned w = 0; w < W; ++w) router.begin_request(w);
      // Extra launches past the plan must still run, on the fallback stream.
      for (unsigned k = 0; k < K + 2; ++k)
        for (unsigned w = 0; w < W; ++w) {
          answer = coin(rng);
          const size_t calls_before = be.calls.size();
          RouteDecision d = router.route(w);
          const bool planned = k < K;
          const PartitionConfig want = planned ? plan.workers[w].per_kernel()[k] : PartitionConfig{4};
          const std::uint64_t expect_stream = pool.slots(w)[*pool.find(w, want)].stream.value;
          REQUIRE(d.stream.value == expect_stream);
          REQUIRE(d.kernel == k);
          REQUIRE(d.status == (planned ? RouteStatus::routed : RouteStatus::no_plan_entry));
          const bool switched = prev[w] != 0 && prev[w] != expect_stream;
          REQUIRE(d.switched == switched);
          REQUIRE(d.barrier == (switched && !answer));
          // The backend saw: record on the previous stream, a query, a wait on the new stream iff
          // a barrier, and the marker's release; nothing at all without a switch.
          std::vector<FakeBackend::Call> calls(be.calls.begin() + static_cast<std::ptrdiff_t>(calls_before), be.calls.end());
          if (!switched) {
            REQUIRE(calls.empty());
          } else {
            REQUIRE(calls.size() == (d.barrier ? 4U : 3U));
            CHECK(calls[0].kind == FakeBackend::Call::record);
            CHECK(calls[0].a == prev[w]);
            CHECK(calls[1].kind == FakeBackend::Call::query);
            if (d.barrier) {
              CHECK(calls[2].kind == FakeBackend::Call::wait);
              CHECK(calls[2].a == expect_stream);
              CHECK(calls[2].b == calls[0].b);
            }
            CHECK(calls.back().kind == FakeBackend::Call::release);
          }
          barriers[w] += d.barrier;
          switches[w] += d.switched;
          prev[w] = expect_stream;
        }
    }
    for (unsigned w = 0; w < W; ++w) {
      const RouterCounters c = router.counters(w);
      CHECK(c.launches == 3 * (K + 2));
      CHECK(c.requests == 3);
      CHECK(c.barriers == barriers[w]);
      CHECK(c.switches == switches[w]);
      CHECK(c.unrouted == 3 * 2);
    }
    CHECK(be.released == be.recorded());  // every marker given back
  }
}

TEST_CASE("a failing barrier keeps the launch on the previous stream and reports it", "[router]") {
  FakeBackend be(presets::mi50());
  Plan plan{"MI50", "t", {}, {WorkerPlan{"m", {{0, 1, {1}}, {1, 1, {2}}, {2, 1, {3}}}}}};
  PartitionPool pool(be, 1, plan.pool_specs(be.topology()));
  RouteLog log(1);
  KernelRouter router(pool, plan, SwitchBudget::unlimited(), &log);
  be.done_answer = [](std::uint64_t) { return false; };
  router.begin_request(0);
  RouteDecision d0 = router.route(0);
  be.fail_wait = true;
  RouteDecision d1 = router.route(0);
  CHECK(d1.status == RouteStatus::backend_error);
  CHECK(d1.stream == d0.stream);  // stayed: stream order keeps it correct
  CHECK_FALSE(d1.switched);
  CHECK_THAT(router.last_error(0), Catch::Contains("fakeStreamWaitEvent failed"));
  be.fail_wait = false;
  be.fail_record = true;
  RouteDecision d2 = router.route(0);  // kernel 2 wants 3 SEs: a switch, whose marker record fails
  CHECK(d2.status == RouteStatus::backend_error);
  CHECK(d2.stream == d0.stream);
  CHECK_THAT(router.last_error(0), Catch::Contains("fakeEventRecord failed"));
  CHECK(router.counters(0).backend_errors == 2);
  CHECK(router.counters(0).launches == 3);
  REQUIRE(log.worker(0).size() == 3);
  CHECK(log.worker(0)[1].status == RouteStatus::backend_error);
  CHECK(be.released == be.recorded());  // the marker of the failed wait was released too
}

TEST_CASE("the online switch budget holds the partition once spent", "[router]") {
  FakeBackend be(presets::mi50());
  std::vector<PartitionConfig> cfg;
  for (int k = 0; k < 10; ++k) cfg.push_back(PartitionConfig{k % 2 ? 1U : 2U});
  Plan plan{"MI50", "t", {}, {WorkerPlan::from_per_kernel("m", cfg)}};
  PartitionPool pool(be, 1, plan.pool_specs(be.topology()));
  KernelRouter router(pool, plan, SwitchBudget::per_request(3));
  // Reference: switch while the request's budget lasts, then stay where we are. The switch into
  // kernel 0 (the seam between requests) is made but not charged.
  int cur = -1;
  for (int req = 0; req < 2; ++req) {
    router.begin_request(0);
    unsigned switches = 0, held = 0, want_switches = 0, want_charged = 0, want_held = 0;
    for (int k = 0; k < 10; ++k) {
      const int want = static_cast<int>(cfg[k].groups);
      if (cur != -1 && want != cur) {
        if (k == 0 || want_charged < 3) {
          want_charged += k != 0;
          ++want_switches;
          cur = want;
        } else {
          ++want_held;
        }
      } else {
        cur = want;
      }
      RouteDecision d = router.route(0);
      switches += d.switched;
      held += d.status == RouteStatus::budget_held;
      CHECK(d.slot == *pool.find(0, PartitionConfig{static_cast<unsigned>(cur)}));
    }
    CHECK(switches == want_switches);
    CHECK(want_charged == 3);
    CHECK(held == want_held);
    CHECK(held > 0);
  }
}

TEST_CASE("a plan that meets the budget exactly is never held, across requests", "[router]") {
  // Two groups then one: one switch per request, and a switch back at every request's start,
  // which plans do not count (Plan::switches()) and the router must not charge either.
  FakeBackend be(presets::mi50());
  Plan plan{"MI50", "t", SwitchBudget::per_request(1), {WorkerPlan{"m", {{0, 2, {1}}, {2, 1, {2}}}}}};
  PartitionPool pool(be, 1, plan.pool_specs(be.topology()));
  KernelRouter router(pool, plan, SwitchBudget::per_request(1));
  for (int req = 0; req < 5; ++req) {
    router.begin_request(0);
    for (int k = 0; k < 3; ++k) {
      RouteDecision d = router.route(0);
      CHECK(d.status == RouteStatus::routed);
      CHECK(d.slot == *pool.find(0, plan.workers[0].per_kernel()[k]));
    }
  }
  CHECK(router.counters(0).budget_held == 0);
  CHECK(router.counters(0).switches == 5 + 4);  // one in each request, one at each later request's start
}

TEST_CASE("plan and pool must agree", "[router]") {
  FakeBackend be(presets::mi50());
  Plan plan{"MI50", "t", {}, {WorkerPlan{"resnet", {{0, 2, {3}}}}}};
  std::vector<PartitionSpec> specs{{0, {1}}};
  PartitionPool pool(be, 1, specs);
  CHECK_THROWS_WITH(KernelRouter(pool, plan), Catch::Contains("worker 0 (resnet) is planned on 3 groups"));
  Plan two{"MI50", "t", {}, {WorkerPlan{"a", {{0, 1, {4}}}}, WorkerPlan{"b", {{0, 1, {4}}}}}};
  CHECK_THROWS_WITH(KernelRouter(pool, two), Catch::Contains("2 workers but the pool has 1"));
  KernelRouter ok(pool, Plan{"MI50", "t", {}, {WorkerPlan{"a", {{0, 1, {1}}}}}});
  CHECK_THROWS_WITH(ok.route(1), Catch::Contains("worker 1 out of range"));
}

TEST_CASE("workers route concurrently from their own threads", "[router][threads]") {
  FakeBackend be(presets::h100());
  std::vector<WorkerPlan> wps;
  for (unsigned w = 0; w < 4; ++w) {
    std::vector<PartitionConfig> cfg;
    for (int k = 0; k < 1000; ++k) cfg.push_back(PartitionConfig{k % 3 == 0 ? 16U : 2U});
    wps.push_back(WorkerPlan::from_per_kernel("m", cfg));
  }
  Plan plan{"H100", "t", {}, wps};
  PartitionPool pool(be, 4, plan.pool_specs(be.topology()));
  KernelRouter router(pool, plan);
  be.done_answer = [](std::uint64_t s) { return s % 2 == 0; };
  std::vector<std::thread> threads;
  for (unsigned w = 0; w < 4; ++w)
    threads.emplace_back([&, w] {
      for (int r = 0; r < 20; ++r) {
        router.begin_request(w);
        for (int k = 0; k < 1000; ++k) router.route(w);
      }
    });
  for (auto& t : threads) t.join();
  const RouterCounters t = router.totals();
  CHECK(t.launches == 4 * 20 * 1000);
  // Kernel 999 and kernel 0 are both whole-device, so requests add no switch at their seam.
  const unsigned per_request = plan.workers[0].switches();
  CHECK(per_request == 666);
  CHECK(t.switches == 4 * 20 * per_request);
  CHECK(t.unrouted == 0);
}

TEST_CASE("route_on routes explicit plan positions on a caller's lane, with the router's rule and counters",
          "[router][route_on]") {
  FakeBackend be(presets::mi50());
  // Worker 0: positions 0-1 on 1 SE, 2 on the whole device, 3 on 2 SEs.
  Plan plan{"MI50", "t", {}, {WorkerPlan{"m", {{0, 2, {1}}, {2, 1, {4}}, {3, 1, {2}}}}}};
  PartitionPool pool(be, 1, plan.pool_specs(be.topology()));
  RouteLog log(1);
  KernelRouter router(pool, plan, SwitchBudget::unlimited(), &log);
  be.done_answer = [](std::uint64_t) { return false; };
  const StreamHandle app{777};  // the application's stream: the lane's home
  OrderedLane lane(app);
  const StreamHandle one = pool.slots(0)[*pool.find(0, PartitionConfig{1})].stream;
  const StreamHandle two = pool.slots(0)[*pool.find(0, PartitionConfig{2})].stream;
  router.begin_request(0);
  auto at = [&](std::uint32_t k) {
    RouteDecision d = router.route_on(0, k, lane, LaunchNote{"k", "entry"});
    lane.leave();
    return d;
  };
  // Out of order on purpose: the position, not a cursor, decides.
  RouteDecision d = at(3);
  CHECK(d.stream == two);
  CHECK(d.units == 30);
  CHECK(d.switched);
  CHECK(d.barrier);
  CHECK(d.lane == app);
  CHECK(d.request == 1);
  d = at(0);
  CHECK(d.stream == one);
  CHECK(d.units == 15);
  CHECK(d.switched);
  d = at(1);
  CHECK(d.stream == one);
  CHECK_FALSE(d.switched);
  d = at(2);  // whole device: the lane's home stands in for the fallback stream
  CHECK(d.stream == app);
  CHECK(d.slot == PartitionPool::kFallbackSlot);
  CHECK(d.units == 60);
  CHECK(d.status == RouteStatus::routed);
  CHECK(d.switched);
  d = at(RouteDecision::kNoPosition);  // a launch the plan does not place: stays home
  CHECK(d.stream == app);
  CHECK(d.status == RouteStatus::no_plan_entry);
  CHECK_FALSE(d.switched);
  d = at(9);  // past the plan: the same
  CHECK(d.status == RouteStatus::no_plan_entry);
  d = at(0);
  LaneStep j = router.join_on(0, lane);  // a copy on the app stream after routed work
  lane.leave();
  CHECK(j.switched);
  CHECK(j.barrier);
  CHECK(j.stream == app);
  j = router.join_on(0, lane);  // already home: nothing
  lane.leave();
  CHECK_FALSE(j.switched);
  d = router.pass_through(0, app, RouteStatus::captured);
  CHECK(d.kernel == RouteDecision::kNoPosition);

  const RouterCounters c = router.counters(0);
  CHECK(c.launches == 8);
  CHECK(c.switches == 4);  // ->two, ->one, ->app, ->one
  CHECK(c.barriers == 5);  // each switch and the join
  CHECK(c.whole_device == 1);
  CHECK(c.unrouted == 2);
  CHECK(c.captured == 1);
  CHECK(c.joins == 1);
  CHECK(c.partitioned() == 4);
  CHECK(c.requests == 1);
  REQUIRE(log.worker(0).size() == 8);
  CHECK(log.worker(0)[0].name == std::string("k"));
  CHECK(log.worker(0)[7].status == RouteStatus::captured);
  CHECK(be.released == be.recorded());
}

TEST_CASE("route_on on one lane decides as route() on the worker's lane", "[router][route_on]") {
  // The same plan, the same completion answers: the same switches and barriers, so the library
  // and the interposer follow one rule.
  std::mt19937 rng(7);
  for (int trial = 0; trial < 50; ++trial) {
    FakeBackend a(presets::mi50()), b(presets::mi50());
    Plan plan = random_plan(rng, a.topology(), 1, 1 + rng() % 30);
    for (auto& wp : plan.workers)  // no whole-device positions: there route_on uses the lane's home
      for (auto& g : wp.groups)
        if (g.config.groups == 4) g.config.groups = 2;
    PartitionPool pa(a, 1, plan.pool_specs(a.topology())), pb(b, 1, plan.pool_specs(b.topology()));
    KernelRouter ra(pa, plan), rb(pb, plan);
    const StreamHandle fallback = pb.fallback(0);
    OrderedLane lane(fallback);
    std::vector<bool> answers;
    for (int i = 0; i < 200; ++i) answers.push_back(rng() % 2);
    std::size_t qa = 0, qb = 0;
    ra.begin_request(0);
    rb.begin_request(0);
    const std::uint32_t n = ra.kernel_count(0);
    // route() starts with no predecessor; route_on's lane starts home: align them with a first launch.
    RouteDecision x = ra.route(0);
    RouteDecision y = rb.route_on(0, 0, lane);
    lane.leave();
    a.done_answer = [&](std::uint64_t) { return answers[qa++ % answers.size()]; };
    b.done_answer = [&](std::uint64_t) { return answers[qb++ % answers.size()]; };
    for (std::uint32_t k = 1; k < n; ++k) {
      x = ra.route(0);
      y = rb.route_on(0, k, lane);
      lane.leave();
      REQUIRE(x.slot == y.slot);
      REQUIRE(x.switched == y.switched);
      REQUIRE(x.barrier == y.barrier);
    }
  }
}

namespace {
/// A backend that gives worker threads no happens-before edge with each other: no mutex, only
/// relaxed atomics (which ThreadSanitizer does not treat as synchronisation), so under TSan the
/// workers are ordered by the router's own synchronisation alone (FakeBackend's one mutex adds
/// edges between every worker's switches). Every marker is incomplete: each switch needs a barrier.
class UnsynchronisedBackend final : public Backend {
 public:
  explicit UnsynchronisedBackend(Topology t) : topo_(std::move(t)) {}
  std::string_view name() const noexcept override { return "unsynchronised"; }
  const Topology& topology() const noexcept override { return topo_; }
  StreamHandle create_stream(const CuMask&) override { return StreamHandle{++streams_}; }  // pool: one thread
  void destroy_stream(StreamHandle) noexcept override {}
  MarkerHandle record_marker(StreamHandle) override {
    return MarkerHandle{records.fetch_add(1, std::memory_order_relaxed) + 1};
  }
  bool marker_done(MarkerHandle) override { return false; }
  void wait_marker(StreamHandle, MarkerHandle) override { waits.fetch_add(1, std::memory_order_relaxed); }
  void release_marker(MarkerHandle) noexcept override { releases.fetch_add(1, std::memory_order_relaxed); }
  std::atomic<std::uint64_t> records{0}, waits{0}, releases{0};

 private:
  Topology topo_;
  std::uint64_t streams_ = 0;
};
}  // namespace

TEST_CASE("concurrent workers: exact counters per worker, no shared unsynchronised state (TSan)", "[router][threads]") {
  // Run under ThreadSanitizer by .ci/run: 8 threads, one worker each, routing at once.
  constexpr unsigned kWorkers = 8, kRequests = 25, kKernels = 400;
  UnsynchronisedBackend be(presets::h100());
  std::vector<WorkerPlan> wps;
  for (unsigned w = 0; w < kWorkers; ++w) {
    // Worker w: whole device every (w + 2)th kernel and at both ends of a request (so the seam
    // between requests adds no switch), 2 groups otherwise: a different switch count per worker.
    std::vector<PartitionConfig> cfg;
    for (unsigned k = 0; k < kKernels; ++k)
      cfg.push_back(PartitionConfig{k % (w + 2) == 0 || k + 1 == kKernels ? 16U : 2U});
    wps.push_back(WorkerPlan::from_per_kernel("m" + std::to_string(w), cfg));
  }
  const Plan plan{"H100", "t", {}, wps};
  PartitionPool pool(be, kWorkers, plan.pool_specs(be.topology()));
  KernelRouter router(pool, plan);
  std::vector<std::thread> threads;
  for (unsigned w = 0; w < kWorkers; ++w)
    threads.emplace_back([&router, w] {
      for (unsigned r = 0; r < kRequests; ++r) {
        router.begin_request(w);
        for (unsigned k = 0; k < kKernels; ++k) (void)router.route(w);
      }
    });
  for (auto& t : threads) t.join();

  std::uint64_t switches = 0;
  for (unsigned w = 0; w < kWorkers; ++w) {
    INFO("worker " << w);
    const RouterCounters c = router.counters(w);
    const std::uint64_t want_switches = std::uint64_t{kRequests} * plan.workers[w].switches();
    CHECK(c.requests == kRequests);
    CHECK(c.launches == std::uint64_t{kRequests} * kKernels);
    CHECK(c.switches == want_switches);
    CHECK(c.barriers == want_switches);  // every marker is incomplete
    CHECK(c.unrouted == 0);
    CHECK(c.backend_errors == 0);
    CHECK(c.budget_held == 0);
    switches += want_switches;
  }
  CHECK(plan.workers[0].switches() != plan.workers[1].switches());
  const RouterCounters t = router.totals();
  CHECK(t.launches == std::uint64_t{kWorkers} * kRequests * kKernels);
  CHECK(t.switches == switches);
  CHECK(be.records.load() == switches);
  CHECK(be.waits.load() == switches);
  CHECK(be.releases.load() == switches);
}
