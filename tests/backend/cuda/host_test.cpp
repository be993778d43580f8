// Host-level tests of the CUDA backend: everything that needs no NVIDIA driver. They run in CI
// (CUDA toolkit, no driver, no GPU) and on the H100 alike.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

#include <dlfcn.h>
#include <unistd.h>

#include "eclip/backend/cuda.hpp"
#include "eclip/eclip_c.h"

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

TEST_CASE("CUDA_DEVICE_MAX_CONNECTIONS: read as the driver reads it, set only when unset, bad values refused") {
  CHECK(cuda::hardware_connections_from_env(nullptr) == cuda::kDefaultHardwareConnections);
  CHECK(cuda::hardware_connections_from_env("") == 8);
  CHECK(cuda::hardware_connections_from_env("32") == 32);
  CHECK(cuda::hardware_connections_from_env("16") == 16);
  CHECK(cuda::hardware_connections_from_env("64") == 32);  // the driver's largest
  CHECK(cuda::hardware_connections_from_env("0") == 1);
  CHECK(cuda::hardware_connections_from_env("many") == 8);
  CHECK(cuda::hardware_connections_from_env("12x") == 8);

  cuda::Options o;
  o.hardware_connections = 33;
  const Error bad = error_of([&] { cuda::GreenContextBackend b(o); });
  CHECK(bad.code() == Errc::invalid_argument);
  CHECK_THAT(bad.what(), Catch::Contains("33 hardware connections") && Catch::Contains("1 to 32"));

  // The stand-in driver answers "not initialised" until started; its cuInit fails ("no device"),
  // leaving it not started, after the backend has decided. In order: 0 leaves the environment
  // alone; a user's value is kept; unset, the backend that starts the driver sets it; once another
  // library has started the driver, the backend no longer does (it would have no effect).
  ::unsetenv("CUDA_DEVICE_MAX_CONNECTIONS");
  o.driver_library = ECLIP_FAKE_CUDA_DRIVER;
  o.hardware_connections = 0;
  const Error none = error_of([&] { cuda::GreenContextBackend b(o); });
  CHECK(none.code() == Errc::unavailable);
  CHECK_THAT(none.what(), Catch::StartsWith("cuInit failed"));
  CHECK(std::getenv("CUDA_DEVICE_MAX_CONNECTIONS") == nullptr);
  o.hardware_connections = 32;
  ::setenv("CUDA_DEVICE_MAX_CONNECTIONS", "4", 1);
  CHECK(error_of([&] { cuda::GreenContextBackend b(o); }).code() == Errc::unavailable);
  CHECK(std::string(std::getenv("CUDA_DEVICE_MAX_CONNECTIONS")) == "4");
  ::unsetenv("CUDA_DEVICE_MAX_CONNECTIONS");
  CHECK(error_of([&] { cuda::GreenContextBackend b(o); }).code() == Errc::unavailable);
  REQUIRE(std::getenv("CUDA_DEVICE_MAX_CONNECTIONS") != nullptr);
  CHECK(std::string(std::getenv("CUDA_DEVICE_MAX_CONNECTIONS")) == "32");
  ::unsetenv("CUDA_DEVICE_MAX_CONNECTIONS");
  void* fake = dlopen(ECLIP_FAKE_CUDA_DRIVER, RTLD_NOW | RTLD_LOCAL);  // the backend's handle, counted
  REQUIRE(fake != nullptr);
  auto start = reinterpret_cast<void (*)()>(dlsym(fake, "eclip_fake_cuda_start"));
  REQUIRE(start != nullptr);
  start();
  CHECK(error_of([&] { cuda::GreenContextBackend b(o); }).code() == Errc::unavailable);
  CHECK(std::getenv("CUDA_DEVICE_MAX_CONNECTIONS") == nullptr);
  dlclose(fake);
#ifdef ECLIP_CUDA_STUB_LIBRARY
  // A driver that does not answer "not initialised" (the toolkit's stub answers "stub library") is
  // not one this backend starts: the environment is left alone.
  if (access(ECLIP_CUDA_STUB_LIBRARY, R_OK) == 0) {
    o.driver_library = ECLIP_CUDA_STUB_LIBRARY;
    CHECK(error_of([&] { cuda::GreenContextBackend b(o); }).code() == Errc::unavailable);
    CHECK(std::getenv("CUDA_DEVICE_MAX_CONNECTIONS") == nullptr);
  }
#endif
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
  } else {  // a driver: the backend comes up
    eclip_backend* be = nullptr;
    CHECK(eclip_backend_create("cuda", &be) == ECLIP_OK);
    eclip_backend_destroy(be);
  }
}

// The C ABI on the simulated device (plans, pool, router, a pool too large) is tested in every
// build by tests/c_api/c_abi_sim_test.cpp; this file keeps what needs the CUDA backend built.
