// What a partition switch costs: a per-kernel remask IOCTL vs moving the kernel to a pre-allocated
// CU-masked stream vs a plain launch (ECLIP, arXiv 2506.12598: remask 55.4 us on an MI50 before a
// 19.8 us kernel; the reason ECLIP pre-allocates streams).
//
//   BM_PlainLaunch            hipLaunchKernel of an empty kernel on one stream
//   BM_RoutedLaunch/same      KernelRouter::route + launch, the plan never switches
//   BM_RoutedLaunch/switch    every launch switches streams: marker record + query (+ wait) + launch
//   BM_RemaskIoctl            hsa_amd_queue_cu_set_mask on an eclip-owned HSA queue, alternating
//                             one shader engine and the whole device: the per-kernel remask
//   BM_CreateMaskedStream     hipExtStreamCreateWithCUMask + hipStreamDestroy: creating a partition
// Launch benchmarks time batches of kBatch launches (manual time, the drain is not timed); the
// time reported is per launch.
#include <chrono>

#include "bench_main.hpp"
#include "eclip/backend/hsa/queue.hpp"
#include "eclip/eclip.hpp"

using namespace eclip;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kBatch = 64;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

void BM_PlainLaunch(benchmark::State& state) {
  hip::HipBackend gpu;
  const StreamHandle s = gpu.create_stream(gpu.topology().all());
  for (auto _ : state) {
    const auto t0 = Clock::now();
    for (int i = 0; i < kBatch; ++i) bench::ok(bench::launch_empty(hip::stream_of(s)), "hipLaunchKernel");
    state.SetIterationTime(seconds_since(t0) / kBatch);
    gpu.synchronize(s);
  }
  gpu.destroy_stream(s);
}
BENCHMARK(BM_PlainLaunch)->UseManualTime()->Unit(benchmark::kMicrosecond);

/// One worker whose plan alternates between one shader engine and half the device on every
/// kernel (state.range(0) == 1), or stays on one engine (0).
void BM_RoutedLaunch(benchmark::State& state) {
  const bool alternate = state.range(0) != 0;
  hip::HipBackend gpu;
  const Topology& t = gpu.topology();
  const PartitionConfig a{1}, b{std::max(2U, t.group_count() / 2)};
  Plan plan;
  plan.device = t.name;
  plan.strategy = alternate ? "kernel-wise" : "model-wise";
  std::vector<PartitionConfig> configs;
  for (int i = 0; i < kBatch; ++i) configs.push_back(alternate && i % 2 ? b : a);
  plan.workers.push_back(WorkerPlan::from_per_kernel("bench", configs));
  PartitionPool pool(gpu, 1, plan.pool_specs(t));
  KernelRouter router(pool, plan);
  for (auto _ : state) {
    const auto t0 = Clock::now();
    router.begin_request(0);
    for (int i = 0; i < kBatch; ++i) hip::launch(router, 0, bench::empty_kernel_address(), dim3(1), dim3(64), 0, nullptr);
    state.SetIterationTime(seconds_since(t0) / kBatch);
    bench::ok(hipDeviceSynchronize(), "hipDeviceSynchronize");
  }
  const RouterCounters c = router.counters(0);
  state.counters["switches_per_launch"] = double(c.switches) / double(c.launches);
  state.counters["barriers_per_launch"] = double(c.barriers) / double(c.launches);
  state.counters["backend_errors"] = double(c.backend_errors);
  state.SetLabel(alternate ? "switch" : "same");
}
BENCHMARK(BM_RoutedLaunch)->Arg(0)->Arg(1)->UseManualTime()->Unit(benchmark::kMicrosecond);

void BM_RemaskIoctl(benchmark::State& state) {
  hip::HipBackend gpu;  // finds the device and its layout
  hsa::Runtime runtime;
  const auto agents = hsa::gpu_agents();
  const hsa::AgentInfo* agent = nullptr;
  for (const auto& a : agents)
    if (a.name == gpu.device().hsa_agent && a.compute_units == gpu.topology().units()) agent = &a;
  if (agent == nullptr) {
    state.SkipWithError("no HSA agent matches the HIP device");
    return;
  }
  hsa::Queue q = hsa::Queue::create(agent->agent, 1024);
  const std::vector<std::uint32_t> one = gpu.hip_words(gpu.topology().group_mask(0));
  const std::vector<std::uint32_t> all = gpu.hip_words(gpu.topology().all());
  bool flip = false;
  unsigned reduced = 0;
  for (auto _ : state) {
    reduced += q.set_cu_mask((flip = !flip) ? one : all) ? 0U : 1U;
  }
  state.counters["mask_reduced"] = reduced;
}
BENCHMARK(BM_RemaskIoctl)->Unit(benchmark::kMicrosecond);

void BM_CreateMaskedStream(benchmark::State& state) {
  hip::HipBackend gpu;
  const CuMask m = gpu.topology().group_mask(0);
  for (auto _ : state) {
    const StreamHandle s = gpu.create_stream(m);
    gpu.destroy_stream(s);
  }
}
BENCHMARK(BM_CreateMaskedStream)->Unit(benchmark::kMicrosecond);

}  // namespace

ECLIP_HIP_BENCHMARK_MAIN();
