// Microbenchmarks of the CUDA green-context backend, each comparison measured in the same run:
//   A. create + destroy of a partition (green context + stream), the analogue of ECLIP's remask IOCTL;
//   B. the router's own cost: route() alone, and a plain vs a routed launch on the same partition;
//   C. a switch whose barrier was needed vs one whose barrier was skipped (host cost and the gap
//      the device sees between the two kernels), against launches with no switch;
//   D. the share of barriers skipped on chains of 5-50 us kernels switching every 1-8 kernels,
//      with and without host time between launches, and what the switches cost in wall time;
//   E. marker costs: event record, query, release.
// Prints tables; --json PATH writes every sample summary. Exits 77 without an NVIDIA driver.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <numeric>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "eclip/backend/cuda_launch.hpp"
#include "eclip/eclip.hpp"
#include "kernels.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using json = nlohmann::json;
using eclip::PartitionConfig;
using eclip::StreamHandle;
namespace cuda = eclip::cuda;
namespace kb = eclip::cuda::testing;
using eclip::cuda::testing::raw_launch;

double ns_between(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::nano>(b - a).count(); }

struct Stats {
  double median = 0, mean = 0, min = 0, max = 0, p90 = 0;
  size_t n = 0;
};
Stats stats(std::vector<double> v) {
  Stats s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.n = v.size();
  s.median = v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  s.mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  s.min = v.front();
  s.max = v.back();
  s.p90 = v[std::min(v.size() - 1, static_cast<size_t>(0.9 * static_cast<double>(v.size())))];
  return s;
}
json to_json(const Stats& s) {
  return {{"median", s.median}, {"mean", s.mean}, {"min", s.min}, {"p90", s.p90}, {"max", s.max}, {"n", s.n}};
}

void ok(cudaError_t e, const char* call) { cuda::detail::check_runtime(e, call); }

eclip::Plan plan_of(const eclip::Topology& t, const std::vector<PartitionConfig>& configs) {
  eclip::Plan p;
  p.device = t.name;
  p.strategy = "bench";
  p.workers.push_back(eclip::WorkerPlan::from_per_kernel("bench", configs));
  return p;
}

void busy_wait_ns(double ns) {
  const auto t0 = Clock::now();
  while (ns_between(t0, Clock::now()) < ns) {
  }
}

struct Args {
  std::string json_path;
  bool quick = false;
};

// ---- A. partition create + destroy ----
json bench_create_destroy(cuda::GreenContextBackend& b, const Args& a) {
  const eclip::Topology& t = b.topology();
  const unsigned reps = a.quick ? 5 : 20;
  std::printf("\nA. partition create + destroy (host wall clock, %u reps each; destroy synchronises the idle stream)\n", reps);
  std::printf("  %-22s %12s %12s %12s %12s\n", "partition", "create med", "create max", "destroy med", "total med");
  json out = json::array();
  std::vector<std::pair<std::string, eclip::CuMask>> cases;
  for (unsigned n : {1U, 2U, 4U, 8U, t.group_count() - 1})
    cases.emplace_back(fmt::format("green, {} atoms ({} SMs)", n, t.grow_from(0, n).count()), t.grow_from(0, n));
  cases.emplace_back(fmt::format("plain stream (all {})", t.units()), t.all());
  for (const auto& [label, mask] : cases) {
    b.destroy_stream(b.create_stream(mask));  // warm-up
    std::vector<double> create, destroy, total;
    for (unsigned r = 0; r < reps; ++r) {
      const auto t0 = Clock::now();
      const StreamHandle s = b.create_stream(mask);
      const auto t1 = Clock::now();
      b.destroy_stream(s);
      const auto t2 = Clock::now();
      create.push_back(ns_between(t0, t1) / 1e3);
      destroy.push_back(ns_between(t1, t2) / 1e3);
      total.push_back(ns_between(t0, t2) / 1e3);
    }
    const Stats c = stats(create), d = stats(destroy), tt = stats(total);
    std::printf("  %-22s %9.1f us %9.1f us %9.1f us %9.1f us\n", label.c_str(), c.median, c.max, d.median, tt.median);
    out.push_back({{"partition", label}, {"sms", mask.count()}, {"create_us", to_json(c)}, {"destroy_us", to_json(d)},
                   {"total_us", to_json(tt)}});
  }
  return out;
}

