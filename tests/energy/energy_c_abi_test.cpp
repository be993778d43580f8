// The C ABI's energy meter and batch graph launch (include/eclip/eclip_c.h), on the "sim" backend
// and on whatever NVML this machine has (none on the development machine: unavailable).
#include <cmath>
#include <cstring>
#include <string>

#include <catch2/catch.hpp>

#include "eclip/backend/sim.hpp"

#include "eclip/eclip_c.h"

namespace {
std::string last() { return eclip_last_error(); }

const char* kPlan = R"({"format": "eclip.plan", "version": 1, "device": "H100", "strategy": "test",
  "workers": [{"model": "m", "groups": [{"first": 0, "count": 2, "config": 1}, {"first": 2, "count": 1, "config": 16}]}]})";

int counting_sync(void* user) {
  ++*static_cast<int*>(user);
  return 0;
}
int failing_sync(void*) { return 7; }
}  // namespace

TEST_CASE("C ABI energy: sim meter idle power and windows", "[energy][c_abi]") {
  eclip_backend* be = nullptr;
  REQUIRE(eclip_backend_create("sim:h100", &be) == ECLIP_OK);
  eclip_energy_meter* m = nullptr;
  REQUIRE(eclip_energy_create("sim", be, &m) == ECLIP_OK);
  char buf[64];
  REQUIRE(eclip_energy_describe(m, buf, sizeof buf) == ECLIP_OK);
  CHECK(std::string(buf) == "sim: simulated H100");
  char tiny[5];
  REQUIRE(eclip_energy_describe(m, tiny, sizeof tiny) == ECLIP_OK);
  CHECK(std::string(tiny) == "sim:");

  int syncs = 0;
  eclip_energy_window w{};
  REQUIRE(eclip_energy_idle(m, 0.5, counting_sync, &syncs, &w) == ECLIP_OK);
  CHECK(syncs == 2);
  CHECK(w.seconds == Approx(0.5));
  CHECK(w.avg_power_w == Approx(eclip::SimDeviceModel::h100().idle_power_w()));  // static + idle units
  double j = 0, p = 0;
  REQUIRE(eclip_energy_read(m, &j, &p) == ECLIP_OK);
  CHECK(j == Approx(w.end_j));
  CHECK(std::isnan(p));

  CHECK(eclip_energy_end(m, nullptr, nullptr, &w) == ECLIP_E_INVALID_ARGUMENT);
  CHECK(last().find("no window is open") != std::string::npos);
  REQUIRE(eclip_energy_begin(m, nullptr, nullptr) == ECLIP_OK);
  CHECK(eclip_energy_end(m, failing_sync, nullptr, &w) == ECLIP_E_BACKEND);
  CHECK(last() == "the synchronise hook returned 7");
  // The window survived the failed hook: ending it again, without the hook, works.
  CHECK(eclip_energy_end(m, nullptr, nullptr, &w) == ECLIP_OK);
  CHECK(w.seconds >= 0);
  CHECK(eclip_energy_set_alignment(m, 1, 0, 1) == ECLIP_E_INVALID_ARGUMENT);
  CHECK(eclip_energy_set_alignment(m, 0, 0.001, 0.1) == ECLIP_OK);

  eclip_energy_destroy(m);
  eclip_backend_destroy(be);
}

TEST_CASE("C ABI energy: bad specs, and NVML's availability", "[energy][c_abi]") {
  eclip_energy_meter* m = nullptr;
  CHECK(eclip_energy_create("joulemeter", nullptr, &m) == ECLIP_E_INVALID_ARGUMENT);
  CHECK(last().find("unknown energy spec \"joulemeter\"") != std::string::npos);
  CHECK(eclip_energy_create("nvml:x", nullptr, &m) == ECLIP_E_INVALID_ARGUMENT);
  CHECK(eclip_energy_create("sim", nullptr, &m) == ECLIP_E_INVALID_ARGUMENT);
  CHECK(last().find("needs a \"sim\" backend") != std::string::npos);
  CHECK(m == nullptr);

  const int rc = eclip_energy_create("nvml", nullptr, &m);
  if (rc == ECLIP_OK) {
    char buf[128];
    REQUIRE(eclip_energy_describe(m, buf, sizeof buf) == ECLIP_OK);
    CHECK(std::string(buf).rfind("nvml: ", 0) == 0);
    double j = 0;
    CHECK(eclip_energy_read(m, &j, nullptr) == ECLIP_OK);
    CHECK(j > 0);
    eclip_energy_destroy(m);
  } else {
    CHECK(rc == ECLIP_E_UNAVAILABLE);
    CHECK(last().rfind("nvml: ", 0) == 0);
    WARN("nvml here: " << last());
  }
  CHECK(eclip_energy_create("nvml:4096", nullptr, &m) != ECLIP_OK);
  // Indices are decimal and never truncated: these are refused before any library is loaded.
  for (const char* bad : {"nvml:4294967296", "nvml: 0", "nvml:+1", "nvml:-1", "nvml:0x1"}) {
    INFO(bad);
    CHECK(eclip_energy_create(bad, nullptr, &m) == ECLIP_E_INVALID_ARGUMENT);
    CHECK(last().find("decimal ordinal") != std::string::npos);
  }
  eclip_backend* be = nullptr;
  for (const char* bad : {"cuda: 0", "hip:99999999999", "cuda:1e3"}) {
    INFO(bad);
    CHECK(eclip_backend_create(bad, &be) == ECLIP_E_INVALID_ARGUMENT);
    CHECK(be == nullptr);
  }
  const int rr = eclip_energy_create("rocm_smi", nullptr, &m);
  if (rr == ECLIP_OK)
    eclip_energy_destroy(m);
  else
    CHECK(last().rfind("rocm_smi: ", 0) == 0);
}

TEST_CASE("C ABI launch_graphs: argument checks, and sim cannot launch graphs", "[c_abi]") {
  eclip_backend* be = nullptr;
  REQUIRE(eclip_backend_create("sim:h100", &be) == ECLIP_OK);
  eclip_plan* plan = nullptr;
  REQUIRE(eclip_plan_from_json(be, kPlan, &plan) == ECLIP_OK);
  eclip_pool* pool = nullptr;
  REQUIRE(eclip_pool_create(be, plan, &pool) == ECLIP_OK);
  eclip_router* rt = nullptr;
  REQUIRE(eclip_router_create(pool, plan, -1, &rt) == ECLIP_OK);
  const uint64_t execs[6] = {1, 2, 3, 4, 5, 6};
  eclip_route routes[3];
  CHECK(eclip_router_launch_graphs(rt, 0, execs, 3, 2, routes) == ECLIP_E_UNAVAILABLE);
  CHECK(last() == "the sim backend cannot launch CUDA graphs or HIP graphs (graphs need the \"cuda\" or \"hip\" backend)");
  CHECK(eclip_router_launch_graphs(rt, 0, nullptr, 3, 1, routes) == ECLIP_E_INVALID_ARGUMENT);
  eclip_counters c{};
  REQUIRE(eclip_router_counters(rt, -1, &c) == ECLIP_OK);
  CHECK(c.launches == 0);  // nothing was routed by the failed calls
  eclip_router_destroy(rt);
  eclip_pool_destroy(pool);
  eclip_plan_destroy(plan);
  eclip_backend_destroy(be);
}
