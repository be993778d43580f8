// The C ABI (include/eclip/eclip_c.h) on the "sim" backend: built in every build (no CUDA
// toolkit or ROCm needed) and in the sanitizer build. Version, errors that name the value, plans
// from JSON, pool, router, counters, the planner, plan JSON and the atomic plan writer, and the
// launch calls' answer on a backend that runs no kernels.
#include <sys/resource.h>

#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "eclip/core/topology.hpp"
#include "eclip/eclip_c.h"
#include "eclip/plan/plan.hpp"
#include "eclip/plan/profile.hpp"
#include "eclip/model/colocation_planner.hpp"
#include "eclip/planner/strategy.hpp"

namespace fs = std::filesystem;

namespace {

std::string last() { return eclip_last_error(); }

/// Worker 0 alternates 1 and 2 atoms; worker 1 runs on 4 atoms then the whole device.
std::string two_worker_plan() {
  const eclip::Topology t = eclip::presets::h100();
  eclip::Plan p;
  p.device = t.name;
  p.strategy = "test";
  p.workers.push_back(eclip::WorkerPlan::from_per_kernel("a", {{1}, {2}, {1}, {2}}));
  p.workers.push_back(eclip::WorkerPlan::from_per_kernel("b", {{4}, {4}, {16}}));
  return p.to_json(t).dump();
}

/// A profile of two models on the H100's size classes: "small" kernels are as fast on one atom as
/// on the device, "big" ones scale with the units.
eclip::Profile h100_profile() {
  const eclip::Topology t = eclip::presets::h100();
  eclip::Profile p;
  p.device = t.name;
  p.configs = t.size_classes;
  for (unsigned c : t.size_classes) p.units.push_back(t.units_of(c));
  auto kernel = [&](const std::string& name, bool big) {
    eclip::KernelProfile k{name, {}, 0};
    // Kernels of 0.1 ms and 1 ms or more (not 10 us): the planner's simulations then hold ten times fewer events,
    // which under ASan at -O0 is most of this file's run time; the plans compared are the same kind.
    for (unsigned c : t.size_classes) k.us.push_back(big ? 1000.0 * t.units() / t.units_of(c) : 100.0);
    return k;
  };
  p.models.push_back({"alpha", 1.0, {kernel("a0", true), kernel("a1", false), kernel("a2", true), kernel("a3", false)}});
  p.models.push_back({"beta", 1.0, {kernel("b0", false), kernel("b1", false), kernel("b2", true)}});
  return p;
}

struct Handles {
  eclip_backend* be = nullptr;
  eclip_plan* plan = nullptr;
  eclip_pool* pool = nullptr;
  eclip_router* router = nullptr;
  explicit Handles(const std::string& plan_json, const char* spec = "sim") {
    REQUIRE(eclip_backend_create(spec, &be) == ECLIP_OK);
    REQUIRE(eclip_plan_from_json(be, plan_json.c_str(), &plan) == ECLIP_OK);
    REQUIRE(eclip_pool_create(be, plan, &pool) == ECLIP_OK);
    REQUIRE(eclip_router_create(pool, plan, -1, &router) == ECLIP_OK);
  }
  ~Handles() {
    eclip_router_destroy(router);
    eclip_pool_destroy(pool);
    eclip_plan_destroy(plan);
    eclip_backend_destroy(be);
  }
};

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// A fresh, empty directory for one test case.
fs::path scratch_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("eclip_c_abi_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  return out;
}

}  // namespace

TEST_CASE("C ABI: version", "[c_abi]") {
  CHECK(ECLIP_C_ABI_VERSION == 3);
  CHECK(eclip_abi_version() == ECLIP_C_ABI_VERSION);
  CHECK(std::string(eclip_version()) == ECLIP_EXPECTED_VERSION);
  CHECK(std::string(eclip_status_name(ECLIP_E_CAPACITY)) == "capacity");
  CHECK(std::string(eclip_status_name(ECLIP_E_UNAVAILABLE)) == "unavailable");
  CHECK(std::string(eclip_status_name(12345)) == "unknown");
}

