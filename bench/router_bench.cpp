// The router's own cost per launch decision, with a backend whose calls do nothing, so what is
// measured is the lookup, the switch logic, the counters and the observer call. Real backends add
// their marker/query/wait costs at switches only (docs/hardware.md: cudaEventQuery ~250 ns on H100).
#include <benchmark/benchmark.h>

#include "eclip/eclip.hpp"

namespace {

class NullBackend final : public eclip::Backend {
 public:
  explicit NullBackend(bool done) : topo_(eclip::presets::mi50()), done_(done) {}
  std::string_view name() const noexcept override { return "null"; }
  const eclip::Topology& topology() const noexcept override { return topo_; }
  eclip::StreamHandle create_stream(const eclip::CuMask&) override { return eclip::StreamHandle{++n_}; }
  void destroy_stream(eclip::StreamHandle) noexcept override {}
  eclip::MarkerHandle record_marker(eclip::StreamHandle s) override { return eclip::MarkerHandle{s.value}; }
  bool marker_done(eclip::MarkerHandle) override { return done_; }
  void wait_marker(eclip::StreamHandle, eclip::MarkerHandle) override {}
  void release_marker(eclip::MarkerHandle) noexcept override {}

 private:
  eclip::Topology topo_;
  bool done_;
  std::uint64_t n_ = 0;
};

class CountingObserver final : public eclip::Observer {
 public:
  void on_route(unsigned, const eclip::RouteDecision& d) noexcept override { barriers += d.barrier; }
  std::uint64_t barriers = 0;
};

// A 1024-kernel request whose partition changes every `run` kernels (0 = never).
void route(benchmark::State& state, bool done, bool observe) {
  const int run = static_cast<int>(state.range(0));
  NullBackend be(done);
  std::vector<eclip::PartitionConfig> cfg;
  for (int k = 0; k < 1024; ++k) cfg.push_back(eclip::PartitionConfig{run == 0 || (k / run) % 2 == 0 ? 1U : 2U});
  eclip::Plan plan{"MI50", "bench", {}, {eclip::WorkerPlan::from_per_kernel("m", cfg)}};
  eclip::PartitionPool pool(be, 1, plan.pool_specs(be.topology()));
  CountingObserver obs;
  eclip::KernelRouter router(pool, plan, eclip::SwitchBudget::unlimited(), observe ? &obs : nullptr);
  for (auto _ : state) {
    router.begin_request(0);
    for (int k = 0; k < 1024; ++k) benchmark::DoNotOptimize(router.route(0));
  }
  state.SetItemsProcessed(state.iterations() * 1024);
  state.counters["ns_per_launch"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * 1024, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_RouteNoSwitch(benchmark::State& s) { route(s, true, false); }
void BM_RouteSwitchPredecessorDone(benchmark::State& s) { route(s, true, false); }
void BM_RouteSwitchBarrier(benchmark::State& s) { route(s, false, false); }
void BM_RouteSwitchBarrierObserved(benchmark::State& s) { route(s, false, true); }

}  // namespace

BENCHMARK(BM_RouteNoSwitch)->Arg(0);
BENCHMARK(BM_RouteSwitchPredecessorDone)->Arg(1)->Arg(8);
BENCHMARK(BM_RouteSwitchBarrier)->Arg(1)->Arg(8);
BENCHMARK(BM_RouteSwitchBarrierObserved)->Arg(1);
BENCHMARK_MAIN();