// ---- E. marker costs ----
json bench_markers(cuda::GreenContextBackend& b, const Args& a) {
  const eclip::Topology& t = b.topology();
  const StreamHandle s = b.create_stream(t.grow_from(0, 1));
  const unsigned n = a.quick ? 2000 : 20000;
  for (unsigned i = 0; i < 100; ++i) b.release_marker(b.record_marker(s));  // warm the event pool
  auto t0 = Clock::now();
  for (unsigned i = 0; i < n; ++i) b.release_marker(b.record_marker(s));
  const double record_ns = ns_between(t0, Clock::now()) / n;
  b.synchronize(s);
  const eclip::MarkerHandle m = b.record_marker(s);
  b.synchronize(s);
  unsigned done = 0;
  t0 = Clock::now();
  for (unsigned i = 0; i < n; ++i) done += b.marker_done(m);
  const double query_ns = ns_between(t0, Clock::now()) / n;
  b.release_marker(m);
  b.destroy_stream(s);
  std::printf("\nE. markers (%u each, idle green stream): record+release %.0f ns, query (done) %.0f ns (%u/%u done)\n", n,
              record_ns, query_ns, done, n);
  return {{"record_release_ns", record_ns}, {"query_done_ns", query_ns}, {"n", n}};
}

// ---- B. router overhead ----
json bench_router(cuda::GreenContextBackend& b, const Args& a) {
  const eclip::Topology& t = b.topology();
  const std::uint32_t kernels = a.quick ? (1U << 16) : (1U << 20);
  eclip::Plan plan;
  plan.device = t.name;
  plan.strategy = "bench";
  plan.workers.push_back(eclip::WorkerPlan{"bench", {eclip::KernelGroup{0, kernels, PartitionConfig{4}}}});
  eclip::PartitionPool pool(b, 1, plan.pool_specs(t));
  eclip::KernelRouter router(pool, plan);
  const StreamHandle target = pool.slots(0)[*pool.find(0, PartitionConfig{4})].stream;

  // B1: route() alone (no switch: a table lookup and counters).
  std::vector<double> route_ns;
  unsigned sink = 0;
  for (unsigned r = 0; r < 7; ++r) {
    router.begin_request(0);
    const auto t0 = Clock::now();
    for (std::uint32_t i = 0; i < kernels; ++i) sink += router.route(0).slot;
    route_ns.push_back(ns_between(t0, Clock::now()) / kernels);
  }
  const Stats rs = stats(route_ns);

  // B2: plain cudaLaunchKernel vs eclip::cuda::launch to the same stream, alternating batches.
  const unsigned batch = 2000, reps = a.quick ? 6 : 100;
  const cudaStream_t s = cuda::stream_of(target);
  std::vector<double> plain, routed, diff;
  router.begin_request(0);
  for (unsigned i = 0; i < batch; ++i) {
    raw_launch(s, kb::empty_kernel(), dim3(1), dim3(32));
    const eclip::RouteDecision d = cuda::launch(router, 0, kb::empty_kernel(), dim3(1), dim3(32), 0);
    if (d.stream != target) throw eclip::Error(eclip::Errc::backend, "bench: routed launch went to another stream");
  }
  ok(cudaStreamSynchronize(s), "cudaStreamSynchronize");
  for (unsigned r = 0; r < reps; ++r) {
    double p = 0, q = 0;
    for (int half = 0; half < 2; ++half) {
      const bool plain_now = (half == 0) == (r % 2 == 0);
      router.begin_request(0);
      const auto t0 = Clock::now();
      if (plain_now) {
        for (unsigned i = 0; i < batch; ++i) raw_launch(s, kb::empty_kernel(), dim3(1), dim3(32));
      } else {
        for (unsigned i = 0; i < batch; ++i) cuda::launch(router, 0, kb::empty_kernel(), dim3(1), dim3(32), 0);
      }
      const double per = ns_between(t0, Clock::now()) / batch;
      ok(cudaStreamSynchronize(s), "cudaStreamSynchronize");
      (plain_now ? p : q) = per;
    }
    plain.push_back(p);
    routed.push_back(q);
    diff.push_back(q - p);
  }
  const Stats ps = stats(plain), qs = stats(routed), ds = stats(diff);
  std::printf("\nB. router overhead (worker on a 4-atom partition, no switches; sink %u)\n", sink % 2);
  std::printf("  route() alone:                 %8.1f ns/call (median of 7 x %u calls)\n", rs.median, kernels);
  std::printf("  plain cudaLaunchKernel:        %8.1f ns/launch (median of %u batches of %u)\n", ps.median, reps, batch);
  std::printf("  eclip::cuda::launch (routed):  %8.1f ns/launch\n", qs.median);
  std::printf("  routed - plain (paired):       %8.1f ns/launch (median; min %.1f, max %.1f)\n", ds.median, ds.min, ds.max);
  return {{"route_only_ns", to_json(rs)}, {"plain_launch_ns", to_json(ps)}, {"routed_launch_ns", to_json(qs)},
          {"routed_minus_plain_ns", to_json(ds)}, {"batch", batch}, {"route_calls", kernels}};
}