TEST_CASE("C ABI: errors name the value, a success clears the message, NULL destroys are no-ops", "[c_abi]") {
  eclip_backend* be = nullptr;
  CHECK(eclip_backend_create(nullptr, &be) == ECLIP_E_INVALID_ARGUMENT);
  CHECK_THAT(last(), Catch::Contains("spec is NULL"));
  CHECK(eclip_backend_create("sim", nullptr) == ECLIP_E_INVALID_ARGUMENT);
  CHECK_THAT(last(), Catch::Contains("out is NULL"));
  CHECK(eclip_backend_create("tpu", &be) == ECLIP_E_INVALID_ARGUMENT);
  CHECK_THAT(last(), Catch::Contains("unknown backend spec \"tpu\"") && Catch::Contains("\"hip:<ordinal>\""));
  CHECK(be == nullptr);
  CHECK(eclip_backend_create("sim:mi9000", &be) == ECLIP_E_INVALID_ARGUMENT);
  CHECK_THAT(last(), Catch::Contains("mi9000"));
  // A bad ordinal is refused whatever was built; a good one is at worst unavailable.
  for (const char* spec : {"cuda:x", "hip:-1", "hip:99999999999", "cuda: 0"}) {
    CHECK(eclip_backend_create(spec, &be) == ECLIP_E_INVALID_ARGUMENT);
    CHECK_THAT(last(), Catch::Contains(std::string("spec \"") + spec + "\""));
  }
  REQUIRE(eclip_backend_create("sim:mi50", &be) == ECLIP_OK);
  CHECK(last().empty());
  eclip_topology_info info{};
  REQUIRE(eclip_backend_topology(be, &info) == ECLIP_OK);
  CHECK(std::string(info.name) == "MI50");
  CHECK(info.units == 60);
  CHECK(info.vendor == 0);
  eclip_backend_destroy(be);

  eclip_route r{};
  CHECK(eclip_router_route(nullptr, 0, &r) == ECLIP_E_INVALID_ARGUMENT);
  CHECK_THAT(last(), Catch::Contains("router is NULL"));
  CHECK(eclip_router_begin_request(nullptr, 0) == ECLIP_E_INVALID_ARGUMENT);
  eclip_backend_destroy(nullptr);
  eclip_plan_destroy(nullptr);
  eclip_pool_destroy(nullptr);
  eclip_router_destroy(nullptr);
  eclip_profile_destroy(nullptr);
  eclip_energy_destroy(nullptr);
}

TEST_CASE("C ABI: the message is the calling thread's", "[c_abi]") {
  eclip_backend* be = nullptr;
  REQUIRE(eclip_backend_create("tpu", &be) == ECLIP_E_INVALID_ARGUMENT);
  std::string other_before, other_after;
  std::thread t([&] {
    other_before = last();
    eclip_backend* b = nullptr;
    (void)eclip_backend_create("gpu9", &b);
    other_after = last();
  });
  t.join();
  CHECK(other_before.empty());
  CHECK_THAT(other_after, Catch::Contains("gpu9"));
  CHECK_THAT(last(), Catch::Contains("tpu"));
}

TEST_CASE("C ABI: a plan, pool and router on the simulated H100", "[c_abi]") {
  eclip_backend* be = nullptr;
  REQUIRE(eclip_backend_create("sim", &be) == ECLIP_OK);
  eclip_topology_info info{};
  REQUIRE(eclip_backend_topology(be, &info) == ECLIP_OK);
  CHECK(std::string(info.name) == "H100");
  CHECK(info.units == 132);
  CHECK(info.groups == 16);
  CHECK(info.max_masked_streams == 15);
  CHECK(info.vendor == 1);

  eclip_plan* bad = nullptr;
  CHECK(eclip_plan_from_json(be, "{\"format\": \"eclip.plan\"", &bad) == ECLIP_E_PARSE);
  CHECK(bad == nullptr);
  CHECK(eclip_plan_from_file(be, "/nonexistent/plan.json", &bad) == ECLIP_E_INVALID_ARGUMENT);
  CHECK_THAT(last(), Catch::Contains("/nonexistent/plan.json"));

  eclip_plan* plan = nullptr;
  REQUIRE(eclip_plan_from_json(be, two_worker_plan().c_str(), &plan) == ECLIP_OK);
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
  CHECK_THAT(last(), Catch::Contains("slot 3 out of range"));
  CHECK(eclip_pool_slot_count(pool, 7, &slots) == ECLIP_E_INVALID_ARGUMENT);
  CHECK_THAT(last(), Catch::Contains("7"));

  // Contexts: no-ops that succeed on "sim", with the same argument checks.
  CHECK(eclip_pool_slot_push_context(pool, 0, 1) == ECLIP_OK);
  CHECK(eclip_pool_slot_pop_context(pool) == ECLIP_OK);
  CHECK(eclip_pool_slot_push_context(pool, 0, 9) == ECLIP_E_INVALID_ARGUMENT);
  CHECK_THAT(last(), Catch::Contains("slot 9 out of range"));
  CHECK(eclip_pool_slot_pop_context(nullptr) == ECLIP_E_INVALID_ARGUMENT);

  eclip_router* router = nullptr;
  CHECK(eclip_router_create(pool, plan, -2, &router) == ECLIP_E_INVALID_ARGUMENT);
  CHECK_THAT(last(), Catch::Contains("switch_budget -2"));
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
  REQUIRE(eclip_router_route(router, 0, &r) == ECLIP_OK);  // past the plan: still placed
  CHECK(r.status == ECLIP_NO_PLAN_ENTRY);
  CHECK(r.slot == 0);
  CHECK(r.stream != 0);
  CHECK(eclip_router_route(router, 9, &r) == ECLIP_E_INVALID_ARGUMENT);
  CHECK_THAT(last(), Catch::Contains("worker 9 out of range"));

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
  CHECK_THAT(last(), Catch::Contains("worker -5"));
  eclip_router_destroy(router);
}

