// What keeping a worker's order across streams costs, when a barrier is needed and when the router
// can skip it (ECLIP inserts a barrier only if the predecessor has not completed).
//
// Host cost of the router's backend calls (HipBackend):
//   BM_MarkerRecord          hipEventRecord on an idle stream (ROCclr: one barrier-AND packet)
//   BM_MarkerQuery/done      hipEventQuery of a completed marker
//   BM_MarkerQuery/pending   hipEventQuery of a marker behind a running kernel
//   BM_WaitMarker/done       hipStreamWaitEvent on a completed marker (HIP returns early)
//   BM_WaitMarker/pending    hipStreamWaitEvent on a pending marker (ROCclr may spin up to
//                            ROC_ACTIVE_WAIT_TIMEOUT = 10 us, then adds a barrier packet)
// GPU-side gap between the end of a 50 us kernel and the end of an empty kernel after it, from
// timing events (manual time = the gap):
//   BM_Gap/same_stream       both on one stream: in-order queue, no barrier
//   BM_Gap/barrier           the second on another masked stream behind hipStreamWaitEvent
// End to end on the host, the predecessor already finished (the case a router skips):
//   BM_SwitchAfterDone/skip  record + query (done: no wait) + launch + synchronize
//   BM_SwitchAfterDone/plain launch + synchronize on the same stream, for reference
// On an eclip-owned HSA queue (what a direct barrier packet costs, submit to completion signal):
//   BM_HsaBarrier/no_deps    barrier-AND with no dependency
//   BM_HsaBarrier/ready      one dependency already 0
//   BM_HsaBarrier/pending    one dependency the host releases right after submitting
#include <chrono>

#include "bench_main.hpp"
#include "eclip/backend/hsa/queue.hpp"
#include "eclip/backend/hsa/signal.hpp"
#include "eclip/eclip.hpp"

using namespace eclip;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

struct TwoStreams {
  hip::HipBackend gpu;
  StreamHandle a, b;
  TwoStreams() {
    const Topology& t = gpu.topology();
    a = gpu.create_stream(t.group_mask(0));
    b = gpu.create_stream(t.group_mask(t.group_count() - 1));
  }
  ~TwoStreams() {
    gpu.destroy_stream(b);
    gpu.destroy_stream(a);
  }
};

void BM_MarkerRecord(benchmark::State& state) {
  TwoStreams s;
  for (auto _ : state) {
    const MarkerHandle m = s.gpu.record_marker(s.a);
    s.gpu.release_marker(m);
    state.PauseTiming();
    s.gpu.synchronize(s.a);
    state.ResumeTiming();
  }
}
BENCHMARK(BM_MarkerRecord)->Unit(benchmark::kMicrosecond);

void BM_MarkerQuery(benchmark::State& state) {
  const bool pending = state.range(0) != 0;
  TwoStreams s;
  if (pending) bench::ok(bench::launch_spin(hip::stream_of(s.a), 1, 1e6), "spin");  // 1 s: outlasts the 10000 queries
  const MarkerHandle m = s.gpu.record_marker(s.a);
  if (!pending) s.gpu.synchronize(s.a);
  bool done = false;
  for (auto _ : state) benchmark::DoNotOptimize(done = s.gpu.marker_done(m));
  state.counters["done"] = done;
  state.SetLabel(pending ? "pending" : "done");
  s.gpu.release_marker(m);
  if (pending) {
    state.PauseTiming();
    s.gpu.synchronize(s.a);  // the rest of the 1 s spin
    state.ResumeTiming();
  }
}
BENCHMARK(BM_MarkerQuery)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond)->Iterations(10000);

void BM_WaitMarker(benchmark::State& state) {
  const bool pending = state.range(0) != 0;
  TwoStreams s;
  for (auto _ : state) {
    if (pending) bench::ok(bench::launch_spin(hip::stream_of(s.a), 1, 200), "spin");
    const MarkerHandle m = s.gpu.record_marker(s.a);
    if (!pending) s.gpu.synchronize(s.a);
    const auto t0 = Clock::now();
    s.gpu.wait_marker(s.b, m);
    state.SetIterationTime(seconds_since(t0));
    bench::ok(bench::launch_empty(hip::stream_of(s.b)), "launch");
    s.gpu.synchronize(s.b);
    s.gpu.release_marker(m);
  }
  state.SetLabel(pending ? "pending" : "done");
}
BENCHMARK(BM_WaitMarker)->Arg(0)->Arg(1)->UseManualTime()->Unit(benchmark::kMicrosecond);

