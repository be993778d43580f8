#include "bench_kernels.hpp"

namespace eclip::cuda::bench {
namespace {

__device__ __forceinline__ unsigned long long globaltimer() {
  unsigned long long t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
}

__global__ void spin(unsigned long long ns, unsigned long long* stamps, unsigned slot) {
  const unsigned long long t0 = globaltimer();
  unsigned long long t = t0;
  while (t - t0 < ns) t = globaltimer();
  if (stamps != nullptr && threadIdx.x == 0) {
    stamps[2 * slot] = t0;
    stamps[2 * slot + 1] = t;
  }
}

__global__ void empty() {}

}  // namespace

SpinKernel spin_kernel() { return spin; }
EmptyKernel empty_kernel() { return empty; }

}  // namespace eclip::cuda::bench