TEST_CASE("C ABI: capture streams are kept per partition and owner, across pools, until the backend goes",
          "[c_abi]") {
  eclip_backend* be = nullptr;
  REQUIRE(eclip_backend_create("sim", &be) == ECLIP_OK);
  eclip_plan* plan = nullptr;
  REQUIRE(eclip_plan_from_json(be, two_worker_plan().c_str(), &plan) == ECLIP_OK);
  eclip_pool* pool = nullptr;
  REQUIRE(eclip_pool_create(be, plan, &pool) == ECLIP_OK);
  uint64_t slot_stream = 0, a = 0, again = 0, other_owner = 0, other_slot = 0;
  REQUIRE(eclip_pool_slot(pool, 0, 1, &slot_stream, nullptr) == ECLIP_OK);
  REQUIRE(eclip_pool_slot_capture_stream(pool, 0, 1, 7, &a) == ECLIP_OK);
  CHECK(a != 0);
  CHECK(a != slot_stream);  // its own stream, not the pool's
  REQUIRE(eclip_pool_slot_capture_stream(pool, 0, 1, 7, &again) == ECLIP_OK);
  CHECK(again == a);
  REQUIRE(eclip_pool_slot_capture_stream(pool, 0, 1, 8, &other_owner) == ECLIP_OK);
  CHECK(other_owner != a);
  REQUIRE(eclip_pool_slot_capture_stream(pool, 0, 2, 7, &other_slot) == ECLIP_OK);  // 2 atoms: another partition
  CHECK(other_slot != a);
  CHECK(other_slot != other_owner);

  // A later pool with the same partition gets the same stream: it outlives the pool it came from.
  eclip_pool_destroy(pool);
  pool = nullptr;
  REQUIRE(eclip_pool_create(be, plan, &pool) == ECLIP_OK);
  uint64_t later = 0;
  REQUIRE(eclip_pool_slot_capture_stream(pool, 0, 1, 7, &later) == ECLIP_OK);
  CHECK(later == a);

  CHECK(eclip_pool_slot_capture_stream(pool, 0, 9, 7, &later) == ECLIP_E_INVALID_ARGUMENT);
  CHECK_THAT(last(), Catch::Contains("slot 9 out of range"));
  CHECK(eclip_pool_slot_capture_stream(pool, 5, 0, 7, &later) == ECLIP_E_INVALID_ARGUMENT);
  CHECK_THAT(last(), Catch::Contains("5"));
  CHECK(eclip_pool_slot_capture_stream(pool, 0, 1, 7, nullptr) == ECLIP_E_INVALID_ARGUMENT);
  CHECK_THAT(last(), Catch::Contains("stream"));
  CHECK(eclip_pool_slot_capture_stream(nullptr, 0, 1, 7, &later) == ECLIP_E_INVALID_ARGUMENT);
  eclip_pool_destroy(pool);
  eclip_plan_destroy(plan);
  eclip_backend_destroy(be);
}

TEST_CASE("C ABI: a pool the device cannot hold is refused whole", "[c_abi]") {
  eclip_backend* be = nullptr;
  REQUIRE(eclip_backend_create("sim:h100", &be) == ECLIP_OK);
  const eclip::Topology t = eclip::presets::h100();
  eclip::Plan p;
  p.device = t.name;
  p.strategy = "test";
  for (unsigned w = 0; w < 8; ++w) p.workers.push_back(eclip::WorkerPlan::from_per_kernel("m", {{1}, {2}, {4}}));
  eclip_plan* plan = nullptr;
  CHECK(eclip_plan_from_json(be, p.to_json(t).dump().c_str(), &plan) != ECLIP_OK);
  CHECK_THAT(last(), Catch::Contains("15"));
  CHECK(plan == nullptr);
  eclip_backend_destroy(be);
}

