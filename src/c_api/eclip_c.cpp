// The C ABI (include/eclip/eclip_c.h): version, backends, plans, pools and routing. Launches are
// in launch.cpp, the planner in planner.cpp, energy in energy.cpp. Every entry point runs in
// guarded(): no exception crosses the ABI; the message goes to the thread's eclip_last_error().
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>
#include <sstream>
#include <string>

#include "eclip/backend/sim.hpp"
#include "handles.hpp"

#ifndef ECLIP_VERSION_STRING
#error "ECLIP_VERSION_STRING (the project version) must be defined by the build"
#endif

namespace eclip::c_abi {

int ordinal_of(const std::string& spec, const std::string& arg, const char* kind) {
  if (arg.empty()) return 0;
  long long v = -1;
  const bool digits = std::all_of(arg.begin(), arg.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
  if (digits && arg.size() <= 10) v = std::stoll(arg);
  if (v < 0 || v > std::numeric_limits<int>::max())
    throw invalid("spec \"" + spec + "\": expected \"" + kind + ":<device ordinal>\" with a decimal ordinal, e.g. \"" +
                  kind + ":0\"");
  return static_cast<int>(v);
}

Spec split_spec(const char* spec) {
  const std::string s(spec);
  const auto colon = s.find(':');
  return {s, s.substr(0, colon), colon == std::string::npos ? "" : s.substr(colon + 1)};
}

void copy_string(char* dst, std::size_t size, const std::string& src) {
  const std::size_t n = src.size() < size - 1 ? src.size() : size - 1;
  std::memcpy(dst, src.data(), n);
  dst[n] = '\0';
}

void fill_route(eclip_route* out, const RouteDecision& d) {
  *out = eclip_route{};
  out->stream = d.stream.value;
  out->kernel = d.kernel;
  out->slot = d.slot;
  out->status = static_cast<uint16_t>(d.status);
  out->flags = (d.switched ? ECLIP_ROUTE_SWITCHED : 0u) | (d.barrier ? ECLIP_ROUTE_BARRIER : 0u);
}

void same_topology(const Topology& plan_topology, const Topology& t) {
  if (plan_topology.name != t.name || plan_topology.group_sizes != t.group_sizes)
    throw invalid("the plan was loaded for device " + plan_topology.name + " but this backend is " + t.name);
}

#if !ECLIP_C_WITH_CUDA
VendorBackend make_cuda_backend(int) {
  throw Error(Errc::unavailable, "backend \"cuda\" is not built into this libeclip_c (no CUDA toolkit at build time)");
}
#endif
#if !ECLIP_C_WITH_HIP
VendorBackend make_hip_backend(int) {
  throw Error(Errc::unavailable, "backend \"hip\" is not built into this libeclip_c (no ROCm at build time)");
}
#endif

}  // namespace eclip::c_abi

using namespace eclip::c_abi;

extern "C" {

int eclip_abi_version(void) { return ECLIP_C_ABI_VERSION; }

const char* eclip_version(void) { return ECLIP_VERSION_STRING; }

const char* eclip_status_name(int code) {
  switch (code) {
    case ECLIP_OK: return "ok";
    case ECLIP_E_INVALID_ARGUMENT: return "invalid_argument";
    case ECLIP_E_CAPACITY: return "capacity";
    case ECLIP_E_PARSE: return "parse";
    case ECLIP_E_BACKEND: return "backend";
    case ECLIP_E_UNAVAILABLE: return "unavailable";
    case ECLIP_E_INTERNAL: return "internal";
    default: return "unknown";
  }
}

int eclip_backend_create(const char* spec, eclip_backend** out) {
  return guarded([&] {
    require(spec, "spec");
    require(out, "out");
    *out = nullptr;
    const auto [s, kind, arg] = split_spec(spec);
    auto state = std::make_shared<BackendState>();
    if (kind == "sim") {
      state->backend = std::make_unique<eclip::SimDevice>(eclip::SimDeviceModel::by_name(arg.empty() ? "h100" : arg));
    } else if (kind == "cuda" || kind == "hip") {
      // A bad ordinal is bad in any build, so it is checked before the vendor.
      const int ordinal = ordinal_of(s, arg, kind.c_str());
      VendorBackend v = kind == "cuda" ? make_cuda_backend(ordinal) : make_hip_backend(ordinal);
      state->backend = std::move(v.backend);
      state->ops = std::move(v.ops);
      state->device = std::move(v.device);
    } else {
      throw invalid("unknown backend spec \"" + s +
                    "\" (known: \"cuda\", \"cuda:<ordinal>\", \"hip\", \"hip:<ordinal>\", \"sim\", \"sim:<preset>\")");
    }
    *out = new eclip_backend{std::move(state)};
  });
}

void eclip_backend_destroy(eclip_backend* backend) { delete backend; }

int eclip_backend_topology(const eclip_backend* backend, eclip_topology_info* out) {
  return guarded([&] {
    require(backend, "backend");
    require(out, "out");
    const eclip::Topology& t = backend->state->backend->topology();
    *out = eclip_topology_info{};
    copy_string(out->name, sizeof out->name, t.name);
    copy_string(out->device, sizeof out->device, backend->state->device);
    out->units = t.units();
    out->groups = t.group_count();
    out->max_masked_streams = t.max_masked_streams;
    out->vendor = t.vendor == eclip::Vendor::nvidia ? 1 : 0;
  });
}

int eclip_plan_from_json(const eclip_backend* backend, const char* json_text, eclip_plan** out) {
  return guarded([&] {
    require(backend, "backend");
    require(json_text, "json_text");
    require(out, "out");
    *out = nullptr;
    const eclip::Topology& t = backend->state->backend->topology();
    *out = new eclip_plan{eclip::Plan::from_json_text(json_text, t), t};
  });
}

int eclip_plan_from_file(const eclip_backend* backend, const char* path, eclip_plan** out) {
  return guarded([&] {
    require(backend, "backend");
    require(path, "path");
    require(out, "out");
    *out = nullptr;
    std::ifstream in(path);
    if (!in) throw invalid(std::string("cannot open plan file \"") + path + "\": " + std::strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) throw invalid(std::string("cannot read plan file \"") + path + "\": " + std::strerror(errno));
    const eclip::Topology& t = backend->state->backend->topology();
    try {
      *out = new eclip_plan{eclip::Plan::from_json_text(text.str(), t), t};
    } catch (const eclip::Error& e) {
      throw eclip::Error(e.code(), std::string(path) + ": " + e.what());
    }
  });
}

void eclip_plan_destroy(eclip_plan* plan) { delete plan; }

int eclip_plan_workers(const eclip_plan* plan, uint32_t* out) {
  return guarded([&] {
    require(plan, "plan");
    require(out, "out");
    *out = static_cast<uint32_t>(plan->plan.workers.size());
  });
}

int eclip_pool_create(eclip_backend* backend, const eclip_plan* plan, eclip_pool** out) {
  return guarded([&] {
    require(backend, "backend");
    require(plan, "plan");
    require(out, "out");
    *out = nullptr;
    const eclip::Topology& t = backend->state->backend->topology();
    same_topology(plan->topology, t);
    const auto specs = plan->plan.pool_specs(t);
    auto state = std::make_shared<PoolState>();
    state->backend = backend->state;
    state->pool = std::make_unique<eclip::PartitionPool>(*backend->state->backend,
                                                          static_cast<unsigned>(plan->plan.workers.size()), specs);
    *out = new eclip_pool{std::move(state)};
  });
}

void eclip_pool_destroy(eclip_pool* pool) { delete pool; }

int eclip_pool_slot_count(const eclip_pool* pool, uint32_t worker, uint32_t* out) {
  return guarded([&] {
    require(pool, "pool");
    require(out, "out");
    *out = static_cast<uint32_t>(pool->state->pool->slots(worker).size());
  });
}

int eclip_pool_slot(const eclip_pool* pool, uint32_t worker, uint32_t slot, uint64_t* stream, uint32_t* groups) {
  return guarded([&] {
    const eclip::PartitionPool::Slot& s = slot_of(pool, worker, slot);
    if (stream) *stream = s.stream.value;
    if (groups) *groups = s.config.groups;
  });
}

int eclip_router_create(eclip_pool* pool, const eclip_plan* plan, int64_t switch_budget, eclip_router** out) {
  return guarded([&] {
    require(pool, "pool");
    require(plan, "plan");
    require(out, "out");
    *out = nullptr;
    same_topology(plan->topology, pool->state->backend->backend->topology());
    if (switch_budget < -1)
      throw invalid("switch_budget " + std::to_string(switch_budget) + ": expected -1 (none) or a count >= 0");
    const eclip::SwitchBudget budget =
        switch_budget < 0 ? eclip::SwitchBudget::unlimited() : eclip::SwitchBudget::per_request(switch_budget);
    auto r = std::make_unique<eclip_router>();
    r->pool = pool->state;
    r->router = std::make_unique<eclip::KernelRouter>(*pool->state->pool, plan->plan, budget);
    *out = r.release();
  });
}

void eclip_router_destroy(eclip_router* router) { delete router; }

int eclip_router_begin_request(eclip_router* router, uint32_t worker) {
  return guarded([&] {
    require(router, "router");
    router->router->begin_request(worker);
  });
}

int eclip_router_route(eclip_router* router, uint32_t worker, eclip_route* out) {
  return guarded([&] {
    require(router, "router");
    require(out, "out");
    fill_route(out, router->router->route(worker));
  });
}

int eclip_router_counters(const eclip_router* router, int32_t worker, eclip_counters* out) {
  return guarded([&] {
    require(router, "router");
    require(out, "out");
    if (worker < -1) throw invalid("worker " + std::to_string(worker) + ": expected -1 (all) or a worker id");
    const eclip::RouterCounters c =
        worker < 0 ? router->router->totals() : router->router->counters(static_cast<unsigned>(worker));
    *out = eclip_counters{c.requests, c.launches, c.switches, c.barriers, c.unrouted, c.backend_errors, c.budget_held};
  });
}

}  // extern "C"