void BM_Gap(benchmark::State& state) {
  const bool barrier = state.range(0) != 0;
  TwoStreams s;
  hipEvent_t end1 = nullptr, end2 = nullptr;
  bench::ok(hipEventCreate(&end1), "hipEventCreate");
  bench::ok(hipEventCreate(&end2), "hipEventCreate");
  for (auto _ : state) {
    bench::ok(bench::launch_spin(hip::stream_of(s.a), 1, 50), "spin");
    bench::ok(hipEventRecord(end1, hip::stream_of(s.a)), "hipEventRecord");
    StreamHandle second = s.a;
    if (barrier) {
      const MarkerHandle m = s.gpu.record_marker(s.a);
      if (!s.gpu.marker_done(m)) s.gpu.wait_marker(s.b, m);
      s.gpu.release_marker(m);
      second = s.b;
    }
    bench::ok(bench::launch_empty(hip::stream_of(second)), "launch");
    bench::ok(hipEventRecord(end2, hip::stream_of(second)), "hipEventRecord");
    bench::ok(hipEventSynchronize(end2), "hipEventSynchronize");
    float ms = 0;
    bench::ok(hipEventElapsedTime(&ms, end1, end2), "hipEventElapsedTime");
    state.SetIterationTime(ms / 1e3);
  }
  (void)hipEventDestroy(end1);
  (void)hipEventDestroy(end2);
  state.SetLabel(barrier ? "barrier" : "same_stream");
}
BENCHMARK(BM_Gap)->Arg(0)->Arg(1)->UseManualTime()->Unit(benchmark::kMicrosecond);

void BM_SwitchAfterDone(benchmark::State& state) {
  const bool route = state.range(0) != 0;
  TwoStreams s;
  unsigned waited = 0;
  for (auto _ : state) {
    state.PauseTiming();
    bench::ok(bench::launch_empty(hip::stream_of(s.a)), "launch");
    s.gpu.synchronize(s.a);
    state.ResumeTiming();
    StreamHandle next = s.a;
    if (route) {
      const MarkerHandle m = s.gpu.record_marker(s.a);
      if (!s.gpu.marker_done(m)) {
        s.gpu.wait_marker(s.b, m);  // the freshly recorded marker may not have been processed yet
        ++waited;
      }
      s.gpu.release_marker(m);
      next = s.b;
    }
    bench::ok(bench::launch_empty(hip::stream_of(next)), "launch");
    s.gpu.synchronize(next);
  }
  state.counters["waited_fraction"] = benchmark::Counter(waited, benchmark::Counter::kAvgIterations);
  state.SetLabel(route ? "skip" : "plain");
}
BENCHMARK(BM_SwitchAfterDone)->Arg(1)->Arg(0)->Unit(benchmark::kMicrosecond);

void BM_HsaBarrier(benchmark::State& state) {
  const int mode = static_cast<int>(state.range(0));  // 0 no deps, 1 ready, 2 pending
  hip::HipBackend gpu;
  hsa::Runtime runtime;
  const auto agents = hsa::gpu_agents();
  if (agents.empty()) {
    state.SkipWithError("no HSA GPU agent");
    return;
  }
  hsa::Queue q = hsa::Queue::create(agents[0].agent, 256);
  hsa::Signal dep = hsa::Signal::create(0), done = hsa::Signal::create(1);
  for (auto _ : state) {
    done.store(1);
    dep.store(mode == 2 ? 1 : 0);
    hsa::BarrierAnd b;
    if (mode != 0) b.depend_on(dep.handle());
    b.complete(done.handle());
    hsa::submit(q, b);
    if (mode == 2) dep.store(0);
    done.wait_done(true);
  }
  static const char* names[] = {"no_deps", "ready", "pending"};
  state.SetLabel(names[mode]);
}
BENCHMARK(BM_HsaBarrier)->DenseRange(0, 2)->Unit(benchmark::kMicrosecond);

}  // namespace

ECLIP_HIP_BENCHMARK_MAIN();
