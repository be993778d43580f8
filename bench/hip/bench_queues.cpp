// Tail latency with 1..16 CU-masked streams running at once: ECLIP found that more than 7 masked
// streams (+ the default = 8 hardware queues) oversubscribe an MI50's hardware queues, so queues
// time-share and tail latency spikes; it therefore pre-allocates at most 7. This measures where
// the knee is on the device at hand (Options::max_masked_streams should be set from it).
//
// BM_TailLatency/N: N masked streams over disjoint slices of the CUs (eclip units split N ways).
// Each iteration launches one 100 us spin kernel per stream (one block per CU of its slice),
// then polls every stream's completion marker from the host; a stream's latency is submission to
// observed completion. Counters: p50/p95/p99/max latency in us over all streams and iterations.
// Manual time = until the last stream finished. N = 1 gives the whole device, i.e. an unmasked
// stream: the baseline.
#include <chrono>

#include "bench_main.hpp"
#include "eclip/eclip.hpp"

using namespace eclip;
using Clock = std::chrono::steady_clock;

namespace {

constexpr double kKernelUs = 100;

void BM_TailLatency(benchmark::State& state) {
  const unsigned n = static_cast<unsigned>(state.range(0));
  hip::HipBackend gpu;
  const Topology& t = gpu.topology();
  const unsigned slice = t.units() / n;
  if (slice == 0) {
    state.SkipWithError("more streams than CUs");
    return;
  }
  std::vector<StreamHandle> streams;
  for (unsigned i = 0; i < n; ++i) streams.push_back(gpu.create_stream(CuMask::range(t.units(), i * slice, slice)));
  std::vector<double> latencies;
  std::vector<MarkerHandle> markers(n);
  std::vector<double> done_at(n);
  for (auto _ : state) {
    const auto t0 = Clock::now();
    for (unsigned i = 0; i < n; ++i) {
      bench::ok(bench::launch_spin(hip::stream_of(streams[i]), slice, kKernelUs), "spin");
      markers[i] = gpu.record_marker(streams[i]);
    }
    unsigned left = n;
    std::vector<bool> done(n, false);
    while (left > 0)
      for (unsigned i = 0; i < n; ++i)
        if (!done[i] && gpu.marker_done(markers[i])) {
          done[i] = true;
          done_at[i] = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
          --left;
        }
    double last = 0;
    for (unsigned i = 0; i < n; ++i) {
      latencies.push_back(done_at[i]);
      last = std::max(last, done_at[i]);
      gpu.release_marker(markers[i]);
    }
    state.SetIterationTime(last / 1e6);
  }
  for (StreamHandle s : streams) gpu.destroy_stream(s);
  state.counters["p50_us"] = bench::quantile(latencies, 0.50);
  state.counters["p95_us"] = bench::quantile(latencies, 0.95);
  state.counters["p99_us"] = bench::quantile(latencies, 0.99);
  state.counters["max_us"] = bench::quantile(latencies, 1.0);
  state.counters["cus_per_stream"] = slice;
}
BENCHMARK(BM_TailLatency)->DenseRange(1, 16)->UseManualTime()->Unit(benchmark::kMicrosecond);

}  // namespace

ECLIP_HIP_BENCHMARK_MAIN();
