// The preload's C entry points (include/eclip/eclip_c.h, "Transparent mode"): the calling
// thread's worker, request boundaries, whether a plan routes, and the counters. Same conventions
// as libeclip_c: a status code, and the message in eclip_last_error(), whose per-thread state
// (src/c_api/error_state.cpp, compiled into this library too) is one per process even when
// libeclip_c.so is loaded beside this library.
#include <cstdint>
#include <string>

#include "../c_api/last_error.hpp"
#include "engine.hpp"

namespace {

using eclip::Errc;
using eclip::Error;
using eclip::c_abi::guarded;
using eclip::c_abi::require;
using eclip::preload::Engine;

constexpr const char* kNoPlan =
    "no plan is active: launches pass through (ECLIP_PLAN unset, unusable, or ECLIP_PRELOAD_DISABLE; the reason "
    "was said once on stderr)";

}  // namespace

#define ECLIP_PRELOAD_EXPORT __attribute__((visibility("default")))

extern "C" {

ECLIP_PRELOAD_EXPORT int eclip_set_worker(int worker) {
  return guarded([&] {
    if (worker < -1)
      throw Error(Errc::invalid_argument, "worker " + std::to_string(worker) +
                                              ": expected a plan worker >= 0, or -1 to go back to ECLIP_WORKER");
    eclip::preload::set_current_worker(worker);
  });
}

ECLIP_PRELOAD_EXPORT int eclip_get_worker(int* out) {
  return guarded([&] {
    require(out, "out");
    *out = static_cast<int>(eclip::preload::current_worker());
  });
}

ECLIP_PRELOAD_EXPORT int eclip_begin_request(void) {
  return guarded([&] {
    Engine* e = Engine::get();
    if (!e) throw Error(Errc::unavailable, std::string("eclip_begin_request: ") + kNoPlan);
    e->begin_request(eclip::preload::current_worker());
  });
}

ECLIP_PRELOAD_EXPORT int eclip_preload_active(int* out) {
  return guarded([&] {
    require(out, "out");
    *out = Engine::get() ? 1 : 0;
  });
}

ECLIP_PRELOAD_EXPORT int eclip_preload_get_counters(int32_t worker, eclip_preload_counters* out) {
  return guarded([&] {
    require(out, "out");
    Engine* e = Engine::current();
    if (!e) throw Error(Errc::unavailable, std::string("eclip_preload_get_counters: ") + kNoPlan);
    if (worker < -1 || (worker >= 0 && static_cast<unsigned>(worker) >= e->workers()))
      throw Error(Errc::invalid_argument, "worker " + std::to_string(worker) + " out of range: the plan has " +
                                              std::to_string(e->workers()) + " workers (-1: all of them)");
    if (!e->counters(worker, out))
      throw Error(Errc::invalid_argument, "eclip_preload_get_counters: worker " + std::to_string(worker) + " refused");
  });
}

}  // extern "C"
