#pragma once
// Launching through eclip's router on the NVIDIA backend: kernels (launch, launch_ex), instantiated
// graphs (launch_graph) and kernel groups captured once per partition (RoutedGraph). Separate from
// eclip/backend/cuda.hpp so that the backend itself does not depend on the router. These use the
// CUDA runtime (link eclip::cuda, which brings CUDA::cudart_static).
//   eclip::cuda::GreenContextBackend gpu;
//   eclip::PartitionPool pool(gpu, workers, plan.pool_specs(gpu.topology()));
//   eclip::KernelRouter router(pool, plan);
//   router.begin_request(w);
//   eclip::cuda::launch(router, w, my_kernel, dim3(64), dim3(256), 0, d_ptr, n);
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <cuda_runtime_api.h>
#include <fmt/format.h>

#include "eclip/backend/cuda.hpp"
#include "eclip/runtime/kernel_router.hpp"
#include "eclip/runtime/kernel_arguments.hpp"
#include "eclip/runtime/partition_pool.hpp"

namespace eclip::cuda {


/// Routes the next kernel of `worker`'s request and launches `kernel` on the planned partition's
/// stream with cudaLaunchKernel. `args` are converted to the kernel's parameter types. Returns the
/// router's decision; throws Errc::backend if the launch itself fails (the route is already taken).
///   eclip::cuda::launch(router, w, my_kernel, dim3(64), dim3(256), 0, d_ptr, n);
template <class... Params, class... Args>
RouteDecision launch(KernelRouter& router, unsigned worker, void (*kernel)(Params...), dim3 grid, dim3 block,
                     std::size_t shared_bytes, Args&&... args) {
  static_assert(sizeof...(Params) == sizeof...(Args), "eclip::cuda::launch: argument count differs from the kernel's");
  KernelArguments<Params...> arguments(std::forward<Args>(args)...);
  const RouteDecision d = router.route(worker);
  detail::check_runtime(cudaLaunchKernel(reinterpret_cast<const void*>(kernel), grid, block, arguments.pointers(),
                                         shared_bytes, stream_of(d.stream)),
                        "cudaLaunchKernel");
  return d;
}

/// As launch(), with a full launch configuration (attributes such as clusters or programmatic
/// dependent launch); `config.stream` is replaced by the routed stream.
template <class... Params, class... Args>
RouteDecision launch_ex(KernelRouter& router, unsigned worker, cudaLaunchConfig_t config, void (*kernel)(Params...),
                        Args&&... args) {
  static_assert(sizeof...(Params) == sizeof...(Args), "eclip::cuda::launch_ex: argument count differs from the kernel's");
  KernelArguments<Params...> arguments(std::forward<Args>(args)...);
  const RouteDecision d = router.route(worker);
  config.stream = stream_of(d.stream);
  detail::check_runtime(cudaLaunchKernelExC(&config, reinterpret_cast<const void*>(kernel), arguments.pointers()),
                        "cudaLaunchKernelExC");
  return d;
}

/// Routes the next unit of `worker`'s request and launches an instantiated graph on its stream.
/// Which SMs the graph's kernels use is decided when the graph is captured (see docs/cuda.md and
/// RoutedGraph), so pass a graph captured for the partition the plan chooses, or use RoutedGraph.
inline RouteDecision launch_graph(KernelRouter& router, unsigned worker, cudaGraphExec_t exec) {
  const RouteDecision d = router.route(worker);
  detail::check_runtime(cudaGraphLaunch(exec, stream_of(d.stream)), "cudaGraphLaunch");
  return d;
}

/// A kernel group as one routable unit: `enqueue` is captured once on each of the worker's pool
/// streams (its fallback and each partition), so whichever partition the router picks, the graph
/// launched there was captured there and its kernels run on that partition's SMs.
/// Each capture runs with that slot's context current on the capturing thread
/// (GreenContextBackend::current): cuDNN and cuBLAS enqueue part of their work on internal streams
/// of the current context, which a capture joins into the graph; with the primary context current
/// those kernels would run on every SM, outside the partition (measured on the H100; docs/cuda.md).
/// The pool must be over a GreenContextBackend.
///   RoutedGraph g(pool, w, [&](cudaStream_t s) { layer1<<<64, 256, 0, s>>>(x); layer2<<<...>>>(x); });
///   launch_graph(router, w, g);
class RoutedGraph {
 public:
  RoutedGraph(const PartitionPool& pool, unsigned worker, const std::function<void(cudaStream_t)>& enqueue)
      : worker_(worker) {
    auto* gpu = dynamic_cast<GreenContextBackend*>(&pool.backend());
    if (gpu == nullptr)
      throw Error(Errc::invalid_argument,
                  fmt::format("RoutedGraph: the pool's backend is \"{}\"; graphs are captured per green context, so "
                              "the pool must be over eclip::cuda::GreenContextBackend",
                              pool.backend().name()));
    try {
      for (const auto& slot : pool.slots(worker)) {
        const GreenContextBackend::ContextGuard current = gpu->current(slot.stream);
        cudaStream_t s = stream_of(slot.stream);
        detail::check_runtime(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal), "cudaStreamBeginCapture");
        cudaGraph_t graph = nullptr;
        try {
          enqueue(s);
        } catch (...) {
          (void)cudaStreamEndCapture(s, &graph);
          if (graph) (void)cudaGraphDestroy(graph);
          throw;
        }
        detail::check_runtime(cudaStreamEndCapture(s, &graph), "cudaStreamEndCapture");
        cudaGraphExec_t exec = nullptr;
        const cudaError_t e = cudaGraphInstantiate(&exec, graph, 0);
        (void)cudaGraphDestroy(graph);
        detail::check_runtime(e, "cudaGraphInstantiate");
        execs_.push_back(exec);
      }
    } catch (...) {
      release();
      throw;
    }
  }
  ~RoutedGraph() { release(); }
  RoutedGraph(RoutedGraph&& o) noexcept : worker_(o.worker_), execs_(std::move(o.execs_)) { o.execs_.clear(); }
  RoutedGraph& operator=(RoutedGraph&& o) noexcept {
    if (this != &o) {
      release();
      worker_ = o.worker_;
      execs_ = std::move(o.execs_);
      o.execs_.clear();
    }
    return *this;
  }
  RoutedGraph(const RoutedGraph&) = delete;
  RoutedGraph& operator=(const RoutedGraph&) = delete;

  unsigned worker() const noexcept { return worker_; }
  /// The graph captured on pool slot `slot` of the worker.
  cudaGraphExec_t exec(std::uint16_t slot) const {
    if (slot >= execs_.size())
      throw Error(Errc::invalid_argument,
                  fmt::format("RoutedGraph: slot {} out of range: worker {} has {} slots", slot, worker_, execs_.size()));
    return execs_[slot];
  }

 private:
  void release() noexcept {
    for (cudaGraphExec_t e : execs_) (void)cudaGraphExecDestroy(e);
    execs_.clear();
  }
  unsigned worker_ = 0;
  std::vector<cudaGraphExec_t> execs_;
};

/// Routes the next unit of the graph's worker and launches the graph captured for that partition.
inline RouteDecision launch_graph(KernelRouter& router, const RoutedGraph& graph) {
  const RouteDecision d = router.route(graph.worker());
  detail::check_runtime(cudaGraphLaunch(graph.exec(d.slot), stream_of(d.stream)), "cudaGraphLaunch");
  return d;
}

}  // namespace eclip::cuda
