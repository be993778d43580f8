// cuda_colocation: several inference-like workers share one NVIDIA GPU through eclip's green
// contexts and router, each request being two CUDA graphs.
//
// Each worker thread owns a buffer and a two-stage request: stage A (x = 0.5 x + 1, two kernels)
// planned on a partition of a few SM atoms grown from the worker's home atom, stage B (x = x + 2)
// planned on the whole GPU. Each stage is a RoutedGraph: captured once per pool slot of its worker
// (with that slot's green context current, so even library kernels stay in the partition), and
// launched as the router decides, with a barrier only where the partition changes. Request r+1
// reads what request r wrote, so the result is only right if the router keeps each worker's order
// across its partitions. The program checks every worker's buffer against the host and prints
// the router's counters.
//
// Usage: cuda_colocation [workers (2-4, default 3)] [requests (default 50)]
// Without an NVIDIA GPU and driver it prints "SKIPPED: <reason>" and exits 77.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <thread>
#include <vector>

#include <eclip/backend/cuda.hpp>
#include <eclip/backend/cuda_launch.hpp>
#include <eclip/eclip.hpp>

#include "kernels.hpp"

namespace {

constexpr int kElements = 1 << 16;

void check(cudaError_t e, const char* call) {
  if (e != cudaSuccess) throw eclip::Error(eclip::Errc::backend, std::string(call) + " failed: " + cudaGetErrorString(e));
}

/// What a worker's buffer holds after `requests` requests that start from 0.
float expected(int requests) {
  float x = 0;
  for (int r = 0; r < requests; ++r) x = (0.5f * x + 1.0f) + 2.0f;
  return x;
}

}  // namespace

int main(int argc, char** argv) {
  const int workers = argc > 1 ? std::atoi(argv[1]) : 3;
  const int requests = argc > 2 ? std::atoi(argv[2]) : 50;
  if (workers < 2 || workers > 4 || requests < 1) {
    std::fprintf(stderr, "usage: cuda_colocation [workers 2-4] [requests >= 1]\n");
    return 2;
  }
  if (const std::string why = eclip::cuda::driver_unavailable_reason(); !why.empty()) {
    std::printf("SKIPPED: no usable NVIDIA GPU and driver: %s\n", why.c_str());
    return 77;
  }
  try {
    eclip::cuda::GreenContextBackend gpu;
    const eclip::Topology& topo = gpu.topology();
    // Stage A on the second-smallest size class (H100: 2 atoms = 16 SMs), stage B on the whole GPU.
    const unsigned small = topo.size_classes.size() > 1 ? topo.size_classes[1] : topo.size_classes[0];
    eclip::Plan plan{topo.name, "example", eclip::SwitchBudget::per_request(2), {}};
    for (int w = 0; w < workers; ++w)
      plan.workers.push_back(eclip::WorkerPlan{"worker" + std::to_string(w), {{0, 1, {small}}, {1, 1, {topo.group_count()}}}});
    plan.validate(topo);
    eclip::PartitionPool pool(gpu, static_cast<unsigned>(workers), plan.pool_specs(topo));
    eclip::KernelRouter router(pool, plan);
    std::printf("%s (%u SMs): %d workers, stage A on %u SMs each, stage B on all\n", gpu.device().name.c_str(),
                topo.units(), workers, topo.units_of(small));

    std::vector<float*> buffers(static_cast<size_t>(workers), nullptr);
    for (float*& b : buffers) {
      void* p = nullptr;
      check(cudaMalloc(&p, kElements * sizeof(float)), "cudaMalloc");
      b = static_cast<float*>(p);
      check(cudaMemset(b, 0, kElements * sizeof(float)), "cudaMemset");
    }
    std::vector<std::string> errors(static_cast<size_t>(workers));
    std::vector<std::thread> threads;
    for (int w = 0; w < workers; ++w)
      threads.emplace_back([&, w] {
        try {
          const auto worker = static_cast<unsigned>(w);
          float* x = buffers[static_cast<size_t>(w)];
          // One graph per pool slot of this worker, captured in this thread.
          eclip::cuda::RoutedGraph stage_a(pool, worker, [&](cudaStream_t s) { example::enqueue_stage_a(s, x, kElements); });
          eclip::cuda::RoutedGraph stage_b(pool, worker, [&](cudaStream_t s) { example::enqueue_stage_b(s, x, kElements); });
          for (int r = 0; r < requests; ++r) {
            router.begin_request(worker);
            eclip::cuda::launch_graph(router, stage_a);
            const eclip::RouteDecision last = eclip::cuda::launch_graph(router, stage_b);
            gpu.synchronize(last.stream);  // closed loop: the next request starts when this one ends
          }
        } catch (const std::exception& e) {
          errors[static_cast<size_t>(w)] = e.what();
        }
      });
    for (auto& t : threads) t.join();
    for (int w = 0; w < workers; ++w)
      if (!errors[static_cast<size_t>(w)].empty()) throw eclip::Error(eclip::Errc::backend, errors[static_cast<size_t>(w)]);

    int bad = 0;
    const float want = expected(requests);
    std::vector<float> host(kElements);
    for (int w = 0; w < workers; ++w) {
      check(cudaMemcpy(host.data(), buffers[static_cast<size_t>(w)], kElements * sizeof(float), cudaMemcpyDeviceToHost),
            "cudaMemcpy");
      for (float v : host)
        if (std::fabs(v - want) > 1e-4f * std::fabs(want)) ++bad;
      check(cudaFree(buffers[static_cast<size_t>(w)]), "cudaFree");
    }
    const eclip::RouterCounters c = router.totals();
    std::printf("requests %llu, graph launches %llu, switches %llu, barriers %llu\n",
                static_cast<unsigned long long>(c.requests), static_cast<unsigned long long>(c.launches),
                static_cast<unsigned long long>(c.switches), static_cast<unsigned long long>(c.barriers));
    if (bad) {
      std::printf("FAILED: %d values differ from the host's %f\n", bad, static_cast<double>(want));
      return 1;
    }
    std::printf("all results match the host\n");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cuda_colocation: %s\n", e.what());
    return 1;
  }
}
