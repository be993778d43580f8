// The C ABI (include/eclip/eclip_c.h) over the C++ objects. Every entry point catches everything:
// no exception crosses the ABI; the message goes to a thread-local string.
#include "eclip/eclip_c.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>
#include <new>
#include <sstream>
#include <algorithm>
#include <string>

#include "eclip/backend/sim.hpp"
#include "eclip/eclip.hpp"
#include "eclip/energy/energy_meter.hpp"
#if ECLIP_C_WITH_HIP
#include "hip_factory.hpp"
#endif
#if ECLIP_C_WITH_CUDA
#include "eclip/backend/cuda.hpp"
#endif

namespace {

thread_local std::string t_last_error;

struct BackendState {
  std::unique_ptr<eclip::Backend> backend;
  std::string device;  // full device name ("" for sim)
  bool graphs = false;  // can launch graph execs (cuda)
#if ECLIP_C_WITH_CUDA
  eclip::cuda::GreenContextBackend* cuda = nullptr;
#endif
};

struct PoolState {
  std::shared_ptr<BackendState> backend;  // declared first: outlives the pool
  std::unique_ptr<eclip::PartitionPool> pool;
};

eclip::Error invalid(const std::string& what) { return eclip::Error(eclip::Errc::invalid_argument, what); }

/// The device ordinal of a "kind:N" spec (0 when absent): decimal digits only (no sign, no
/// spaces), at most INT_MAX; never silently truncated.
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

struct Spec {
  std::string text, kind, arg;  ///< "cuda:0" -> "cuda:0", "cuda", "0"
};
Spec split_spec(const char* spec) {
  const std::string s(spec);
  const auto colon = s.find(':');
  return {s, s.substr(0, colon), colon == std::string::npos ? "" : s.substr(colon + 1)};
}

template <class T>
void require(const T* p, const char* what) {
  if (p == nullptr) throw invalid(std::string("argument ") + what + " is NULL");
}

/// Runs `f`, turning every exception into a status code and the thread's message.
template <class F>
int guarded(F&& f) noexcept {
  try {
    f();
    t_last_error.clear();
    return ECLIP_OK;
  } catch (const eclip::Error& e) {
    try { t_last_error = e.what(); } catch (...) {}
    return static_cast<int>(e.code());
  } catch (const std::bad_alloc&) {
    try { t_last_error = "out of memory"; } catch (...) {}
    return ECLIP_E_INTERNAL;
  } catch (const std::exception& e) {
    try { t_last_error = e.what(); } catch (...) {}
    return ECLIP_E_INTERNAL;
  } catch (...) {
    try { t_last_error = "unknown exception"; } catch (...) {}
    return ECLIP_E_INTERNAL;
  }
}

void copy_string(char* dst, size_t size, const std::string& src) {
  const size_t n = src.size() < size - 1 ? src.size() : size - 1;
  std::memcpy(dst, src.data(), n);
  dst[n] = '\0';
}

}  // namespace

struct eclip_backend {
  std::shared_ptr<BackendState> state;
};
struct eclip_plan {
  eclip::Plan plan;
  eclip::Topology topology;  // the plan was validated against this
};
struct eclip_pool {
  std::shared_ptr<PoolState> state;
};
struct eclip_router {
  std::shared_ptr<PoolState> pool;  // declared first: outlives the router
  std::unique_ptr<eclip::KernelRouter> router;
};
struct eclip_energy_meter {
  std::shared_ptr<BackendState> backend;  // "sim": the simulated device the meter reads and advances
  std::unique_ptr<eclip::EnergyMeter> meter;
};

