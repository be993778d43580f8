// Device code for the hip microbenchmarks.
#include <hip/hip_runtime.h>

#include "bench_kernels.hpp"

namespace eclip::bench {
namespace {

// s_memrealtime ticks per microsecond: 100 MHz on gfx9 and CDNA (MI50 ... MI300).
constexpr double kWallTicksPerUs = 100.0;

// wall_clock64() is declared for the device pass only; the builtin is what it wraps.
__device__ inline long long wall_ticks() {
#if defined(__HIP_DEVICE_COMPILE__)
  return static_cast<long long>(__builtin_amdgcn_s_memrealtime());
#else
  return 0;
#endif
}

__global__ void empty_kernel() {}

__global__ void spin_kernel(long long ticks) {
  const long long start = wall_ticks();
  while (wall_ticks() - start < ticks) {
  }
}

}  // namespace

hipError_t launch_empty(hipStream_t stream) {
  hipLaunchKernelGGL(empty_kernel, dim3(1), dim3(64), 0, stream);
  return hipGetLastError();
}

const void* empty_kernel_address() { return reinterpret_cast<const void*>(&empty_kernel); }

hipError_t launch_spin(hipStream_t stream, unsigned blocks, double us) {
  hipLaunchKernelGGL(spin_kernel, dim3(blocks), dim3(64), 0, stream, static_cast<long long>(us * kWallTicksPerUs));
  return hipGetLastError();
}

}  // namespace eclip::bench
