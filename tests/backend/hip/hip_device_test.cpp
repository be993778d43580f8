// Hardware tests of the hip backend. Each one needs an AMD GPU: without one it prints the reason
// and exits 77 (ctest: skipped). docs/amd.md says what a user with a GPU should see.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "device_kernels.hpp"
#include "eclip/backend/hip_launch.hpp"
#include "eclip/eclip_c.h"
#include "eclip/backend/hsa/queue.hpp"
#include "eclip/backend/hsa/signal.hpp"
#include "eclip/eclip.hpp"
#include "require_gpu.hpp"

using namespace eclip;
using testing::require_amd_gpu;

namespace {

template <class T>
struct DeviceBuffer {
  T* ptr = nullptr;
  explicit DeviceBuffer(std::size_t n) { hip::detail::check(hipMalloc(&ptr, n * sizeof(T)), "hipMalloc"); }
  ~DeviceBuffer() { (void)hipFree(ptr); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
};

void ok(hipError_t e, const char* call) { hip::detail::check(e, call); }

/// Clocks to spin for `us` microseconds at the device's clock rate (kHz).
long long cycles_for_us(double us) {
  int khz = 0;
  ok(hipDeviceGetAttribute(&khz, hipDeviceAttributeClockRate, 0), "hipDeviceGetAttribute(ClockRate)");
  return static_cast<long long>(us * khz / 1000.0);
}

}  // namespace

TEST_CASE("device topology: CUs from hipDeviceProp, shader engines from HSA", "[hip][gpu]") {
  require_amd_gpu();
  hip::HipBackend gpu;
  const hip::DeviceInfo& d = gpu.device();
  hipDeviceProp_t prop{};
  ok(hipGetDeviceProperties(&prop, 0), "hipGetDeviceProperties");
  INFO(d.name << " " << d.arch << ": " << d.compute_units << " CUs, " << d.shader_engines << " SEs, agent "
              << d.hsa_agent << " matched by " << d.agent_match << " " << d.layout_note);
  CHECK(gpu.topology().units() == static_cast<unsigned>(prop.multiProcessorCount));
  CHECK(gpu.topology().group_count() == d.shader_engines);
  CHECK(gpu.topology().vendor == Vendor::amd);
  CHECK_THAT(d.agent_match, Catch::StartsWith("PCI"));
  WARN("device: " << gpu.topology().name << " = " << d.name << " (" << d.arch << "), " << d.compute_units << " CUs in "
                  << d.shader_engines << " shader engines x " << d.arrays_per_engine << " arrays, " << d.xccs
                  << " die(s)" << (d.layout_note.empty() ? "" : "; " + d.layout_note));
}

TEST_CASE("each engine's masked stream holds the translated words and runs only on that engine", "[hip][gpu]") {
  require_amd_gpu();
  hip::HipBackend gpu;
  const Topology& t = gpu.topology();
  const unsigned blocks = 8 * t.units();
  DeviceBuffer<testing::WavePlace> places(blocks);
  for (unsigned g = 0; g < t.group_count(); ++g) {
    const CuMask mask = t.group_mask(g);
    const StreamHandle s = gpu.create_stream(mask);
    std::vector<std::uint32_t> held((t.units() + 31) / 32);
    ok(hipExtStreamGetCUMask(hip::stream_of(s), static_cast<std::uint32_t>(held.size()), held.data()),
       "hipExtStreamGetCUMask");
    CHECK(held == gpu.hip_words(mask));
    ok(testing::launch_where_am_i(hip::stream_of(s), blocks, places.ptr, cycles_for_us(20)), "where_am_i");
    gpu.synchronize(s);
    std::vector<testing::WavePlace> host(blocks);
    ok(hipMemcpy(host.data(), places.ptr, blocks * sizeof(testing::WavePlace), hipMemcpyDeviceToHost), "hipMemcpy");
    const auto want = gpu.layout().location_of_unit(t.group_first_unit(g));
    std::set<std::pair<unsigned, unsigned>> engines, cus;
    for (const auto& p : host) {
      engines.insert({p.xcc(), p.engine()});
      cus.insert({p.array(), p.cu()});
    }
    INFO("group " << g << " units " << mask.to_string() << ": expected die " << want.xcc << " engine " << want.engine);
    if (gpu.device().xccs == 1) {
      CHECK(engines == std::set<std::pair<unsigned, unsigned>>{{0U, want.engine}});
    } else {
      // HW_REG_XCC_ID is the physical die; the driver's die order is logical: check one die only.
      REQUIRE(engines.size() == 1);
      CHECK(engines.begin()->second == want.engine);
    }
    CHECK(cus.size() <= t.group_sizes[g]);
    gpu.destroy_stream(s);
  }
  CHECK(gpu.live_streams() == 0);
}

TEST_CASE("markers: a pending predecessor is not done, and the barrier orders the other stream", "[hip][gpu]") {
  require_amd_gpu();
  hip::HipBackend gpu;
  const Topology& t = gpu.topology();
  const StreamHandle a = gpu.create_stream(t.group_mask(0));
  const StreamHandle b = gpu.create_stream(t.group_mask(t.group_count() - 1));
  DeviceBuffer<int> flag(1), seen(1);
  ok(hipMemset(flag.ptr, 0, sizeof(int)), "hipMemset");
  ok(hipMemset(seen.ptr, 0, sizeof(int)), "hipMemset");
  ok(hipDeviceSynchronize(), "hipDeviceSynchronize");
  ok(testing::launch_spin_then_set(hip::stream_of(a), flag.ptr, cycles_for_us(20000)), "spin_then_set");
  const MarkerHandle m = gpu.record_marker(a);
  CHECK_FALSE(gpu.marker_done(m));  // 20 ms of spinning is still running
  gpu.wait_marker(b, m);
  ok(testing::launch_read_flag(hip::stream_of(b), flag.ptr, seen.ptr), "read_flag");
  gpu.synchronize(b);
  int host = 0;
  ok(hipMemcpy(&host, seen.ptr, sizeof host, hipMemcpyDeviceToHost), "hipMemcpy");
  CHECK(host == 1);
  CHECK(gpu.marker_done(m));
  gpu.release_marker(m);
  // Reusing the pooled event: an idle stream's marker completes promptly.
  gpu.synchronize(a);
  const MarkerHandle m2 = gpu.record_marker(a);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (!gpu.marker_done(m2) && std::chrono::steady_clock::now() < until) std::this_thread::yield();
  CHECK(gpu.marker_done(m2));
  gpu.release_marker(m2);
}

TEST_CASE("router + launch: two workers' switching chains keep their order", "[hip][gpu]") {
  require_amd_gpu();
  hip::HipBackend gpu;
  const Topology& t = gpu.topology();
  constexpr unsigned kWorkers = 2, kKernels = 24, kRequests = 20, kN = 1 << 16;
  Plan plan;
  plan.device = t.name;
  plan.strategy = "test";
  // Three configs per worker (one engine, two engines, the whole device): 2 masked streams each.
  const std::vector<unsigned> sizes = {t.size_classes.front(), t.size_classes[std::min<std::size_t>(1, t.size_classes.size() - 1)],
                                       t.size_classes.back()};
  for (unsigned w = 0; w < kWorkers; ++w) {
    std::vector<PartitionConfig> configs;
    for (unsigned k = 0; k < kKernels; ++k) configs.push_back(PartitionConfig{sizes[(k / 3 + w) % sizes.size()]});
    plan.workers.push_back(WorkerPlan::from_per_kernel("chain" + std::to_string(w), configs));
  }
  PartitionPool pool(gpu, kWorkers, plan.pool_specs(t));
  KernelRouter router(pool, plan);
  std::vector<std::unique_ptr<DeviceBuffer<unsigned>>> x;
  for (unsigned w = 0; w < kWorkers; ++w) {
    x.push_back(std::make_unique<DeviceBuffer<unsigned>>(kN));
    ok(hipMemset(x[w]->ptr, 0, kN * sizeof(unsigned)), "hipMemset");
  }
  ok(hipDeviceSynchronize(), "hipDeviceSynchronize");
  std::vector<std::thread> threads;
  for (unsigned w = 0; w < kWorkers; ++w)
    threads.emplace_back([&, w] {
      for (unsigned r = 0; r < kRequests; ++r) {
        router.begin_request(w);
        for (unsigned k = 0; k < kKernels; ++k) {
          unsigned* px = x[w]->ptr;
          unsigned n = kN, step = k;
          void* args[] = {&px, &n, &step};
          hip::launch(router, w, testing::step_kernel_address(), dim3(kN / 256), dim3(256), 0, args);
        }
      }
    });
  for (auto& th : threads) th.join();
  ok(hipDeviceSynchronize(), "hipDeviceSynchronize");
  unsigned expect = 0;
  for (unsigned r = 0; r < kRequests; ++r)
    for (unsigned k = 0; k < kKernels; ++k) expect = expect * 3U + k + 1U;
  for (unsigned w = 0; w < kWorkers; ++w) {
    std::vector<unsigned> host(kN);
    ok(hipMemcpy(host.data(), x[w]->ptr, kN * sizeof(unsigned), hipMemcpyDeviceToHost), "hipMemcpy");
    CHECK(std::count(host.begin(), host.end(), expect) == static_cast<long>(kN));
    const RouterCounters c = router.counters(w);
    CHECK(c.launches == kKernels * kRequests);
    CHECK(c.switches > 0);
    CHECK(c.backend_errors == 0);
    WARN("worker " << w << ": " << c.switches << " switches, " << c.barriers << " hipStreamWaitEvent barriers");
  }
}

TEST_CASE("remask_stream is unavailable on HIP streams", "[hip][gpu]") {
  require_amd_gpu();
  hip::HipBackend gpu;
  const StreamHandle s = gpu.create_stream(gpu.topology().group_mask(0));
  try {
    gpu.remask_stream(s, gpu.topology().all());
    FAIL("remask_stream must throw");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::unavailable);
    CHECK_THAT(e.what(), Catch::Contains("hsa::Queue::set_cu_mask"));
  }
  gpu.destroy_stream(s);
}