extern "C" {

int eclip_abi_version(void) { return ECLIP_C_ABI_VERSION; }

const char* eclip_last_error(void) { return t_last_error.c_str(); }

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
    } else if (kind == "cuda") {
      [[maybe_unused]] const int ordinal = ordinal_of(s, arg, "cuda");  // a bad spec is bad in any build
#if ECLIP_C_WITH_CUDA
      eclip::cuda::Options o;
      o.device = ordinal;
      auto cuda = std::make_unique<eclip::cuda::GreenContextBackend>(o);
      state->cuda = cuda.get();
      state->device = cuda->device().name;
      state->graphs = true;
      state->backend = std::move(cuda);
#else
      throw eclip::Error(eclip::Errc::unavailable,
                         "backend \"cuda\" is not built into this libeclip_c (no CUDA toolkit at build time)");
#endif
    } else if (kind == "hip") {
      [[maybe_unused]] const int ordinal = ordinal_of(s, arg, "hip");
#if ECLIP_C_WITH_HIP
      state->backend = eclip_c_detail::make_hip_backend(ordinal, &state->device);
#else
      throw eclip::Error(eclip::Errc::unavailable,
                         "backend \"hip\" is not built into this libeclip_c (no ROCm at build time)");
#endif
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

namespace {
void same_topology(const eclip_plan* plan, const eclip::Topology& t) {
  if (plan->topology.name != t.name || plan->topology.group_sizes != t.group_sizes)
    throw invalid("the plan was loaded for device " + plan->topology.name + " but this backend is " + t.name);
}
}  // namespace

int eclip_pool_create(eclip_backend* backend, const eclip_plan* plan, eclip_pool** out) {
  return guarded([&] {
    require(backend, "backend");
    require(plan, "plan");
    require(out, "out");
    *out = nullptr;
    const eclip::Topology& t = backend->state->backend->topology();
    same_topology(plan, t);
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
    require(pool, "pool");
    const auto slots = pool->state->pool->slots(worker);
    if (slot >= slots.size())
      throw invalid("slot " + std::to_string(slot) + " out of range: worker " + std::to_string(worker) + " has " +
                    std::to_string(slots.size()) + " slots");
    if (stream) *stream = slots[slot].stream.value;
    if (groups) *groups = slots[slot].config.groups;
  });
}

int eclip_router_create(eclip_pool* pool, const eclip_plan* plan, int64_t switch_budget, eclip_router** out) {
  return guarded([&] {
    require(pool, "pool");
    require(plan, "plan");
    require(out, "out");
    *out = nullptr;
    same_topology(plan, pool->state->backend->backend->topology());
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

namespace {
void fill(eclip_route* out, const eclip::RouteDecision& d) {
  *out = eclip_route{};
  out->stream = d.stream.value;
  out->kernel = d.kernel;
  out->slot = d.slot;
  out->status = static_cast<uint16_t>(d.status);
  out->flags = (d.switched ? ECLIP_ROUTE_SWITCHED : 0u) | (d.barrier ? ECLIP_ROUTE_BARRIER : 0u);
}
}  // namespace

int eclip_router_route(eclip_router* router, uint32_t worker, eclip_route* out) {
  return guarded([&] {
    require(router, "router");
    require(out, "out");
    fill(out, router->router->route(worker));
  });
}

namespace {

/// Routes `units` consecutive kernel groups of `worker` and launches each one's graph exec: with
/// stride 1 the same exec whatever the slot, with stride = the worker's slot count the exec of the
/// slot the router picked (a graph's SMs are fixed at capture: one exec per partition).
void launch_routed_graphs(eclip_router* router, uint32_t worker, const uint64_t* graph_execs, size_t units,
                          size_t stride, eclip_route* routes) {
  require(router, "router");
  require(graph_execs, "graph_execs");
  const BackendState& be = *router->pool->backend;
  if (!be.graphs)
    throw eclip::Error(eclip::Errc::unavailable,
                       std::string("backend \"") + std::string(be.backend->name()) + "\" cannot launch CUDA graphs");
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
    const eclip::RouteDecision d = router->router->route(worker);
    if (routes) fill(&routes[i], d);
#if ECLIP_C_WITH_CUDA
    try {
      be.cuda->launch_graph(d.stream, graph_execs[i * stride + (stride == 1 ? 0 : d.slot)]);
    } catch (const eclip::Error& e) {
      if (units == 1) throw;
      throw eclip::Error(e.code(), "unit " + std::to_string(i) + " of " + std::to_string(units) + ": " + e.what());
    }
#endif
  }
}

}  // namespace

int eclip_router_launch_graph(eclip_router* router, uint32_t worker, const uint64_t* graph_execs, size_t count,
                              eclip_route* out) {
  return guarded([&] { launch_routed_graphs(router, worker, graph_execs, 1, count, out); });
}

int eclip_router_launch_graphs(eclip_router* router, uint32_t worker, const uint64_t* graph_execs, size_t units,
                               size_t stride, eclip_route* routes) {
  return guarded([&] { launch_routed_graphs(router, worker, graph_execs, units, stride, routes); });
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

namespace {
eclip::EnergyMeter::SyncHook sync_hook(eclip_sync_fn sync, void* user) {
  if (!sync) return {};
  return [sync, user] {
    if (int rc = sync(user); rc != 0)
      throw eclip::Error(eclip::Errc::backend, "the synchronise hook returned " + std::to_string(rc));
  };
}
void fill_window(eclip_energy_window* out, const eclip::EnergyWindow& w) {
  *out = eclip_energy_window{w.seconds, w.joules, w.avg_power_w, w.start_j, w.end_j, w.edge_wait_s,
                             w.aligned ? 1u : 0u, 0u};
}
}  // namespace

int eclip_energy_create(const char* spec, eclip_backend* backend, eclip_energy_meter** out) {
  return guarded([&] {
    require(spec, "spec");
    require(out, "out");
    *out = nullptr;
    const auto [s, kind, arg] = split_spec(spec);
    auto m = std::make_unique<eclip_energy_meter>();
    if (kind == "nvml") {
      eclip::NvmlOptions o;
      o.index = static_cast<unsigned>(ordinal_of(s, arg, kind.c_str()));
      m->meter = std::make_unique<eclip::EnergyMeter>(eclip::open_nvml_counter(o));
    } else if (kind == "rocm_smi") {
      eclip::RocmSmiOptions o;
      o.index = static_cast<unsigned>(ordinal_of(s, arg, kind.c_str()));
      m->meter = std::make_unique<eclip::EnergyMeter>(eclip::open_rocm_smi_counter(o));
    } else if (kind == "sim") {
      if (!arg.empty()) throw invalid("energy spec \"" + s + "\": \"sim\" takes no argument (it reads the backend)");
      if (!backend) throw invalid("energy spec \"sim\" needs a \"sim\" backend (backend is NULL)");
      auto* sim = dynamic_cast<eclip::SimDevice*>(backend->state->backend.get());
      if (!sim)
        throw invalid("energy spec \"sim\" needs a \"sim\" backend, not \"" +
                      std::string(backend->state->backend->name()) + "\"");
      m->backend = backend->state;
      m->meter = std::make_unique<eclip::EnergyMeter>(eclip::sim_meter(*sim));
    } else {
      throw invalid("unknown energy spec \"" + s + "\" (known: \"nvml\", \"nvml:<index>\", \"rocm_smi\", "
                    "\"rocm_smi:<index>\", \"sim\")");
    }
    *out = m.release();
  });
}

void eclip_energy_destroy(eclip_energy_meter* meter) { delete meter; }

int eclip_energy_describe(const eclip_energy_meter* meter, char* buf, size_t size) {
  return guarded([&] {
    require(meter, "meter");
    require(buf, "buf");
    if (size == 0) throw invalid("size is 0");
    eclip::EnergyCounter& c = meter->meter->counter();
    copy_string(buf, size, std::string(c.kind()) + ": " + c.device());
  });
}

int eclip_energy_read(eclip_energy_meter* meter, double* joules, double* power_w) {
  return guarded([&] {
    require(meter, "meter");
    require(joules, "joules");
    eclip::EnergyCounter& c = meter->meter->counter();
    *joules = c.energy_j();
    if (power_w) *power_w = c.power_w().value_or(std::numeric_limits<double>::quiet_NaN());
  });
}

int eclip_energy_set_alignment(eclip_energy_meter* meter, int align, double poll_s, double timeout_s) {
  return guarded([&] {
    require(meter, "meter");
    eclip::EnergyMeterOptions o;
    o.align_to_updates = align != 0;
    o.poll_s = poll_s;
    o.align_timeout_s = timeout_s;
    meter->meter->set_options(o);
  });
}

int eclip_energy_begin(eclip_energy_meter* meter, eclip_sync_fn sync, void* user) {
  return guarded([&] {
    require(meter, "meter");
    meter->meter->begin(sync_hook(sync, user));
  });
}

int eclip_energy_end(eclip_energy_meter* meter, eclip_sync_fn sync, void* user, eclip_energy_window* out) {
  return guarded([&] {
    require(meter, "meter");
    require(out, "out");
    fill_window(out, meter->meter->end(sync_hook(sync, user)));
  });
}

int eclip_energy_idle(eclip_energy_meter* meter, double seconds, eclip_sync_fn sync, void* user,
                      eclip_energy_window* out) {
  return guarded([&] {
    require(meter, "meter");
    require(out, "out");
    fill_window(out, meter->meter->idle(seconds, sync_hook(sync, user)));
  });
}

}  // extern "C"
