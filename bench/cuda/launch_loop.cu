// launch_loop: host time per kernel launch of a plain CUDA program (no eclip code), for the
// transparent-mode overhead (docs/results/h100-transparent-*): run it with and without
// LD_PRELOAD=libeclip_preload_cuda.so and compare. The launches are nvcc 13's <<<>>>, i.e.
// __cudaLaunchKernel, on the legacy default stream as eager PyTorch launches them.
//   launch_loop [launches per rep = 20000] [reps = 7]
// Prints "LAUNCH_LOOP {json}": ns per launch of every rep (each rep ends with a synchronize, which
// is included: the GPU runs the empty kernels faster than the host issues them).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <cuda_runtime.h>

__global__ void empty_kernel() {}

static void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    std::fprintf(stderr, "launch_loop: %s failed: %s\n", what, cudaGetErrorString(e));
    std::exit(1);
  }
}

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 20000;
  const int reps = argc > 2 ? std::atoi(argv[2]) : 7;
  if (n <= 0 || reps <= 0) {
    std::fprintf(stderr, "usage: launch_loop [launches per rep > 0] [reps > 0]\n");
    return 2;
  }
  check(cudaFree(nullptr), "cudaFree(0) (context creation)");
  for (int i = 0; i < 1000; ++i) empty_kernel<<<1, 32>>>();
  check(cudaGetLastError(), "warm-up launch");
  check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  std::vector<double> ns;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) empty_kernel<<<1, 32>>>();
    check(cudaGetLastError(), "launch");
    check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
    const auto t1 = std::chrono::steady_clock::now();
    ns.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count() / n);
  }
  std::vector<double> sorted = ns;
  std::sort(sorted.begin(), sorted.end());
  std::printf("LAUNCH_LOOP {\"launches_per_rep\": %d, \"min_ns\": %.1f, \"median_ns\": %.1f, \"ns\": [", n, sorted.front(),
              sorted[sorted.size() / 2]);
  for (size_t i = 0; i < ns.size(); ++i) std::printf("%s%.1f", i ? ", " : "", ns[i]);
  std::printf("]}\n");
  return 0;
}