TEST_CASE("C ABI: launches on sim are unavailable, route nothing, and say why", "[c_abi]") {
  Handles h(two_worker_plan());
  REQUIRE(eclip_router_begin_request(h.router, 0) == ECLIP_OK);
  const uint32_t grid[3] = {1, 1, 1}, block[3] = {64, 1, 1};
  int x = 0;
  void* args[] = {&x};
  eclip_route r{};
  CHECK(eclip_router_launch_kernel(h.router, 0, reinterpret_cast<const void*>(&two_worker_plan), grid, block, 0, args,
                                   &r) == ECLIP_E_UNAVAILABLE);
  CHECK_THAT(last(), Catch::Contains("the sim backend runs no kernels"));
  CHECK(eclip_router_launch_function(h.router, 0, &x, grid, block, 0, args, nullptr, &r) == ECLIP_E_UNAVAILABLE);
  CHECK_THAT(last(), Catch::Contains("the sim backend runs no kernels"));
  const uint64_t exec = 1;
  CHECK(eclip_router_launch_graph(h.router, 0, &exec, 1, &r) == ECLIP_E_UNAVAILABLE);
  CHECK_THAT(last(), Catch::Contains("cannot launch CUDA graphs or HIP graphs"));
  CHECK(eclip_router_launch_kernel(nullptr, 0, &x, grid, block, 0, args, &r) == ECLIP_E_INVALID_ARGUMENT);
  CHECK_THAT(last(), Catch::Contains("router is NULL"));
  eclip_counters c{};
  REQUIRE(eclip_router_counters(h.router, -1, &c) == ECLIP_OK);
  CHECK(c.launches == 0);
}

TEST_CASE("C ABI planner: every strategy's plan is the C++ planner's, and it runs", "[c_abi][planner]") {
  const eclip::Topology t = eclip::presets::h100();
  const eclip::Profile cpp_profile = h100_profile();
  eclip_profile* prof = nullptr;
  REQUIRE(eclip_profile_from_json(cpp_profile.to_json().dump().c_str(), &prof) == ECLIP_OK);
  eclip_backend* be = nullptr;
  REQUIRE(eclip_backend_create("sim:h100", &be) == ECLIP_OK);
  const char* models[] = {"alpha", "beta"};
  const std::vector<std::string> names{"alpha", "beta"};

  struct Case {
    const char* name;
    eclip::Strategy strategy;
    int64_t budget;
    eclip::SwitchBudget cpp_budget;
  };
  const Case cases[] = {
      {"baseline", eclip::Strategy::baseline, -1, eclip::SwitchBudget::per_request(14)},
      {"model-wise", eclip::Strategy::model_wise, -1, eclip::SwitchBudget::per_request(14)},
      {"kernel-wise", eclip::Strategy::kernel_wise, -1, eclip::SwitchBudget::per_request(14)},
      {"static-equal", eclip::Strategy::static_equal, -1, eclip::SwitchBudget::per_request(14)},
      {"eclip-budget", eclip::Strategy::eclip_budget, -1, eclip::SwitchBudget::per_request(14)},
      {"eclip-budget", eclip::Strategy::eclip_budget, 0, eclip::SwitchBudget::per_request(0)},
      {"eclip", eclip::Strategy::eclip, -1, eclip::SwitchBudget::per_request(14)},
      {"eclip", eclip::Strategy::eclip, 0, eclip::SwitchBudget::per_request(0)},
  };
  for (const Case& k : cases) {
    CAPTURE(k.name, k.budget);
    eclip_plan* plan = nullptr;
    REQUIRE(eclip_plan_make(be, prof, models, 2, k.name, k.budget, -1.0, &plan) == ECLIP_OK);
    size_t needed = 0;
    REQUIRE(eclip_plan_to_json(plan, nullptr, 0, &needed) == ECLIP_OK);
    std::string text(needed, '\0');
    REQUIRE(eclip_plan_to_json(plan, text.data(), text.size(), &needed) == ECLIP_OK);
    text.resize(needed - 1);
    const eclip::Plan expected = eclip::make_plan(k.strategy, eclip::SimDeviceModel::for_topology(t), names,
                                                  cpp_profile, k.cpp_budget, eclip::kDefaultThresholdTolerance)
                                     .plan;
    CHECK(text == expected.to_json(t).dump(2) + "\n");
    if (k.budget == 0) {
      const eclip::Plan made = eclip::Plan::from_json_text(text, t);
      for (const auto& w : made.workers) CHECK(w.groups.size() == 1);  // no switch at all
    }
    // The plan drives a pool and router.
    eclip_pool* pool = nullptr;
    REQUIRE(eclip_pool_create(be, plan, &pool) == ECLIP_OK);
    eclip_router* router = nullptr;
    REQUIRE(eclip_router_create(pool, plan, -1, &router) == ECLIP_OK);
    eclip_route r{};
    REQUIRE(eclip_router_begin_request(router, 1) == ECLIP_OK);
    for (int i = 0; i < 3; ++i) {
      REQUIRE(eclip_router_route(router, 1, &r) == ECLIP_OK);
      CHECK(r.status == ECLIP_ROUTED);
    }
    eclip_router_destroy(router);
    eclip_pool_destroy(pool);
    eclip_plan_destroy(plan);
  }

  // A different tolerance reaches the planner: with 100%, kernel-wise puts the "big" kernels
  // (2x slower on half the device) on half the device instead of the whole one.
  eclip_plan* loose = nullptr;
  REQUIRE(eclip_plan_make(be, prof, models, 2, "kernel-wise", -1, 1.0, &loose) == ECLIP_OK);
  std::vector<char> buf(1 << 16);
  REQUIRE(eclip_plan_to_json(loose, buf.data(), buf.size(), nullptr) == ECLIP_OK);
  CHECK(std::string(buf.data()) ==
        eclip::make_strategy_plan(eclip::Strategy::kernel_wise, names, cpp_profile, t,
                                  eclip::SwitchBudget::per_request(14), 1.0)
                .plan.to_json(t)
                .dump(2) +
            "\n");
  eclip_plan_destroy(loose);

  eclip_profile_destroy(prof);
  eclip_backend_destroy(be);
}