TEST_CASE("an eclip-owned HSA queue: barrier-AND waits for its dependency and the CU mask round-trips", "[hip][gpu][hsa]") {
  require_amd_gpu();
  hip::HipBackend gpu;  // for the layout
  hsa::Runtime runtime;
  const auto agents = hsa::gpu_agents();
  REQUIRE_FALSE(agents.empty());
  hsa::Queue q = hsa::Queue::create(agents[0].agent, 64);
  hsa::Signal dep = hsa::Signal::create(1), done = hsa::Signal::create(1);
  hsa::BarrierAnd b;
  b.depend_on(dep.handle()).complete(done.handle());
  hsa::submit(q, b);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK_FALSE(done.done());
  dep.store(0);
  done.wait_done();
  CHECK(done.done());
  const hsa::CuMaskLayout& l = gpu.layout();
  if (l.units() == agents[0].compute_units) {
    const auto words = l.hip_words(gpu.topology().group_mask(0));
    CHECK(q.set_cu_mask(words));
    CHECK(q.cu_mask(l.units()) == words);
  }
}

TEST_CASE("C ABI: create, topology, kernel and graph launch through a router", "[hip][gpu][c_api]") {
  require_amd_gpu();
  eclip_backend* b = nullptr;
  REQUIRE(eclip_backend_create("hip:0", &b) == ECLIP_OK);
  eclip_topology_info info{};
  REQUIRE(eclip_backend_topology(b, &info) == ECLIP_OK);
  CHECK(info.units > 0);
  CHECK(info.groups > 0);
  CHECK(info.vendor == 0);
  const Topology topo = hip::HipBackend().topology();
  Plan plan;
  plan.device = topo.name;
  plan.strategy = "test";
  plan.workers.push_back(WorkerPlan::from_per_kernel("one", {PartitionConfig{1}, PartitionConfig{topo.group_count()}}));
  eclip_plan* p = nullptr;
  REQUIRE(eclip_plan_from_json(b, plan.to_json(topo).dump().c_str(), &p) == ECLIP_OK);
  eclip_pool* pool = nullptr;
  REQUIRE(eclip_pool_create(b, p, &pool) == ECLIP_OK);
  eclip_router* router = nullptr;
  REQUIRE(eclip_router_create(pool, p, -1, &router) == ECLIP_OK);
  CHECK(eclip_pool_slot_push_context(pool, 0, 1) == ECLIP_OK);  // no-ops on AMD
  CHECK(eclip_pool_slot_pop_context(pool) == ECLIP_OK);
  {
    DeviceBuffer<unsigned> x(256);
    ok(hipMemset(x.ptr, 0, 256 * sizeof(unsigned)), "hipMemset");
    REQUIRE(eclip_router_begin_request(router, 0) == ECLIP_OK);
    std::set<std::uint64_t> streams;
    for (unsigned k = 0; k < 2; ++k) {
      unsigned* px = x.ptr;
      unsigned n = 256, step = k;
      void* args[] = {&px, &n, &step};
      const uint32_t grid[3] = {1, 1, 1}, block[3] = {256, 1, 1};
      eclip_route r{};
      CHECK(eclip_router_launch_kernel(router, 0, testing::step_kernel_address(), grid, block, 0, args, &r) == ECLIP_OK);
      CHECK(r.status == ECLIP_ROUTED);
      CHECK(r.slot == k + 1);
      streams.insert(r.stream);
    }
    CHECK(streams.size() == 2);
    ok(hipDeviceSynchronize(), "hipDeviceSynchronize");
    std::vector<unsigned> host(256);
    ok(hipMemcpy(host.data(), x.ptr, 256 * sizeof(unsigned), hipMemcpyDeviceToHost), "hipMemcpy");
    CHECK(host[255] == (0U * 3U + 1U) * 3U + 2U);

    // A graph per slot, captured on that slot's stream, launched by the router's choice.
    uint32_t slots = 0;
    REQUIRE(eclip_pool_slot_count(pool, 0, &slots) == ECLIP_OK);
    std::vector<std::uint64_t> execs(slots);
    for (uint32_t i = 0; i < slots; ++i) {
      std::uint64_t s = 0;
      REQUIRE(eclip_pool_slot(pool, 0, i, &s, nullptr) == ECLIP_OK);
      hipStream_t stream = reinterpret_cast<hipStream_t>(s);
      ok(hipStreamBeginCapture(stream, hipStreamCaptureModeThreadLocal), "hipStreamBeginCapture");
      unsigned* px = x.ptr;
      unsigned n = 256, step = 7;
      void* args[] = {&px, &n, &step};
      ok(hipLaunchKernel(testing::step_kernel_address(), dim3(1), dim3(256), args, 0, stream), "hipLaunchKernel");
      hipGraph_t graph = nullptr;
      ok(hipStreamEndCapture(stream, &graph), "hipStreamEndCapture");
      hipGraphExec_t exec = nullptr;
      ok(hipGraphInstantiate(&exec, graph, nullptr, nullptr, 0), "hipGraphInstantiate");
      (void)hipGraphDestroy(graph);
      execs[i] = reinterpret_cast<std::uint64_t>(exec);
    }
    REQUIRE(eclip_router_begin_request(router, 0) == ECLIP_OK);
    eclip_route r{};
    CHECK(eclip_router_launch_graph(router, 0, execs.data(), execs.size(), &r) == ECLIP_OK);
    CHECK(r.slot == 1);
    ok(hipDeviceSynchronize(), "hipDeviceSynchronize");
    for (std::uint64_t e : execs) (void)hipGraphExecDestroy(reinterpret_cast<hipGraphExec_t>(e));
  }
  eclip_router_destroy(router);
  eclip_pool_destroy(pool);
  eclip_plan_destroy(p);
  eclip_backend_destroy(b);
}