// ---- C. switch with a needed barrier vs a skipped one ----
json bench_switch(cuda::GreenContextBackend& b, const Args& a) {
  const eclip::Topology& t = b.topology();
  const unsigned reps = a.quick ? 30 : 200;
  unsigned long long* stamps = nullptr;
  ok(cudaMalloc(reinterpret_cast<void**>(&stamps), 4 * sizeof(unsigned long long)), "cudaMalloc");
  struct Case {
    const char* label;
    bool switch_partition, predecessor_running;
  };
  const Case cases[] = {{"same partition, predecessor done", false, false},
                        {"same partition, predecessor running", false, true},
                        {"switch, predecessor done (barrier skipped)", true, false},
                        {"switch, predecessor running (barrier)", true, true}};
  std::printf("\nC. the launch after a 50 us kernel, through the router (%u reps each)\n", reps);
  std::printf("  %-44s %10s %10s %14s %9s\n", "case", "host med", "host p90", "device gap med", "barriers");
  json out = json::array();
  for (const Case& c : cases) {
    const eclip::Plan plan = plan_of(t, {PartitionConfig{1}, PartitionConfig{c.switch_partition ? 2U : 1U}});
    eclip::PartitionPool pool(b, 1, plan.pool_specs(t));
    eclip::KernelRouter router(pool, plan);
    std::vector<double> host_us, gap_us;
    unsigned barriers = 0, switches = 0;
    for (unsigned r = 0; r < reps + 5; ++r) {
      router.begin_request(0);
      cuda::launch(router, 0, kb::spin_kernel(), dim3(1), dim3(32), 0, 50000ULL, stamps, 0U);
      if (!c.predecessor_running) ok(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
      const auto t0 = Clock::now();
      const eclip::RouteDecision d = cuda::launch(router, 0, kb::spin_kernel(), dim3(1), dim3(32), 0, 0ULL, stamps, 1U);
      const auto t1 = Clock::now();
      ok(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
      unsigned long long h[4];
      ok(cudaMemcpy(h, stamps, sizeof h, cudaMemcpyDeviceToHost), "cudaMemcpy");
      if (r < 5) continue;  // warm-up
      host_us.push_back(ns_between(t0, t1) / 1e3);
      if (c.predecessor_running) gap_us.push_back(static_cast<double>(static_cast<long long>(h[2] - h[1])) / 1e3);
      barriers += d.barrier;
      switches += d.switched;
    }
    const Stats hs = stats(host_us), gs = stats(gap_us);
    if (c.predecessor_running)
      std::printf("  %-44s %7.2f us %7.2f us %11.2f us %5u/%u\n", c.label, hs.median, hs.p90, gs.median, barriers, reps);
    else
      std::printf("  %-44s %7.2f us %7.2f us %14s %5u/%u\n", c.label, hs.median, hs.p90, "-", barriers, reps);
    out.push_back({{"case", c.label}, {"host_launch_us", to_json(hs)}, {"device_gap_us", to_json(gs)},
                   {"barriers", barriers}, {"switches", switches}, {"reps", reps}});
  }
  (void)cudaFree(stamps);
  return out;
}

// ---- D. barriers skipped on realistic chains ----
json bench_chains(cuda::GreenContextBackend& b, const Args& a) {
  const eclip::Topology& t = b.topology();
  const unsigned n = a.quick ? 1000 : 4000;
  std::mt19937 rng(42);
  std::uniform_real_distribution<double> dist(5.0, 50.0);
  std::vector<unsigned long long> dur_ns(n);
  double sum_us = 0;
  for (auto& d : dur_ns) {
    const double us = dist(rng);
    sum_us += us;
    d = static_cast<unsigned long long>(us * 1000);
  }
  const PartitionConfig cycle[] = {{2}, {4}, {1}, {8}};
  std::vector<eclip::PartitionSpec> specs;
  for (PartitionConfig c : cycle) specs.push_back({0, c});
  eclip::PartitionPool pool(b, 1, specs);

  auto run = [&](const std::vector<PartitionConfig>& configs, double gap_ns, eclip::RouterCounters& delta) {
    const eclip::Plan plan = plan_of(t, configs);
    eclip::KernelRouter router(pool, plan);
    ok(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
    router.begin_request(0);
    const auto t0 = Clock::now();
    for (unsigned k = 0; k < n; ++k) {
      if (gap_ns > 0) busy_wait_ns(gap_ns);
      cuda::launch(router, 0, kb::spin_kernel(), dim3(1), dim3(32), 0, dur_ns[k], static_cast<unsigned long long*>(nullptr), 0U);
    }
    ok(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
    delta = router.totals();
    return ns_between(t0, Clock::now()) / 1e3 / n;
  };

  std::printf("\nD. chains of %u one-block kernels of 5-50 us (mean %.1f us), host gap before each launch\n", n, sum_us / n);
  std::printf("  %-9s %-22s %9s %9s %9s %12s %14s\n", "host gap", "partitions", "switches", "barriers", "skipped",
              "us/kernel", "vs best fixed");
  json out = json::array();
  for (double gap_us : {0.0, 10.0, 20.0, 30.0, 60.0}) {
    // Baselines: the whole chain on each one of the four partitions, no switch.
    double best = 1e30;
    for (PartitionConfig c : cycle) {
      eclip::RouterCounters base_c;
      const double base = run(std::vector<PartitionConfig>(n, c), gap_us * 1000, base_c);
      best = std::min(best, base);
      std::printf("  %6.0f us %-22s %9s %9s %9s %9.2f us %14s\n", gap_us,
                  fmt::format("fixed, {} atoms", c.groups).c_str(), "0", "0", "-", base, "-");
      out.push_back({{"host_gap_us", gap_us}, {"switch_every", 0}, {"atoms", c.groups}, {"us_per_kernel", base}});
    }
    for (unsigned every : {1U, 2U, 4U, 8U}) {
      std::vector<PartitionConfig> configs;
      for (unsigned k = 0; k < n; ++k) configs.push_back(cycle[(k / every) % 4]);
      eclip::RouterCounters c;
      const double per = run(configs, gap_us * 1000, c);
      const double skipped = c.switches ? 100.0 * static_cast<double>(c.switches - c.barriers) / static_cast<double>(c.switches) : 0;
      std::printf("  %6.0f us %-22s %9llu %9llu %8.1f%% %9.2f us %+11.2f us\n", gap_us,
                  fmt::format("switch every {}", every).c_str(), static_cast<unsigned long long>(c.switches),
                  static_cast<unsigned long long>(c.barriers), skipped, per, per - best);
      out.push_back({{"host_gap_us", gap_us}, {"switch_every", every}, {"switches", c.switches},
                     {"barriers", c.barriers}, {"skipped_pct", skipped}, {"us_per_kernel", per},
                     {"vs_best_fixed_us", per - best}, {"backend_errors", c.backend_errors}});
    }
  }
  return {{"kernels", n}, {"mean_kernel_us", sum_us / n}, {"runs", out}};
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--json") == 0 && i + 1 < argc) {
      a.json_path = argv[++i];
    } else if (std::strcmp(argv[i], "--quick") == 0) {
      a.quick = true;
    } else {
      std::fprintf(stderr, "usage: %s [--json PATH] [--quick]\n", argv[0]);
      return 2;
    }
  }
  const std::string why = cuda::driver_unavailable_reason();
  if (!why.empty()) {
    std::printf("SKIPPED: no NVIDIA driver (%s)\n", why.c_str());
    return 77;
  }
  try {
    ok(cudaFree(nullptr), "cudaFree(0)");  // initialise the runtime and the primary context
    cuda::GreenContextBackend b;
    const cuda::DeviceInfo& d = b.device();
    std::printf("device %d: %s, cc %d.%d, %u SMs, driver API %d, atoms of %u SMs: {%s}\n", d.ordinal, d.name.c_str(),
                d.cc_major, d.cc_minor, d.sm_count, d.driver_version, d.atom_sms,
                fmt::format("{}", fmt::join(b.topology().group_sizes, ",")).c_str());
    json out;
    out["device"] = {{"name", d.name}, {"sm_count", d.sm_count}, {"cc", fmt::format("{}.{}", d.cc_major, d.cc_minor)},
                     {"driver_api_version", d.driver_version}, {"atom_sms", d.atom_sms},
                     {"groups", b.topology().group_sizes}};
    out["quick"] = a.quick;
    out["create_destroy"] = bench_create_destroy(b, a);
    out["markers"] = bench_markers(b, a);
    out["router"] = bench_router(b, a);
    out["switch"] = bench_switch(b, a);
    out["chains"] = bench_chains(b, a);
    if (!a.json_path.empty()) {
      std::ofstream(a.json_path) << out.dump(2) << "\n";
      std::printf("\nwrote %s\n", a.json_path.c_str());
    }
  } catch (const eclip::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
