// Host-level checks of the hip backend: names, error texts, the no-GPU path and the C ABI's
// argument checking. These pass here (no AMD GPU) and on a machine with one.
#include <catch2/catch.hpp>

#include <string>

#include "eclip/backend/hip.hpp"
#include "eclip/backend/hip_c.h"

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

TEST_CASE("C ABI: probe, create and launch report codes and thread-local messages", "[hip][c_api]") {
  const std::string why = hip::unavailable_reason();
  const int probe = eclip_hip_probe();
  if (!why.empty()) {
    CHECK(probe == static_cast<int>(Errc::unavailable));
    CHECK(std::string(eclip_hip_last_error()) == why);
    eclip_hip_backend* b = reinterpret_cast<eclip_hip_backend*>(0x1);
    CHECK(eclip_hip_backend_create(0, &b) == static_cast<int>(Errc::unavailable));
    CHECK(b == nullptr);
    CHECK(std::string(eclip_hip_last_error()) == why);
  } else {
    CHECK(probe == 0);
    CHECK(std::string(eclip_hip_last_error()).empty());
  }
  CHECK(eclip_hip_backend_create(0, nullptr) == static_cast<int>(Errc::invalid_argument));
  CHECK_THAT(eclip_hip_last_error(), Catch::Contains("out is NULL"));
  const unsigned grid[3] = {1, 1, 1}, block[3] = {64, 1, 1};
  CHECK(eclip_hip_launch(nullptr, 0, reinterpret_cast<const void*>(0x1), grid, block, 0, nullptr, nullptr) ==
        static_cast<int>(Errc::invalid_argument));
  CHECK_THAT(eclip_hip_last_error(), Catch::Contains("router is NULL"));
  CHECK(eclip_hip_backend_topology(nullptr, nullptr, nullptr, nullptr, 0) == static_cast<int>(Errc::invalid_argument));
  CHECK(eclip_hip_backend_base(nullptr) == nullptr);
  eclip_hip_backend_destroy(nullptr);
}
