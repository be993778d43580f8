#pragma once
// Launching through eclip's router on the AMD backend: a kernel by its host address
// (hipLaunchKernel), from a code object (hipModuleLaunchKernel), or with typed arguments.
// Separate from eclip/backend/hip.hpp so that the backend itself does not depend on the router.
//   eclip::hip::HipBackend gpu;
//   eclip::PartitionPool pool(gpu, workers, plan.pool_specs(gpu.topology()));
//   eclip::KernelRouter router(pool, plan);
//   router.begin_request(w);
//   eclip::hip::launch(router, w, saxpy, dim3(n / 256), dim3(256), 0, 2.0f, d_x, d_y, n);
#include <array>
#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

#include <hip/hip_runtime_api.h>

#include "eclip/backend/hip.hpp"
#include "eclip/runtime/kernel_arguments.hpp"
#include "eclip/runtime/kernel_router.hpp"

namespace eclip::hip {

/// Routes the next kernel of `worker`'s request and launches `kernel` (a __global__ function's
/// host address) on the planned partition's stream with hipLaunchKernel. `args` points to one
/// pointer per kernel parameter. Returns the router's decision; throws Errc::backend if the
/// launch fails (the route is already taken and counted).
inline RouteDecision launch(KernelRouter& router, unsigned worker, const void* kernel, dim3 grid, dim3 block,
                            std::size_t shared_bytes, void** args) {
  const RouteDecision d = router.route(worker);
  detail::check(hipLaunchKernel(kernel, grid, block, args, shared_bytes, stream_of(d.stream)), "hipLaunchKernel");
  return d;
}

/// As launch(), for a kernel loaded from a code object (hipModuleLoadData + hipModuleGetFunction),
/// launched with hipModuleLaunchKernel; `extra` is its HIP_LAUNCH_PARAM_* array (or null).
inline RouteDecision launch_module(KernelRouter& router, unsigned worker, hipFunction_t function, dim3 grid,
                                   dim3 block, unsigned shared_bytes, void** args, void** extra = nullptr) {
  const RouteDecision d = router.route(worker);
  detail::check(hipModuleLaunchKernel(function, grid.x, grid.y, grid.z, block.x, block.y, block.z, shared_bytes,
                                      stream_of(d.stream), args, extra),
                "hipModuleLaunchKernel");
  return d;
}


/// The convenience form: `args` are converted to the kernel's parameter types (before routing, so
/// a conversion error takes no route).
///   eclip::hip::launch(router, w, saxpy, dim3(n / 256), dim3(256), 0, 2.0f, d_x, d_y, n);
template <class... Params, class... Args>
  requires(sizeof...(Params) == sizeof...(Args))
RouteDecision launch(KernelRouter& router, unsigned worker, void (*kernel)(Params...), dim3 grid, dim3 block,
                     std::size_t shared_bytes, Args&&... args) {
  KernelArguments<Params...> arguments(std::forward<Args>(args)...);
  return launch(router, worker, reinterpret_cast<const void*>(kernel), grid, block, shared_bytes, arguments.pointers());
}

}  // namespace eclip::hip
