#pragma once
// Device code the CUDA backend's tests launch, behind host-callable accessors, so the Catch2
// sources stay plain C++ (g++ with the project's warnings) and launch kernels the way an
// application's .cpp does: eclip::cuda::launch with the kernel's host stub. kernels.cu includes
// only the declarations above the raw_launch helper: eclip's headers are host C++ (nvcc 13.0's
// front end rejects fmt 9's consteval format strings; docs/cuda.md).
#include <cstdint>

namespace eclip::cuda::testing {

/// Each block spins `spin_ns` (so blocks spread over every SM the stream may use), then block b
/// writes its %smid to out[b].
using ProbeKernel = void (*)(unsigned* out, unsigned long long spin_ns);
ProbeKernel probe_smid_kernel();

/// One step of a dependent chain: a[i] = a[i] * 2654435761 + (k ^ i) for i < n. The recurrence
/// does not commute, so any two steps run out of order or overlapping give a different result.
using ChainKernel = void (*)(std::uint32_t* a, std::uint32_t k, unsigned n);
ChainKernel chain_step_kernel();
/// The chain's expected value of element i after steps [first, first + steps) on `start`.
std::uint32_t chain_expected(std::uint32_t start, unsigned i, std::uint32_t first, std::uint32_t steps);

/// One block spins for `ns` nanoseconds of %globaltimer; if `stamps` is not null it writes the
/// start and end times (ns) to stamps[2*slot], stamps[2*slot + 1].
using SpinKernel = void (*)(unsigned long long ns, unsigned long long* stamps, unsigned slot);
SpinKernel spin_kernel();

/// An empty kernel: the launch path alone.
using EmptyKernel = void (*)();
EmptyKernel empty_kernel();

#if !defined(__CUDACC__)
}  // namespace eclip::cuda::testing
#include <array>
#include <tuple>

#include "eclip/backend/cuda_launch.hpp"
namespace eclip::cuda::testing {

/// A plain launch on `stream` (no router), for probes and baselines: cudaLaunchKernel, checked.
template <class... Params, class... Args>
void raw_launch(cudaStream_t stream, void (*kernel)(Params...), dim3 grid, dim3 block, Args... args) {
  eclip::KernelArguments<Params...> arguments(args...);
  eclip::cuda::detail::check_runtime(
      cudaLaunchKernel(reinterpret_cast<const void*>(kernel), grid, block, arguments.pointers(), 0, stream),
      "cudaLaunchKernel");
}
#endif

}  // namespace eclip::cuda::testing
