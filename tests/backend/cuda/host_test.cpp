// Host-level tests of the CUDA backend: everything that needs no NVIDIA driver. They run in CI
// (CUDA toolkit, no driver, no GPU) and on the H100 alike.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

#include <unistd.h>

#include "eclip/backend/cuda.hpp"
#include "eclip/plan/plan.hpp"
#include "eclip/eclip_c.h"
#include <nlohmann/json.hpp>

using eclip::CuMask;
using eclip::Errc;
using eclip::Error;
namespace cuda = eclip::cuda;

namespace {
template <class F>
Error error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  FAIL("expected an eclip::Error");
  return Error(Errc::invalid_argument, "unreachable");
}
}  // namespace

TEST_CASE("short device names match the presets plans refer to") {
  CHECK(cuda::short_device_name("NVIDIA H100 80GB HBM3") == "H100");
  CHECK(cuda::short_device_name("NVIDIA H200") == "H200");
  CHECK(cuda::short_device_name("NVIDIA GeForce RTX 4090") == "GeForce RTX 4090");
  CHECK(cuda::short_device_name("Tesla T4") == "Tesla T4");
}

TEST_CASE("an H100 split (15 x 8 + 12) gives the h100 preset's topology") {
  const eclip::Topology t = cuda::topology_from_split("NVIDIA H100 80GB HBM3", std::vector<unsigned>(15, 8), 12);
  const eclip::Topology p = eclip::presets::h100();
  CHECK(t.name == p.name);
  CHECK(t.vendor == eclip::Vendor::nvidia);
  CHECK(t.group_sizes == p.group_sizes);
  CHECK(t.units() == 132);
  CHECK(t.max_masked_streams == p.max_masked_streams);
  CHECK(t.size_classes == p.size_classes);
  CHECK(t.source.find("132 SMs = 15 x 8 + 12") != std::string::npos);
}

TEST_CASE("split topologies: no remainder, coarse atoms, explicit queue limit") {
  const eclip::Topology a = cuda::topology_from_split("NVIDIA H100 80GB HBM3", std::vector<unsigned>(8, 16), 4);
  CHECK(a.group_count() == 9);
  CHECK(a.units() == 132);
  CHECK(a.size_classes == std::vector<unsigned>{1, 2, 4, 8, 9});
  CHECK(a.max_masked_streams == 8);
  const eclip::Topology b = cuda::topology_from_split("NVIDIA A100-SXM4-40GB", std::vector<unsigned>(27, 4), 0, 7);
  CHECK(b.name == "A100-SXM4-40GB");
  CHECK(b.group_count() == 27);
  CHECK(b.max_masked_streams == 7);
  CHECK(b.size_classes.back() == 27);
  CHECK(error_of([] { (void)cuda::topology_from_split("X", {}, 8); }).code() == Errc::invalid_argument);
}

TEST_CASE("masks convert to whole atoms, and partial atoms are refused by name") {
  const eclip::Topology t = eclip::presets::h100();
  CHECK(cuda::atoms_of(t, t.group_mask(0)) == std::vector<unsigned>{0});
  CHECK(cuda::atoms_of(t, t.grow_from(14, 3)) == std::vector<unsigned>{0, 14, 15});  // wraps, remainder included
  CHECK(cuda::atoms_of(t, t.all()).size() == 16);
  CHECK(cuda::atoms_of(t, CuMask::range(132, 120, 12)) == std::vector<unsigned>{15});

  const Error partial = error_of([&] { (void)cuda::atoms_of(t, CuMask::range(132, 0, 4)); });
  CHECK(partial.code() == Errc::invalid_argument);
  CHECK_THAT(partial.what(), Catch::Contains("not a union of whole atoms") && Catch::Contains("atom 0 (units 0-7)") &&
                                 Catch::Contains("covered 4 of 8"));
  const Error straddle = error_of([&] { (void)cuda::atoms_of(t, CuMask::range(132, 4, 8)); });
  CHECK_THAT(straddle.what(), Catch::Contains("atom 0"));
  const Error empty = error_of([&] { (void)cuda::atoms_of(t, CuMask(132)); });
  CHECK_THAT(empty.what(), Catch::Contains("empty mask"));
  const Error other = error_of([&] { (void)cuda::atoms_of(t, CuMask::all(60)); });
  CHECK_THAT(other.what(), Catch::Contains("device of 60 units") && Catch::Contains("132 SMs"));
}

