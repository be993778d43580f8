#include "kernels.hpp"

namespace eclip::cuda::testing {
namespace {

__device__ __forceinline__ unsigned smid() {
  unsigned r;
  asm volatile("mov.u32 %0, %%smid;" : "=r"(r));
  return r;
}
__device__ __forceinline__ unsigned long long globaltimer() {
  unsigned long long t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
}

__global__ void probe_smid(unsigned* out, unsigned long long spin_ns) {
  const unsigned long long t0 = globaltimer();
  while (globaltimer() - t0 < spin_ns) {
  }
  if (threadIdx.x == 0) out[blockIdx.x] = smid();
}

__global__ void chain_step(std::uint32_t* a, std::uint32_t k, unsigned n) {
  const unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) a[i] = a[i] * 2654435761u + (k ^ i);
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

ProbeKernel probe_smid_kernel() { return probe_smid; }
ChainKernel chain_step_kernel() { return chain_step; }
SpinKernel spin_kernel() { return spin; }
EmptyKernel empty_kernel() { return empty; }

std::uint32_t chain_expected(std::uint32_t start, unsigned i, std::uint32_t first, std::uint32_t steps) {
  std::uint32_t v = start;
  for (std::uint32_t k = first; k < first + steps; ++k) v = v * 2654435761u + (k ^ i);
  return v;
}

}  // namespace eclip::cuda::testing
