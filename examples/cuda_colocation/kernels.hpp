#pragma once
// The example's device code, behind host functions so main.cpp stays plain C++ (compiled by the
// host compiler, as an application's own .cpp would be). kernels.cu is compiled by nvcc.
#include <cuda_runtime_api.h>

namespace example {

/// Stage A of a request: x = 0.5 x + 1 over n floats (two kernels: a scale, then an add).
void enqueue_stage_a(cudaStream_t stream, float* x, int n);
/// Stage B of a request: x = x + 2 over n floats.
void enqueue_stage_b(cudaStream_t stream, float* x, int n);

}  // namespace example