TEST_CASE("C ABI planner: bad input is refused, naming the value", "[c_abi][planner]") {
  eclip_profile* prof = nullptr;
  REQUIRE(eclip_profile_from_json(h100_profile().to_json().dump().c_str(), &prof) == ECLIP_OK);
  eclip_backend* be = nullptr;
  REQUIRE(eclip_backend_create("sim:h100", &be) == ECLIP_OK);
  const char* models[] = {"alpha", "beta"};
  eclip_plan* plan = nullptr;

  CHECK(eclip_plan_make(be, prof, models, 2, "magic", -1, -1, &plan) == ECLIP_E_INVALID_ARGUMENT);
  CHECK_THAT(last(), Catch::Contains("unknown strategy \"magic\"") && Catch::Contains("kernel-wise"));
  CHECK(eclip_plan_make(be, prof, models, 2, "remask", -1, -1, &plan) == ECLIP_E_INVALID_ARGUMENT);
  CHECK_THAT(last(), Catch::Contains("\"remask\""));
  CHECK(eclip_plan_make(be, prof, models, 2, "eclip", -2, -1, &plan) == ECLIP_E_INVALID_ARGUMENT);
  CHECK_THAT(last(), Catch::Contains("switch_budget -2"));
  CHECK(eclip_plan_make(be, prof, models, 2, "eclip", -1, std::nan(""), &plan) == ECLIP_E_INVALID_ARGUMENT);
  CHECK_THAT(last(), Catch::Contains("tolerance nan"));
  CHECK(eclip_plan_make(be, prof, models, 2, "eclip", -1, std::numeric_limits<double>::infinity(), &plan) ==
        ECLIP_E_INVALID_ARGUMENT);
  CHECK_THAT(last(), Catch::Contains("tolerance inf"));
  const char* unknown[] = {"alpha", "gamma"};
  CHECK(eclip_plan_make(be, prof, unknown, 2, "baseline", -1, -1, &plan) != ECLIP_OK);
  CHECK_THAT(last(), Catch::Contains("gamma"));
  const char* with_null[] = {"alpha", nullptr};
  CHECK(eclip_plan_make(be, prof, with_null, 2, "baseline", -1, -1, &plan) == ECLIP_E_INVALID_ARGUMENT);
  CHECK_THAT(last(), Catch::Contains("models[1] is NULL"));
  CHECK(eclip_plan_make(be, prof, models, 0, "baseline", -1, -1, &plan) == ECLIP_E_INVALID_ARGUMENT);
  CHECK_THAT(last(), Catch::Contains("model_count is 0"));
  CHECK(plan == nullptr);

  // The profile's device must be the backend's.
  eclip_backend* mi50 = nullptr;
  REQUIRE(eclip_backend_create("sim:mi50", &mi50) == ECLIP_OK);
  CHECK(eclip_plan_make(mi50, prof, models, 2, "eclip", -1, -1, &plan) == ECLIP_E_INVALID_ARGUMENT);
  CHECK_THAT(last(), Catch::Contains("\"H100\"") && Catch::Contains("\"MI50\""));
  eclip_backend_destroy(mi50);

  // Eight workers of model-wise need more masked streams than the H100 has: refused, not built.
  const char* eight[] = {"alpha", "beta", "alpha", "beta", "alpha", "beta", "alpha", "beta"};
  const int rc = eclip_plan_make(be, prof, eight, 8, "kernel-wise", -1, -1, &plan);
  if (rc != ECLIP_OK) CHECK_FALSE(last().empty());
  eclip_plan_destroy(plan);
  plan = nullptr;

  // Profiles: malformed text, wrong format, unreadable files.
  eclip_profile* p2 = nullptr;
  CHECK(eclip_profile_from_json("{\"format\": ", &p2) == ECLIP_E_PARSE);
  CHECK_THAT(last(), Catch::Contains("not valid JSON"));
  CHECK(eclip_profile_from_json(two_worker_plan().c_str(), &p2) == ECLIP_E_PARSE);
  CHECK_THAT(last(), Catch::Contains("eclip.profile"));
  CHECK(eclip_profile_from_file("/nonexistent/profile.json", &p2) == ECLIP_E_INVALID_ARGUMENT);
  CHECK_THAT(last(), Catch::Contains("/nonexistent/profile.json"));
  CHECK(eclip_profile_from_file(fs::temp_directory_path().c_str(), &p2) == ECLIP_E_INVALID_ARGUMENT);
  CHECK_THAT(last(), Catch::Contains("is a directory"));
  CHECK(p2 == nullptr);

  eclip_profile_destroy(prof);
  eclip_backend_destroy(be);
}

