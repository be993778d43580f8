#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "eclip/runtime/kernel_router.hpp"
#include "eclip/runtime/trace_observer.hpp"
#include "fake_backend.hpp"

using namespace eclip;
using eclip::testing::FakeBackend;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string scratch(const std::string& name) {
  const std::string path = "trace_observer_test_" + name + ".json";
  std::remove(path.c_str());
  std::remove((path + ".tmp").c_str());
  return path;
}

/// Fans one router's decisions out to the trace and to a log, to compare them.
class Both final : public Observer {
 public:
  Both(Observer& a, Observer& b) : a_(a), b_(b) {}
  void on_request(unsigned w) noexcept override { a_.on_request(w), b_.on_request(w); }
  void on_route(unsigned w, const RouteDecision& d) noexcept override { a_.on_route(w, d), b_.on_route(w, d); }

 private:
  Observer &a_, &b_;
};

}  // namespace

TEST_CASE("a router's trace is Perfetto JSON with each launch's worker, partition, switch and barrier",
          "[trace]") {
  FakeBackend be(presets::mi50());
  // Worker 0: 1 SE, 1 SE, 2 SEs, whole device; worker 1: 1 SE x3.
  Plan plan{"MI50", "t", {}, {WorkerPlan{"a", {{0, 2, {1}}, {2, 1, {2}}, {3, 1, {4}}}}, WorkerPlan{"b", {{0, 3, {1}}}}}};
  PartitionPool pool(be, 2, plan.pool_specs(be.topology()));
  const std::string path = scratch("router");
  TraceObserver trace(path);
  RouteLog log(2);
  Both both(trace, log);
  KernelRouter router(pool, plan, SwitchBudget::unlimited(), &both);
  be.done_answer = [](std::uint64_t s) { return s % 2 == 0; };
  std::thread other([&] {
    for (int r = 0; r < 2; ++r) {
      router.begin_request(1);
      for (int k = 0; k < 3; ++k) router.route(1);
    }
  });
  for (int r = 0; r < 3; ++r) {
    router.begin_request(0);
    for (int k = 0; k < 4; ++k) router.route(0, k == 2 ? "gemm" : nullptr);
  }
  other.join();
  // Before close(): the file holds the events without the closing bracket (a viewer adds it), and
  // nothing is at `path` yet (it is written beside it and put in place at close).
  CHECK(slurp(path).empty());
  trace.close();
  const nlohmann::json j = nlohmann::json::parse(slurp(path));  // strict: throws if invalid
  REQUIRE(j.is_array());

  std::map<unsigned, std::vector<nlohmann::json>> launches;
  std::map<unsigned, int> requests;
  std::map<unsigned, std::string> thread_names;
  std::string process;
  int counters = 0;
  double last_ts = -1;
  for (const auto& e : j) {
    REQUIRE(e.contains("ph"));
    REQUIRE(e.contains("pid"));
    if (e["ph"] == "M" && e["name"] == "thread_name") thread_names[e["tid"]] = e["args"]["name"];
    if (e["ph"] == "M" && e["name"] == "process_name") process = e["args"]["name"];
    if (e["ph"] == "C") ++counters;
    if (e.value("cat", "") == "request") ++requests[e["tid"].get<unsigned>()];
    if (e.value("cat", "") == "launch") {
      CHECK(e["ph"] == "i");
      CHECK(e["s"] == "t");
      CHECK(e["ts"].get<double>() >= 0);
      launches[e["tid"].get<unsigned>()].push_back(e);
    }
    if (e.contains("ts")) last_ts = std::max(last_ts, e["ts"].get<double>());
  }
  CHECK(process == "eclip");
  CHECK(thread_names[0] == "worker 0");
  CHECK(thread_names[1] == "worker 1");
  CHECK(requests[0] == 3);
  CHECK(requests[1] == 2);
  CHECK(last_ts > 0);
  for (unsigned w = 0; w < 2; ++w) {
    const auto& decisions = log.worker(w);
    REQUIRE(launches[w].size() == decisions.size());
    for (std::size_t i = 0; i < decisions.size(); ++i) {
      const nlohmann::json& a = launches[w][i]["args"];
      const RouteDecision& d = decisions[i];
      CHECK(a["worker"] == w);
      CHECK(a["position"] == d.kernel);
      CHECK(a["request"] == d.request);
      CHECK(a["units"] == pool.slots(w)[d.slot].mask.count());
      CHECK(a["slot"] == d.slot);
      CHECK(a["switch"] == d.switched);
      CHECK(a["barrier"] == d.barrier);
      CHECK(a["status"] == "routed");
      CHECK(a["stream"] == fmt::format("{:#x}", d.stream.value));
    }
  }
  CHECK(launches[0][2]["name"] == "gemm");
  CHECK(launches[0][1]["name"] == "kernel 1");
  // Worker 0's partition changes 1 -> 2 -> 4 SEs -> 1 per request; worker 1 stays on 1 SE.
  CHECK(counters == 1 + 3 * 3 - 1 + 1);
  std::remove(path.c_str());
}