TEST_CASE("a missing driver library is reported as unavailable with the dlopen reason") {
  cuda::Options o;
  o.driver_library = "libeclip-no-such-driver.so.1";
  const Error e = error_of([&] { cuda::GreenContextBackend b(o); });
  CHECK(e.code() == Errc::unavailable);
  CHECK_THAT(e.what(), Catch::StartsWith("dlopen libeclip-no-such-driver.so.1: ") &&
                           Catch::Contains("cannot open shared object file"));
  CHECK_THAT(cuda::driver_unavailable_reason(o.driver_library), Catch::StartsWith("dlopen libeclip-no-such-driver"));
}

TEST_CASE("the default driver either works or is unavailable with a reason") {
  const std::string why = cuda::driver_unavailable_reason();
  INFO("driver_unavailable_reason() = \"" << why << "\"");
  if (why.empty()) {
    cuda::GreenContextBackend b;
    CHECK(b.topology().units() == b.device().sm_count);
  } else {
    const Error e = error_of([] { cuda::GreenContextBackend b; });
    CHECK(e.code() == Errc::unavailable);
    CHECK(std::string(e.what()) == why);
  }
}

#ifdef ECLIP_CUDA_STUB_LIBRARY
TEST_CASE("the toolkit's stub libcuda loads but is refused as unavailable") {
  // The stub resolves every symbol and returns CUDA_ERROR_STUB_LIBRARY: the case of a machine with
  // the toolkit's stubs on its library path but no driver.
  if (access(ECLIP_CUDA_STUB_LIBRARY, R_OK) != 0) {  // built on another machine: no toolkit here
    std::printf("SKIPPED: the toolkit's stub %s is not on this machine\n", ECLIP_CUDA_STUB_LIBRARY);
    std::fflush(stdout);
    std::exit(77);
  }
  cuda::Options o;
  o.driver_library = ECLIP_CUDA_STUB_LIBRARY;
  const Error e = error_of([&] { cuda::GreenContextBackend b(o); });
  CHECK(e.code() == Errc::unavailable);
  CHECK_THAT(e.what(), Catch::Contains("CUDA_ERROR_STUB_LIBRARY"));
}
#endif

TEST_CASE("driver errors are named even without a driver") {
  CHECK_THAT(cuda::describe_driver_error(CUDA_ERROR_INVALID_RESOURCE_CONFIGURATION, "libeclip-no-such-driver.so.1"),
             Catch::StartsWith("CUDA_ERROR_INVALID_RESOURCE_CONFIGURATION"));
  CHECK(cuda::describe_driver_error(123456, "libeclip-no-such-driver.so.1") == "CUresult 123456");
}

TEST_CASE("runtime errors are thrown with the call and the error's name") {
  CHECK_NOTHROW(cuda::detail::check_runtime(cudaSuccess, "cudaGetDeviceCount"));
  const Error err = error_of([] { cuda::detail::check_runtime(cudaErrorNoDevice, "cudaGetDeviceCount"); });
  CHECK(err.code() == Errc::backend);
  CHECK_THAT(err.what(), Catch::StartsWith("cudaGetDeviceCount failed: cudaErrorNoDevice"));
}

TEST_CASE("the runtime agrees with driver_unavailable_reason()") {
  // Each machine checks its own case: with a working driver the runtime must find a device; without
  // one it must fail with a driver error, which check_runtime names.
  const std::string why = cuda::driver_unavailable_reason();
  INFO("driver_unavailable_reason() = \"" << why << "\"");
  int n = -1;
  const cudaError_t e = cudaGetDeviceCount(&n);
  INFO("cudaGetDeviceCount: " << cudaGetErrorName(e) << ", n = " << n);
  if (why.empty()) {
    CHECK(e == cudaSuccess);
    CHECK(n >= 1);
  } else {
    // cudaErrorStubLibrary when an earlier test in this process loaded the stub (soname libcuda.so.1).
    CHECK((e == cudaErrorInsufficientDriver || e == cudaErrorNoDevice || e == cudaErrorStubLibrary));
    const Error err = error_of([&] { cuda::detail::check_runtime(e, "cudaGetDeviceCount"); });
    CHECK(err.code() == Errc::backend);
    CHECK_THAT(err.what(), Catch::StartsWith(std::string("cudaGetDeviceCount failed: ") + cudaGetErrorName(e)));
  }
}