TEST_CASE("C ABI planner: a profile file and a plan file", "[c_abi][planner]") {
  const fs::path dir = scratch_dir("files");
  const fs::path profile_path = dir / "profile.json";
  std::ofstream(profile_path) << h100_profile().to_json().dump(2);
  eclip_profile* prof = nullptr;
  REQUIRE(eclip_profile_from_file(profile_path.c_str(), &prof) == ECLIP_OK);
  eclip_backend* be = nullptr;
  REQUIRE(eclip_backend_create("sim", &be) == ECLIP_OK);
  const char* models[] = {"beta", "alpha"};
  eclip_plan* plan = nullptr;
  REQUIRE(eclip_plan_make(be, prof, models, 2, "eclip", 4, 0.2, &plan) == ECLIP_OK);

  const fs::path plan_path = dir / "plan.json";
  REQUIRE(eclip_plan_write(plan, plan_path.c_str()) == ECLIP_OK);
  size_t needed = 0;
  REQUIRE(eclip_plan_to_json(plan, nullptr, 0, &needed) == ECLIP_OK);
  std::string text(needed, '\0');
  REQUIRE(eclip_plan_to_json(plan, text.data(), needed, nullptr) == ECLIP_OK);
  text.resize(needed - 1);
  CHECK(read_file(plan_path) == text);
  CHECK((fs::status(plan_path).permissions() & fs::perms::others_read) != fs::perms::none);  // 0644, not mkstemp's 0600
  eclip_plan* again = nullptr;
  REQUIRE(eclip_plan_from_file(be, plan_path.c_str(), &again) == ECLIP_OK);
  uint32_t workers = 0;
  REQUIRE(eclip_plan_workers(again, &workers) == ECLIP_OK);
  CHECK(workers == 2);
  eclip_plan_destroy(again);
  CHECK(entries(dir).size() == 2);  // profile.json, plan.json: no temporary file left

  eclip_plan_destroy(plan);
  eclip_profile_destroy(prof);
  eclip_backend_destroy(be);
  fs::remove_all(dir);
}

TEST_CASE("C ABI: plan_to_json sizes", "[c_abi]") {
  Handles h(two_worker_plan());
  size_t needed = 0;
  REQUIRE(eclip_plan_to_json(h.plan, nullptr, 0, &needed) == ECLIP_OK);
  CHECK(needed > 10);
  std::string small(needed - 1, 'x');
  CHECK(eclip_plan_to_json(h.plan, small.data(), small.size(), &needed) == ECLIP_E_INVALID_ARGUMENT);
  CHECK_THAT(last(), Catch::Contains(std::to_string(needed - 1) + " bytes") &&
                         Catch::Contains("needs " + std::to_string(needed)));
  CHECK(small == std::string(needed - 1, 'x'));  // untouched
  std::string exact(needed, 'x');
  REQUIRE(eclip_plan_to_json(h.plan, exact.data(), exact.size(), &needed) == ECLIP_OK);
  CHECK(exact.back() == '\0');
  CHECK(exact.find("\"format\": \"eclip.plan\"") != std::string::npos);
  CHECK(eclip_plan_to_json(h.plan, nullptr, 5, &needed) == ECLIP_E_INVALID_ARGUMENT);
  CHECK(eclip_plan_to_json(nullptr, nullptr, 0, &needed) == ECLIP_E_INVALID_ARGUMENT);
}

