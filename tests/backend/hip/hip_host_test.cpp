// Host-level checks of the hip backend: names, error texts, the no-GPU path and the C ABI's
// argument checking. These pass here (no AMD GPU) and on a machine with one.
#include <catch2/catch.hpp>

#include <string>

#include "eclip/backend/hip.hpp"
#include "eclip/eclip_c.h"

using namespace eclip;

TEST_CASE("short_device_name gives the preset names plans refer to", "[hip]") {
  CHECK(hip::short_device_name("AMD Instinct MI50/MI60", "gfx906:sramecc+:xnack-") == "MI50");
  CHECK(hip::short_device_name("AMD Instinct MI100", "gfx908:sramecc+:xnack-") == "MI100");
  CHECK(hip::short_device_name("AMD Instinct MI210", "gfx90a:sramecc+:xnack-") == "MI210");
  CHECK(hip::short_device_name("AMD Instinct MI300X", "gfx942:sramecc+:xnack-") == "MI300X");
  CHECK(hip::short_device_name("Vega 20", "gfx906:sramecc+:xnack-") == "gfx906");
  CHECK(hip::short_device_name("", "gfx90a") == "gfx90a");
}

TEST_CASE("error_text names the HIP error", "[hip]") {
  CHECK_THAT(hip::error_text(hipErrorNoDevice), Catch::StartsWith("hipErrorNoDevice"));
  CHECK_THAT(hip::error_text(hipErrorInvalidValue), Catch::StartsWith("hipErrorInvalidValue"));
  try {
    hip::detail::check(hipErrorInvalidValue, "hipExtStreamCreateWithCUMask");
    FAIL("check must throw");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::backend);
    CHECK_THAT(e.what(), Catch::StartsWith("hipExtStreamCreateWithCUMask failed: hipErrorInvalidValue"));
  }
}

TEST_CASE("HipBackend agrees with unavailable_reason(): unavailable without a GPU, usable with one", "[hip]") {
  const std::string why = hip::unavailable_reason();
  if (!why.empty()) {
    WARN("no AMD GPU here: " << why << " (this test checks the skip path)");
    CHECK_THAT(why, Catch::StartsWith("no AMD GPU (hipGetDeviceCount"));
    try {
      hip::HipBackend gpu;
      FAIL("HipBackend must not construct without an AMD GPU");
    } catch (const Error& e) {
      CHECK(e.code() == Errc::unavailable);
      CHECK(std::string(e.what()) == why);
    }
  } else {
    hip::HipBackend gpu;
    CHECK(gpu.topology().units() > 0);
    CHECK(gpu.topology().group_count() > 0);
  }
}

TEST_CASE("C ABI: the hip backend reports codes and thread-local messages", "[hip][c_api]") {
  const std::string why = hip::unavailable_reason();
  eclip_backend* b = reinterpret_cast<eclip_backend*>(0x1);
  const int rc = eclip_backend_create("hip", &b);
  if (!why.empty()) {
    CHECK(rc == ECLIP_E_UNAVAILABLE);
    CHECK(std::string(eclip_last_error()) == why);
    CHECK(b == nullptr);
  } else {
    REQUIRE(rc == ECLIP_OK);
    CHECK(std::string(eclip_last_error()).empty());
    eclip_topology_info info{};
    REQUIRE(eclip_backend_topology(b, &info) == ECLIP_OK);
    CHECK(info.vendor == 0);
    CHECK(info.units > 0);
    CHECK(std::string(info.device).size() > 0);
    eclip_backend_destroy(b);
  }
  CHECK(eclip_backend_create("hip:zero", &b) == ECLIP_E_INVALID_ARGUMENT);
  CHECK_THAT(eclip_last_error(), Catch::Contains("\"hip:zero\""));
  CHECK(eclip_backend_create("hip", nullptr) == ECLIP_E_INVALID_ARGUMENT);
  CHECK_THAT(eclip_last_error(), Catch::Contains("out is NULL"));
  const uint32_t grid[3] = {1, 1, 1}, block[3] = {64, 1, 1};
  CHECK(eclip_router_launch_kernel(nullptr, 0, reinterpret_cast<const void*>(0x1), grid, block, 0, nullptr, nullptr) ==
        ECLIP_E_INVALID_ARGUMENT);
  CHECK_THAT(eclip_last_error(), Catch::Contains("router is NULL"));
  CHECK(eclip_router_launch_function(nullptr, 0, nullptr, grid, block, 0, nullptr, nullptr, nullptr) ==
        ECLIP_E_INVALID_ARGUMENT);
  eclip_backend_destroy(nullptr);
}