// ---- C ABI argument validation (the sim backend needs no GPU) ----

TEST_CASE("C ABI: versions, names, and NULL arguments") {
  CHECK(eclip_abi_version() == ECLIP_C_ABI_VERSION);
  CHECK(std::string(eclip_status_name(ECLIP_E_CAPACITY)) == "capacity");
  CHECK(std::string(eclip_status_name(12345)) == "unknown");
  eclip_backend* be = nullptr;
  CHECK(eclip_backend_create(nullptr, &be) == ECLIP_E_INVALID_ARGUMENT);
  CHECK_THAT(eclip_last_error(), Catch::Contains("spec is NULL"));
  CHECK(eclip_backend_create("sim", nullptr) == ECLIP_E_INVALID_ARGUMENT);
  CHECK(eclip_backend_create("tpu", &be) == ECLIP_E_INVALID_ARGUMENT);
  CHECK_THAT(eclip_last_error(), Catch::Contains("unknown backend spec \"tpu\""));
  CHECK(be == nullptr);
  CHECK(eclip_backend_create("cuda:x", &be) != ECLIP_OK);
  CHECK(eclip_backend_create("sim:mi9000", &be) == ECLIP_E_INVALID_ARGUMENT);
  CHECK_THAT(eclip_last_error(), Catch::Contains("mi9000"));
  eclip_route r{};
  CHECK(eclip_router_route(nullptr, 0, &r) == ECLIP_E_INVALID_ARGUMENT);
  CHECK(eclip_router_begin_request(nullptr, 0) == ECLIP_E_INVALID_ARGUMENT);
  eclip_backend_destroy(nullptr);
  eclip_plan_destroy(nullptr);
  eclip_pool_destroy(nullptr);
  eclip_router_destroy(nullptr);
}

TEST_CASE("C ABI: the cuda backend without a driver is unavailable, with the reason") {
  const std::string why = cuda::driver_unavailable_reason();
  if (!why.empty()) {
    eclip_backend* be = nullptr;
    CHECK(eclip_backend_create("cuda", &be) == ECLIP_E_UNAVAILABLE);
    CHECK(std::string(eclip_last_error()) == why);
    CHECK(be == nullptr);
  }
}

namespace {
std::string sim_plan_json() {
  // Worker 0 alternates 1 and 2 atoms; worker 1 runs on 4 atoms then the whole device.
  const eclip::Topology t = eclip::presets::h100();
  eclip::Plan p;
  p.device = t.name;
  p.strategy = "test";
  p.workers.push_back(eclip::WorkerPlan::from_per_kernel("a", {{1}, {2}, {1}, {2}}));
  p.workers.push_back(eclip::WorkerPlan::from_per_kernel("b", {{4}, {4}, {16}}));
  return p.to_json(t).dump();
}
}  // namespace