TEST_CASE("C ABI: a plan write that fails leaves the old file intact and nothing behind", "[c_abi]") {
  Handles h(two_worker_plan());
  const fs::path dir = scratch_dir("write");
  const fs::path path = dir / "plan.json";
  const std::string old_text = "the old plan\n";
  std::ofstream(path) << old_text;
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);

  // The disk "fills up": a file size limit below the plan's size makes write() fail with EFBIG,
  // whoever runs the test (root ignores permissions, not this limit).
  std::signal(SIGXFSZ, SIG_IGN);
  rlimit saved{};
  REQUIRE(getrlimit(RLIMIT_FSIZE, &saved) == 0);
  rlimit small = saved;
  small.rlim_cur = 64;
  REQUIRE(setrlimit(RLIMIT_FSIZE, &small) == 0);
  const int rc = eclip_plan_write(h.plan, path.c_str());
  const std::string message = last();
  REQUIRE(setrlimit(RLIMIT_FSIZE, &saved) == 0);
  std::signal(SIGXFSZ, SIG_DFL);
  CHECK(rc == ECLIP_E_INVALID_ARGUMENT);
  CHECK_THAT(message, Catch::Contains("cannot write \"" + path.string() + "\"") && Catch::Contains("write"));
  CHECK(read_file(path) == old_text);
  CHECK(entries(dir) == std::vector<std::string>{"plan.json"});

  // A successful write replaces it and keeps its mode.
  REQUIRE(eclip_plan_write(h.plan, path.c_str()) == ECLIP_OK);
  CHECK(read_file(path).find("\"eclip.plan\"") != std::string::npos);
  CHECK(fs::status(path).permissions() == (fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read));
  CHECK(entries(dir) == std::vector<std::string>{"plan.json"});

  // Paths that cannot be written.
  CHECK(eclip_plan_write(h.plan, dir.c_str()) == ECLIP_E_INVALID_ARGUMENT);
  CHECK_THAT(last(), Catch::Contains("is a directory"));
  CHECK(eclip_plan_write(h.plan, (dir / "no" / "such" / "plan.json").c_str()) == ECLIP_E_INVALID_ARGUMENT);
  CHECK_THAT(last(), Catch::Contains("no/such/plan.json") && Catch::Contains("No such file or directory"));
  CHECK(eclip_plan_write(h.plan, "") == ECLIP_E_INVALID_ARGUMENT);
  CHECK_THAT(last(), Catch::Contains("empty"));
  CHECK(eclip_plan_write(h.plan, nullptr) == ECLIP_E_INVALID_ARGUMENT);
  fs::remove_all(dir);
}

TEST_CASE("C ABI: an evaluation judged by an objective, as the search judges its trials", "[c_abi][planner]") {
  double rps[2] = {10.0, 30.0}, p95[2] = {5.0, 12.0};
  eclip_evaluation e{rps, p95, 2, 200.0, 1.0, nullptr};
  double value = 0, score = 0;
  char* why = nullptr;
  REQUIRE(eclip_objective_score(R"({"kind": "energy"})", &e, &value, &score, &why) == ECLIP_OK);
  CHECK(value == Approx(0.2));  // 40 req/s at 200 W
  CHECK(score == Approx(0.2));
  REQUIRE(why != nullptr);
  CHECK(std::string(why).empty());
  eclip_string_free(why);
  REQUIRE(eclip_objective_score(R"({"p95_limit_ms": [10, 10]})", &e, &value, &score, &why) == ECLIP_OK);
  CHECK(value == Approx(40.0));
  CHECK(std::isinf(score));
  CHECK(std::string(why) == "worker 1 p95 12.000 ms > limit 10.000 ms");
  eclip_string_free(why);
  CHECK(eclip_objective_score(R"({"p95_limit_ms": [10, 10], "tolerance": 0.25})", &e, &value, &score, nullptr) == ECLIP_OK);
  CHECK(score == Approx(40.0));  // within the margin
  CHECK(eclip_objective_score(R"({"kind": "fastest"})", &e, &value, &score, nullptr) == ECLIP_E_INVALID_ARGUMENT);
  CHECK_THAT(last(), Catch::Contains("unknown objective \"fastest\""));
  CHECK(eclip_objective_score(R"({"alone_rps": [1]})", &e, &value, &score, nullptr) == ECLIP_E_INVALID_ARGUMENT);
  CHECK_THAT(last(), Catch::Contains("1 solo throughputs"));
  CHECK(eclip_objective_score("{", &e, &value, &score, nullptr) == ECLIP_E_INVALID_ARGUMENT);
  CHECK(eclip_objective_score("{}", nullptr, &value, &score, nullptr) == ECLIP_E_INVALID_ARGUMENT);
  CHECK_THAT(last(), Catch::Contains("evaluation"));
}