TEST_CASE("a trace run carries the simulator's clock and a track of its own", "[trace]") {
  const std::string path = scratch("runs");
  {
    TraceObserver trace(path);
    double now = 5;
    trace.on_run_begin("MI50 mix1 eclip", [&] { return now; });
    trace.on_request(0);
    now = 7.5;
    RouteDecision d;
    d.units = 15;
    trace.on_route(0, d);
    trace.on_run_end();
    trace.on_run_begin("MI50 mix1 baseline", [&] { return now; });
    trace.on_join(1, StreamHandle{3}, true);
    trace.on_run_end();
  }  // the destructor completes the file
  const nlohmann::json j = nlohmann::json::parse(slurp(path));
  std::map<unsigned, std::string> names;
  for (const auto& e : j)
    if (e["ph"] == "M" && e["name"] == "process_name") names[e["pid"]] = e["args"]["name"];
  CHECK(names[1] == "MI50 mix1 eclip");  // nothing was traced before the first run: it names track 1
  CHECK(names[2] == "MI50 mix1 baseline");
  bool saw_launch = false, saw_join = false;
  for (const auto& e : j) {
    if (e.value("cat", "") == "launch") {
      saw_launch = true;
      CHECK(e["ts"] == 7.5);
      CHECK(e["pid"] == 1);
    }
    if (e.value("cat", "") == "join") {
      saw_join = true;
      CHECK(e["pid"] == 2);
      CHECK(e["args"]["barrier"] == true);
    }
  }
  CHECK(saw_launch);
  CHECK(saw_join);
  std::remove(path.c_str());
}

TEST_CASE("a trace that cannot be written says where; a discarded one leaves the old file", "[trace]") {
  CHECK_THROWS_WITH(TraceObserver("/nonexistent/dir/t.json"), Catch::Contains("/nonexistent/dir/t.json.tmp"));
  const std::string path = scratch("keep");
  {
    std::ofstream(path) << "old";
  }
  {
    TraceObserver trace(path);
    trace.on_request(0);
    trace.discard();
  }
  CHECK(slurp(path) == "old");
  std::ifstream tmp(path + ".tmp");
  CHECK_FALSE(tmp.good());
  {
    TraceObserver::Options o;
    o.write_in_place = true;
    o.flush_each_event = true;
    TraceObserver trace(path, o);
    trace.on_request(2);
    // In place and flushed: readable now, the closing bracket still missing.
    std::string text = slurp(path);
    CHECK(text.back() != ']');
    CHECK(nlohmann::json::parse(text + "]").size() == 3);  // process and thread names, the request
    trace.on_route(2, RouteDecision{});
  }
  CHECK(nlohmann::json::parse(slurp(path)).size() == 4);  // + the launch (units 0: no counter)
  std::remove(path.c_str());
}