TEST_CASE("C ABI: a plan, pool and router on the simulated H100") {
  eclip_backend* be = nullptr;
  REQUIRE(eclip_backend_create("sim", &be) == ECLIP_OK);
  CHECK(std::string(eclip_last_error()).empty());
  eclip_topology_info info{};
  REQUIRE(eclip_backend_topology(be, &info) == ECLIP_OK);
  CHECK(std::string(info.name) == "H100");
  CHECK(info.units == 132);
  CHECK(info.groups == 16);
  CHECK(info.vendor == 1);

  eclip_plan* bad = nullptr;
  CHECK(eclip_plan_from_json(be, "{\"format\": \"eclip.plan\"", &bad) == ECLIP_E_PARSE);
  CHECK(bad == nullptr);
  CHECK(eclip_plan_from_file(be, "/nonexistent/plan.json", &bad) == ECLIP_E_INVALID_ARGUMENT);
  CHECK_THAT(eclip_last_error(), Catch::Contains("/nonexistent/plan.json"));

  const std::string text = sim_plan_json();
  eclip_plan* plan = nullptr;
  REQUIRE(eclip_plan_from_json(be, text.c_str(), &plan) == ECLIP_OK);
  uint32_t workers = 0;
  REQUIRE(eclip_plan_workers(plan, &workers) == ECLIP_OK);
  CHECK(workers == 2);

  eclip_pool* pool = nullptr;
  REQUIRE(eclip_pool_create(be, plan, &pool) == ECLIP_OK);
  uint32_t slots = 0;
  REQUIRE(eclip_pool_slot_count(pool, 0, &slots) == ECLIP_OK);
  CHECK(slots == 3);  // fallback, 1 atom, 2 atoms
  uint64_t stream = 0;
  uint32_t groups = 0;
  REQUIRE(eclip_pool_slot(pool, 0, 2, &stream, &groups) == ECLIP_OK);
  CHECK(groups == 2);
  CHECK(stream != 0);
  CHECK(eclip_pool_slot(pool, 0, 3, &stream, &groups) == ECLIP_E_INVALID_ARGUMENT);
  CHECK_THAT(eclip_last_error(), Catch::Contains("slot 3 out of range"));
  CHECK(eclip_pool_slot_count(pool, 7, &slots) == ECLIP_E_INVALID_ARGUMENT);

  eclip_router* router = nullptr;
  CHECK(eclip_router_create(pool, plan, -2, &router) == ECLIP_E_INVALID_ARGUMENT);
  REQUIRE(eclip_router_create(pool, plan, -1, &router) == ECLIP_OK);
  // Handles may go in any order: the router keeps the pool and backend alive.
  eclip_plan_destroy(plan);
  eclip_pool_destroy(pool);
  eclip_backend_destroy(be);

  REQUIRE(eclip_router_begin_request(router, 0) == ECLIP_OK);
  eclip_route r{};
  for (unsigned k = 0; k < 4; ++k) {
    REQUIRE(eclip_router_route(router, 0, &r) == ECLIP_OK);
    CHECK(r.kernel == k);
    CHECK(r.status == ECLIP_ROUTED);
    CHECK(r.slot == (k % 2 == 0 ? 1 : 2));
    CHECK(((r.flags & ECLIP_ROUTE_SWITCHED) != 0) == (k > 0));
  }
  REQUIRE(eclip_router_route(router, 0, &r) == ECLIP_OK);  // past the plan
  CHECK(r.status == ECLIP_NO_PLAN_ENTRY);
  CHECK(r.slot == 0);
  CHECK(eclip_router_route(router, 9, &r) == ECLIP_E_INVALID_ARGUMENT);
  CHECK_THAT(eclip_last_error(), Catch::Contains("worker 9 out of range"));

  const uint64_t exec = 1;
  CHECK(eclip_router_launch_graph(router, 0, &exec, 1, &r) == ECLIP_E_UNAVAILABLE);
  CHECK_THAT(eclip_last_error(), Catch::Contains("cannot launch CUDA graphs"));

  eclip_counters c{};
  REQUIRE(eclip_router_counters(router, -1, &c) == ECLIP_OK);
  CHECK(c.requests == 1);
  CHECK(c.launches == 5);
  CHECK(c.switches == 4);
  CHECK(c.unrouted == 1);
  REQUIRE(eclip_router_counters(router, 1, &c) == ECLIP_OK);
  CHECK(c.launches == 0);
  CHECK(eclip_router_counters(router, 2, &c) == ECLIP_E_INVALID_ARGUMENT);
  CHECK(eclip_router_counters(router, -5, &c) == ECLIP_E_INVALID_ARGUMENT);
  eclip_router_destroy(router);
}

TEST_CASE("C ABI: a pool the device cannot hold is refused whole") {
  eclip_backend* be = nullptr;
  REQUIRE(eclip_backend_create("sim:h100", &be) == ECLIP_OK);
  const eclip::Topology t = eclip::presets::h100();
  eclip::Plan p;
  p.device = t.name;
  p.strategy = "test";
  for (unsigned w = 0; w < 8; ++w) p.workers.push_back(eclip::WorkerPlan::from_per_kernel("m", {{1}, {2}, {4}}));
  // 8 workers x 3 masked configs = 24 masked streams > 15: the plan itself is invalid for the H100.
  eclip_plan* plan = nullptr;
  const int rc = eclip_plan_from_json(be, p.to_json(t).dump().c_str(), &plan);
  CHECK(rc != ECLIP_OK);
  CHECK_THAT(eclip_last_error(), Catch::Contains("15"));
  CHECK(plan == nullptr);
  eclip_backend_destroy(be);
}