TEST_CASE("C ABI: how far an evaluation breaks an objective's constraints", "[c_abi][planner]") {
  double rps[2] = {10.0, 30.0}, p95[2] = {5.0, 12.0};
  eclip_evaluation e{rps, p95, 2, 200.0, 1.0, nullptr};
  double v = -1;
  REQUIRE(eclip_objective_violation(R"({"p95_limit_ms": [10, 10]})", &e, &v) == ECLIP_OK);
  CHECK(v == Approx(0.2));  // worker 1: 12 ms over a 10-ms limit
  REQUIRE(eclip_objective_violation(R"({"p95_limit_ms": [10, 10], "tolerance": 0.1})", &e, &v) == ECLIP_OK);
  CHECK(v == Approx(12.0 / 11.0 - 1));  // beyond the limit with its margin
  REQUIRE(eclip_objective_violation(R"({"p95_limit_ms": [20, 20]})", &e, &v) == ECLIP_OK);
  CHECK(v == 0.0);
  // Jain's index of normalised throughputs 1 and 0.5 (alone 10 and 60 req/s) is 0.9: 10 % under a floor of 1.
  REQUIRE(eclip_objective_violation(R"({"alone_rps": [10, 60], "jain_floor": 1})", &e, &v) == ECLIP_OK);
  CHECK(v == Approx(0.1));
  e.power_w = 0;
  REQUIRE(eclip_objective_violation(R"({"kind": "energy"})", &e, &v) == ECLIP_OK);
  CHECK(std::isinf(v));
  CHECK(eclip_objective_violation(R"({"kind": "fastest"})", &e, &v) == ECLIP_E_INVALID_ARGUMENT);
  CHECK_THAT(last(), Catch::Contains("unknown objective \"fastest\""));
  CHECK(eclip_objective_violation("{}", &e, nullptr) == ECLIP_E_INVALID_ARGUMENT);
  CHECK_THAT(last(), Catch::Contains("violation"));
  CHECK(eclip_objective_violation("{}", nullptr, &v) == ECLIP_E_INVALID_ARGUMENT);
}

TEST_CASE("C ABI: the statistics runs are reported with", "[c_abi]") {
  const double x[5] = {5, 1, 4, 2, 3};
  double out = -1;
  REQUIRE(eclip_percentile(x, 5, 0.95, &out) == ECLIP_OK);
  CHECK(out == 5);  // nearest rank, not 4.8
  REQUIRE(eclip_percentile(x, 5, 0.5, &out) == ECLIP_OK);
  CHECK(out == 3);
  REQUIRE(eclip_percentile(x, 1, 0.0, &out) == ECLIP_OK);
  CHECK(out == 5);
  CHECK(eclip_percentile(x, 0, 0.5, &out) == ECLIP_E_INVALID_ARGUMENT);
  CHECK_THAT(last(), Catch::Contains("no values"));
  CHECK(eclip_percentile(x, 5, 1.5, &out) == ECLIP_E_INVALID_ARGUMENT);
  CHECK_THAT(last(), Catch::Contains("q 1.5 is outside [0, 1]"));
  CHECK(eclip_percentile(nullptr, 3, 0.5, &out) == ECLIP_E_INVALID_ARGUMENT);
  const double one[4] = {1, 0, 0, 0};
  REQUIRE(eclip_jain_index(one, 4, &out) == ECLIP_OK);
  CHECK(out == Approx(0.25));
  REQUIRE(eclip_jain_index(nullptr, 0, &out) == ECLIP_OK);
  CHECK(out == 0);
  CHECK(eclip_jain_index(one, 4, nullptr) == ECLIP_E_INVALID_ARGUMENT);
}

TEST_CASE("C ABI: a NaN sample is refused, naming it", "[c_abi]") {
  const double x[3] = {1, std::nan(""), 2};
  double out = 0;
  CHECK(eclip_percentile(x, 3, 0.5, &out) == ECLIP_E_INVALID_ARGUMENT);
  CHECK_THAT(last(), Catch::Contains("values[1] is NaN"));
}
