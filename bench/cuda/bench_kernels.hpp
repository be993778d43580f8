#pragma once
// Device code of the CUDA backend benchmark, behind host accessors (eclip's headers are host C++;
// docs/cuda.md says why the .cu files stay apart).
#include <cstdint>

namespace eclip::cuda::bench {

/// One block spins `ns` nanoseconds of %globaltimer; with `stamps`, writes its start and end
/// times to stamps[2*slot] and stamps[2*slot + 1].
using SpinKernel = void (*)(unsigned long long ns, unsigned long long* stamps, unsigned slot);
SpinKernel spin_kernel();
using EmptyKernel = void (*)();
EmptyKernel empty_kernel();

}  // namespace eclip::cuda::bench
