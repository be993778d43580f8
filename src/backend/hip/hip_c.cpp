// The hip backend's C ABI (include/eclip/backend/hip_c.h).
#include "eclip/backend/hip_c.h"

#include <cstring>
#include <exception>
#include <new>
#include <string>

#include "eclip/backend/hip_launch.hpp"

struct eclip_hip_backend {
  eclip::hip::HipBackend backend;
};

namespace {

thread_local std::string g_last_error;

/// Runs `f`, turning exceptions into the documented codes and the thread's message.
template <class F>
int guarded(F&& f) noexcept {
  try {
    g_last_error.clear();
    f();
    return 0;
  } catch (const eclip::Error& e) {
    g_last_error = e.what();
    return static_cast<int>(e.code());
  } catch (const std::bad_alloc&) {
    g_last_error = "out of memory";
    return -1;
  } catch (const std::exception& e) {
    g_last_error = e.what();
    return -1;
  } catch (...) {
    g_last_error = "unknown C++ exception";
    return -1;
  }
}

void require(const void* p, const char* what) {
  if (p == nullptr) throw eclip::Error(eclip::Errc::invalid_argument, std::string(what) + " is NULL");
}

dim3 to_dim3(const unsigned v[3]) { return dim3(v[0], v[1], v[2]); }

}  // namespace

extern "C" {

int eclip_hip_probe(void) {
  return guarded([] {
    std::string why = eclip::hip::unavailable_reason();
    if (!why.empty()) throw eclip::Error(eclip::Errc::unavailable, why);
  });
}

int eclip_hip_backend_create(int device, eclip_hip_backend** out) {
  return guarded([&] {
    require(out, "eclip_hip_backend_create: out");
    *out = nullptr;
    eclip::hip::Options o;
    o.device = device;
    *out = new eclip_hip_backend{eclip::hip::HipBackend(o)};
  });
}

void eclip_hip_backend_destroy(eclip_hip_backend* backend) { delete backend; }

void* eclip_hip_backend_base(eclip_hip_backend* backend) {
  return backend == nullptr ? nullptr : static_cast<eclip::Backend*>(&backend->backend);
}

int eclip_hip_backend_topology(eclip_hip_backend* backend, unsigned* compute_units, unsigned* shader_engines,
                               char* name, size_t name_size) {
  return guarded([&] {
    require(backend, "eclip_hip_backend_topology: backend");
    const eclip::Topology& t = backend->backend.topology();
    if (compute_units) *compute_units = t.units();
    if (shader_engines) *shader_engines = t.group_count();
    if (name && name_size > 0) {
      const std::size_t n = std::min(name_size - 1, t.name.size());
      std::memcpy(name, t.name.data(), n);
      name[n] = '\0';
    }
  });
}

int eclip_hip_launch(void* router, unsigned worker, const void* kernel, const unsigned grid[3],
                     const unsigned block[3], size_t shared_bytes, void** args, uint64_t* stream_out) {
  return guarded([&] {
    require(router, "eclip_hip_launch: router");
    require(kernel, "eclip_hip_launch: kernel");
    require(grid, "eclip_hip_launch: grid");
    require(block, "eclip_hip_launch: block");
    const eclip::RouteDecision d = eclip::hip::launch(*static_cast<eclip::KernelRouter*>(router), worker, kernel,
                                                      to_dim3(grid), to_dim3(block), shared_bytes, args);
    if (stream_out) *stream_out = d.stream.value;
  });
}

int eclip_hip_module_launch(void* router, unsigned worker, void* function, const unsigned grid[3],
                            const unsigned block[3], unsigned shared_bytes, void** args, void** extra,
                            uint64_t* stream_out) {
  return guarded([&] {
    require(router, "eclip_hip_module_launch: router");
    require(function, "eclip_hip_module_launch: function");
    require(grid, "eclip_hip_module_launch: grid");
    require(block, "eclip_hip_module_launch: block");
    const eclip::RouteDecision d =
        eclip::hip::launch_module(*static_cast<eclip::KernelRouter*>(router), worker,
                                  static_cast<hipFunction_t>(function), to_dim3(grid), to_dim3(block), shared_bytes,
                                  args, extra);
    if (stream_out) *stream_out = d.stream.value;
  });
}

const char* eclip_hip_last_error(void) { return g_last_error.c_str(); }

}  // extern "C"
