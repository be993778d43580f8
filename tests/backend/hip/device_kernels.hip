// Device code for the hip hardware tests (built by hipcc for ECLIP_HIP_ARCHITECTURES).
#include <hip/hip_runtime.h>

#include "device_kernels.hpp"

namespace eclip::testing {
namespace {

// s_getreg_b32 immediate: (size - 1) << 11 | offset << 6 | register id.
constexpr int kHwIdAll = (31 << 11) | (0 << 6) | 4;    // HW_REG_HW_ID (gfx6-9, incl. gfx94x)
constexpr int kXccIdAll = (31 << 11) | (0 << 6) | 20;  // HW_REG_XCC_ID (gfx940+)

__global__ void where_am_i(WavePlace* places, long long spin_cycles) {
  if (threadIdx.x == 0) {
    WavePlace p;
    p.hw_id = static_cast<std::uint32_t>(__builtin_amdgcn_s_getreg(kHwIdAll));
#if defined(__gfx940__) || defined(__gfx941__) || defined(__gfx942__)
    p.xcc_id = static_cast<std::uint32_t>(__builtin_amdgcn_s_getreg(kXccIdAll));
#else
    (void)kXccIdAll;
#endif
    places[blockIdx.x] = p;
  }
  const long long start = clock64();
  while (clock64() - start < spin_cycles) {
  }
}

__global__ void spin_then_set(int* flag, long long spin_cycles) {
  const long long start = clock64();
  while (clock64() - start < spin_cycles) {
  }
  __atomic_store_n(flag, 1, __ATOMIC_RELEASE);
}

__global__ void read_flag(const int* flag, int* seen) { *seen = __atomic_load_n(flag, __ATOMIC_ACQUIRE); }

__global__ void step_kernel(unsigned* x, unsigned n, unsigned step) {
  const unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) x[i] = x[i] * 3U + step + 1U;
}

}  // namespace

hipError_t launch_where_am_i(hipStream_t stream, unsigned blocks, WavePlace* places, long long spin_cycles) {
  hipLaunchKernelGGL(where_am_i, dim3(blocks), dim3(64), 0, stream, places, spin_cycles);
  return hipGetLastError();
}

hipError_t launch_spin_then_set(hipStream_t stream, int* flag, long long spin_cycles) {
  hipLaunchKernelGGL(spin_then_set, dim3(1), dim3(1), 0, stream, flag, spin_cycles);
  return hipGetLastError();
}

hipError_t launch_read_flag(hipStream_t stream, const int* flag, int* seen) {
  hipLaunchKernelGGL(read_flag, dim3(1), dim3(1), 0, stream, flag, seen);
  return hipGetLastError();
}

const void* step_kernel_address() { return reinterpret_cast<const void*>(&step_kernel); }

}  // namespace eclip::testing
