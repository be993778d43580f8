#pragma once
// The C ABI's opaque handles (eclip_c.h) and what they share, for the translation units of
// libeclip_c.so (eclip_c.cpp, launch.cpp, planner.cpp, energy.cpp).
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "eclip/core/topology.hpp"
#include "eclip/eclip_c.h"
#include "eclip/energy/energy_meter.hpp"
#include "eclip/plan/plan.hpp"
#include "eclip/plan/profile.hpp"
#include "eclip/runtime/backend.hpp"
#include "eclip/runtime/kernel_router.hpp"
#include "eclip/runtime/partition_pool.hpp"
#include "last_error.hpp"
#include "vendor.hpp"

namespace eclip::c_abi {

struct BackendState {
  std::unique_ptr<Backend> backend;
  std::unique_ptr<VendorOps> ops;  ///< declared after the backend: destroyed first. Null for "sim".
  std::string device;              ///< full device name ("" for sim)

  /// eclip_pool_slot_capture_stream's streams, by (partition mask, owner): made on first use,
  /// destroyed here, before the backend.
  std::mutex capture_mu;
  std::map<std::pair<std::string, std::uint64_t>, StreamHandle> capture_streams;

  BackendState() = default;
  BackendState(const BackendState&) = delete;
  BackendState& operator=(const BackendState&) = delete;
  ~BackendState() {
    if (backend)
      for (const auto& [key, stream] : capture_streams) backend->destroy_stream(stream);
  }
};

struct PoolState {
  std::shared_ptr<BackendState> backend;  ///< declared first: outlives the pool
  std::unique_ptr<PartitionPool> pool;
};

/// Throws unless a plan validated against `plan_topology` fits `t` (same name and groups).
void same_topology(const Topology& plan_topology, const Topology& t);

/// The spec "kind:arg" split at the first ':' ("cuda:0" -> "cuda", "0").
struct Spec {
  std::string text, kind, arg;
};
Spec split_spec(const char* spec);

/// The device ordinal of a "kind:N" spec (0 when absent): decimal digits only (no sign, no
/// spaces), at most INT_MAX; never silently truncated.
int ordinal_of(const std::string& spec, const std::string& arg, const char* kind);

/// The router's decision as the C struct.
void fill_route(eclip_route* out, const RouteDecision& d);

/// Copies `src` into `dst` (size > 0), truncated to size - 1 characters, NUL-terminated.
void copy_string(char* dst, std::size_t size, const std::string& src);

}  // namespace eclip::c_abi

struct eclip_backend {
  std::shared_ptr<eclip::c_abi::BackendState> state;
};
struct eclip_plan {
  eclip::Plan plan;
  eclip::Topology topology;  // the plan was validated against this
};
struct eclip_profile {
  eclip::Profile profile;
};
struct eclip_pool {
  std::shared_ptr<eclip::c_abi::PoolState> state;
};
struct eclip_router {
  std::shared_ptr<eclip::c_abi::PoolState> pool;  // declared first: outlives the router
  std::unique_ptr<eclip::KernelRouter> router;
};
struct eclip_energy_meter {
  std::shared_ptr<eclip::c_abi::BackendState> backend;  // "sim": the simulated device the meter reads and advances
  std::unique_ptr<eclip::EnergyMeter> meter;
};

namespace eclip::c_abi {
/// Slot `slot` of `worker` in `pool`, or Errc::invalid_argument naming both and the slot count.
inline const PartitionPool::Slot& slot_of(const eclip_pool* pool, std::uint32_t worker, std::uint32_t slot) {
  require(pool, "pool");
  const auto slots = pool->state->pool->slots(worker);
  if (slot >= slots.size())
    throw invalid("slot " + std::to_string(slot) + " out of range: worker " + std::to_string(worker) + " has " +
                  std::to_string(slots.size()) + " slots");
  return slots[slot];
}
}  // namespace eclip::c_abi
