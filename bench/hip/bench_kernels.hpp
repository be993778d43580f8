#pragma once
// Kernels for the hip microbenchmarks (bench_kernels.hip, compiled by hipcc), called from the
// benchmark programs (compiled by the project's C++ compiler).
#include <hip/hip_runtime_api.h>

namespace eclip::bench {

/// An empty kernel <<<1, 64>>>: the launch-overhead baseline.
hipError_t launch_empty(hipStream_t stream);
/// Its host address, for eclip::hip::launch(router, ...).
const void* empty_kernel_address();
/// `blocks` blocks of 64 threads, each spinning `us` microseconds of GPU wall clock
/// (s_memrealtime, assumed 100 MHz as on gfx9/CDNA; HIP 5.2 cannot query its rate).
hipError_t launch_spin(hipStream_t stream, unsigned blocks, double us);

}  // namespace eclip::bench
