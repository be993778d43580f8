// The C ABI's launches (kernels, module functions, graphs) and partition contexts: the router
// decides the stream, the backend's vendor operations (vendor.hpp) launch on it. The "sim"
// backend has none: it runs no kernels and cannot launch graphs.
#include <cstdint>
#include <limits>
#include <mutex>
#include <string>
#include <utility>

#include "handles.hpp"

namespace eclip::c_abi {
namespace {

/// The vendor operations of the router's backend; Errc::unavailable for "sim": "the sim backend
/// <what>".
VendorOps& ops_for(const BackendState& be, const char* what) {
  if (!be.ops) throw Error(Errc::unavailable, "the " + std::string(be.backend->name()) + " backend " + what);
  return *be.ops;
}
constexpr const char* kNoKernels =
    "runs no kernels: it only routes (eclip_router_route gives the stream; kernels need the \"cuda\" or \"hip\" "
    "backend)";

void require_dims(const std::uint32_t grid[3], const std::uint32_t block[3]) {
  require(grid, "grid");
  require(block, "block");
  for (int i = 0; i < 3; ++i) {
    if (grid[i] == 0) throw invalid("grid[" + std::to_string(i) + "] is 0: every dimension must be >= 1");
    if (block[i] == 0) throw invalid("block[" + std::to_string(i) + "] is 0: every dimension must be >= 1");
  }
}

/// Routes `units` consecutive kernel groups of `worker` and launches each one's graph exec: with
/// stride 1 the same exec whatever the slot, with stride = the worker's slot count the exec of the
/// slot the router picked (a graph's SMs/CUs are fixed at capture: one exec per partition).
void launch_routed_graphs(eclip_router* router, uint32_t worker, const uint64_t* graph_execs, size_t units,
                          size_t stride, eclip_route* routes) {
  require(router, "router");
  require(graph_execs, "graph_execs");
  VendorOps& ops = ops_for(*router->pool->backend,
                           "cannot launch CUDA graphs or HIP graphs (graphs need the \"cuda\" or \"hip\" backend)");
  const size_t slots = router->pool->pool->slots(worker).size();  // validates worker before routing
  if (stride != 0 && units > std::numeric_limits<size_t>::max() / stride)
    throw invalid(std::to_string(units) + " units of " + std::to_string(stride) + " execs overflow the array size");
  if (stride != 1 && stride != slots)
    throw invalid("graph_execs: " + std::to_string(stride) + " per group, expected 1 or one per slot of worker " +
                  std::to_string(worker) + " (" + std::to_string(slots) + ")");
  for (size_t i = 0; i < units * stride; ++i)
    if (graph_execs[i] == 0)
      throw invalid("graph_execs[" + std::to_string(i) + "] (unit " + std::to_string(i / stride) + ") is NULL");
  for (size_t i = 0; i < units; ++i) {
    const RouteDecision d = router->router->route(worker);
    if (routes) fill_route(&routes[i], d);
    try {
      ops.launch_graph(d.stream, graph_execs[i * stride + (stride == 1 ? 0 : d.slot)]);
    } catch (const Error& e) {
      if (units == 1) throw;
      throw Error(e.code(), "unit " + std::to_string(i) + " of " + std::to_string(units) + ": " + e.what());
    }
  }
}

}  // namespace
}  // namespace eclip::c_abi

using namespace eclip::c_abi;

extern "C" {

int eclip_router_launch_kernel(eclip_router* router, uint32_t worker, const void* kernel, const uint32_t grid[3],
                               const uint32_t block[3], size_t shared_bytes, void** args, eclip_route* out) {
  return guarded([&] {
    require(router, "router");
    VendorOps& ops = ops_for(*router->pool->backend, kNoKernels);
    require(kernel, "kernel");
    require_dims(grid, block);
    ops.check_kernel_launch();
    const eclip::RouteDecision d = router->router->route(worker);
    if (out) fill_route(out, d);
    ops.launch_kernel(d.stream, kernel, grid, block, shared_bytes, args);
  });
}

int eclip_router_launch_function(eclip_router* router, uint32_t worker, void* function, const uint32_t grid[3],
                                 const uint32_t block[3], uint32_t shared_bytes, void** args, void** extra,
                                 eclip_route* out) {
  return guarded([&] {
    require(router, "router");
    VendorOps& ops = ops_for(*router->pool->backend, kNoKernels);
    require(function, "function");
    require_dims(grid, block);
    const eclip::RouteDecision d = router->router->route(worker);
    if (out) fill_route(out, d);
    ops.launch_function(d.stream, function, grid, block, shared_bytes, args, extra);
  });
}

int eclip_router_launch_graph(eclip_router* router, uint32_t worker, const uint64_t* graph_execs, size_t count,
                              eclip_route* out) {
  return guarded([&] { launch_routed_graphs(router, worker, graph_execs, 1, count, out); });
}

int eclip_router_launch_graphs(eclip_router* router, uint32_t worker, const uint64_t* graph_execs, size_t units,
                               size_t stride, eclip_route* routes) {
  return guarded([&] { launch_routed_graphs(router, worker, graph_execs, units, stride, routes); });
}

int eclip_pool_slot_push_context(eclip_pool* pool, uint32_t worker, uint32_t slot) {
  return guarded([&] {
    const eclip::PartitionPool::Slot& s = slot_of(pool, worker, slot);
    if (VendorOps* ops = pool->state->backend->ops.get()) ops->push_context(s.stream);
  });
}

int eclip_pool_slot_capture_stream(eclip_pool* pool, uint32_t worker, uint32_t slot, uint64_t owner,
                                   uint64_t* stream) {
  return guarded([&] {
    const eclip::PartitionPool::Slot& s = slot_of(pool, worker, slot);
    require(stream, "stream");
    BackendState& be = *pool->state->backend;
    std::lock_guard lock(be.capture_mu);
    const auto key = std::make_pair(s.mask.to_string(), owner);
    auto it = be.capture_streams.find(key);
    if (it == be.capture_streams.end()) {
      const eclip::StreamHandle made = be.backend->create_stream(s.mask);
      try {
        it = be.capture_streams.emplace(key, made).first;
      } catch (...) {
        be.backend->destroy_stream(made);
        throw;
      }
    }
    *stream = it->second.value;
  });
}

int eclip_pool_slot_pop_context(eclip_pool* pool) {
  return guarded([&] {
    require(pool, "pool");
    if (VendorOps* ops = pool->state->backend->ops.get()) ops->pop_context();
  });
}

}  // extern "C"
