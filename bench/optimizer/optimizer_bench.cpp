// How fast the optimizer plans, against the targets (docs/optimizer.md has the numbers):
//   * a 4-worker mix of the recorded workloads (resnet152, densenet201, albert, vgg19) on the
//     simulated MI50 with a switch budget of 14: under 50 ms;
//   * one 1300-kernel worker (the size of the paper's mix-1 requests): under 10 ms;
// and the GLPK MILP (the tests' oracle) on the same instances, capped in time, for the ratio.
//
// Workloads come from $ECLIP_WORKLOADS or the source tree's workloads/h100; when absent, synthetic
// profiles with the same kernel counts stand in (the run says which it used).
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>

#include <fmt/format.h>

#include "eclip/backend/sim.hpp"
#include "eclip/planner/optimizer.hpp"
#ifdef ECLIP_BENCH_HAVE_GLPK
#include "milp_oracle.hpp"
#endif

namespace {

namespace fs = std::filesystem;

std::string workload_dir() {
  if (const char* env = std::getenv("ECLIP_WORKLOADS")) return env;
  return ECLIP_WORKLOAD_DIR_BUILD;
}

/// A synthetic model of `kernels` kernels with Amdahl-shaped times on `topo` (seeded).
eclip::ModelProfile synthetic(const std::string& name, std::size_t kernels, const eclip::Topology& topo, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> serial(2, 30), parallel(0, 4000);
  eclip::ModelProfile m{name, 6.0, {}};
  for (std::size_t k = 0; k < kernels; ++k) {
    eclip::KernelProfile kp{fmt::format("k{}", k), {}};
    const double a = serial(rng), b = parallel(rng);
    for (unsigned c : topo.size_classes) kp.us.push_back(a + b / topo.units_of(c));
    m.kernels.push_back(std::move(kp));
  }
  return m;
}

struct Instance {
  eclip::Topology topo;
  eclip::Profile profile;
  std::vector<std::string> mix;
  std::string source;
};

/// The 4-worker mix on the simulated MI50, from recorded workloads when present.
const Instance& four_workers() {
  static const Instance inst = [] {
    const eclip::SimDeviceModel dm = eclip::SimDeviceModel::mi50();
    Instance in{dm.topology, {}, {"resnet152", "densenet201", "albert", "vgg19"}, {}};
    std::vector<eclip::Workload> ws;
    for (const std::string& m : in.mix) {
      const fs::path p = fs::path(workload_dir()) / "h100" / (m + ".json");
      if (!fs::exists(p)) break;
      ws.push_back(eclip::Workload::load(p.string()));
    }
    if (ws.size() == in.mix.size()) {
      in.profile = eclip::make_profile(dm.topology, ws, dm.kernel_time_scale, dm.launch_us);
      in.source = "recorded workloads (" + workload_dir() + "/h100)";
    } else {
      in.profile.device = in.topo.name;
      in.profile.configs = in.topo.size_classes;
      for (unsigned c : in.topo.size_classes) in.profile.units.push_back(in.topo.units_of(c));
      const std::size_t counts[] = {1018, 700, 300, 50};
      for (std::size_t i = 0; i < 4; ++i)
        in.profile.models.push_back(synthetic(in.mix[i], counts[i], in.topo, static_cast<unsigned>(i + 1)));
      in.source = "synthetic profiles (no workloads found in " + workload_dir() + ")";
    }
    return in;
  }();
  return inst;
}

/// One worker of 1300 kernels (the recorded models' kernels in sequence, cut at 1300), alone
/// (`with_neighbour` false: no contention, so its optimum is trivially the whole device, but the
/// DP does the same work) or beside vgg19 (contention makes the plan non-trivial).
const Instance& big_worker(bool with_neighbour) {
  auto make = [](bool neighbour) {
    const Instance& four = four_workers();
    Instance in{four.topo, four.profile, {"big1300"}, four.source};
    eclip::ModelProfile big{"big1300", 6.0, {}};
    for (std::size_t i = 0; big.kernels.size() < 1300; ++i)
      for (const auto& k : four.profile.models[i % four.profile.models.size()].kernels)
        if (big.kernels.size() < 1300) big.kernels.push_back(k);
    in.profile.models.push_back(big);
    if (neighbour) in.mix.push_back("vgg19");
    return in;
  };
  static const Instance alone = make(false), beside = make(true);
  return with_neighbour ? beside : alone;
}

/// The 4-worker mix with each model cut to its first `n` kernels: instances GLPK can still
/// prove optimal, for a DP-to-MILP time ratio.
const Instance& four_workers_first(std::size_t n) {
  static std::map<std::size_t, Instance> cache;
  auto it = cache.find(n);
  if (it == cache.end()) {
    Instance in = four_workers();
    for (auto& m : in.profile.models)
      if (m.kernels.size() > n) m.kernels.resize(n);
    it = cache.emplace(n, std::move(in)).first;
  }
  return it->second;
}

void report(benchmark::State& state, const Instance& in, const eclip::OptimizerResult& r) {
  std::size_t kernels = 0;
  unsigned switches = 0;
  for (const auto& w : r.plan.workers) {
    kernels += w.kernel_count();
    switches += w.switches();
  }
  state.counters["kernels"] = static_cast<double>(kernels);
  state.counters["switches"] = switches;
  state.counters["masked_streams"] = r.masked_streams;
  state.counters["objective"] = r.objective;
  state.SetLabel(in.source);
}

void plan(benchmark::State& state, const Instance& in, eclip::SwitchBudget budget, eclip::Topology topo) {
  const eclip::Optimizer opt(std::move(topo));
  eclip::OptimizerResult r;
  for (auto _ : state) {
    r = opt.optimize(in.profile, in.mix, budget);
    // DoNotOptimize on a copy: benchmark 1.7's "+r,m" asm constraint can clobber a double in place.
    double sink = r.objective;
    benchmark::DoNotOptimize(sink);
  }
  report(state, in, r);
}

void BM_FourWorkers_MI50_Budget14(benchmark::State& state) {
  plan(state, four_workers(), eclip::SwitchBudget::per_request(14), four_workers().topo);
}
void BM_FourWorkers_MI50_Unlimited(benchmark::State& state) {
  plan(state, four_workers(), eclip::SwitchBudget::unlimited(), four_workers().topo);
}
void BM_FourWorkers_MI50_Budget14_SolveOnly(benchmark::State& state) {
  // A budget sweep rebuilds no model: only solve() per budget.
  const Instance& in = four_workers();
  const eclip::Optimizer opt(in.topo);
  const eclip::PlanningModel m = opt.model(in.profile, in.mix);
  eclip::OptimizerResult r;
  for (auto _ : state) {
    r = opt.solve(m, eclip::SwitchBudget::per_request(14));
    // DoNotOptimize on a copy: benchmark 1.7's "+r,m" asm constraint can clobber a double in place.
    double sink = r.objective;
    benchmark::DoNotOptimize(sink);
  }
  report(state, in, r);
}
void BM_OneWorker1300_MI50_Budget14(benchmark::State& state) {
  plan(state, big_worker(false), eclip::SwitchBudget::per_request(14), big_worker(false).topo);
}
void BM_OneWorker1300_MI50_Unlimited(benchmark::State& state) {
  plan(state, big_worker(false), eclip::SwitchBudget::unlimited(), big_worker(false).topo);
}
void BM_Worker1300BesideVgg19_MI50_Budget14(benchmark::State& state) {
  plan(state, big_worker(true), eclip::SwitchBudget::per_request(14), big_worker(true).topo);
}

void BM_FourWorkersFirstN_MI50_Budget14(benchmark::State& state) {
  const Instance& in = four_workers_first(static_cast<std::size_t>(state.range(0)));
  plan(state, in, eclip::SwitchBudget::per_request(14), in.topo);
}

BENCHMARK(BM_FourWorkers_MI50_Budget14)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FourWorkersFirstN_MI50_Budget14)->Unit(benchmark::kMillisecond)->Arg(25)->Arg(50)->Arg(100)->Arg(200);
BENCHMARK(BM_FourWorkers_MI50_Budget14_SolveOnly)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FourWorkers_MI50_Unlimited)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_OneWorker1300_MI50_Budget14)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_OneWorker1300_MI50_Unlimited)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Worker1300BesideVgg19_MI50_Budget14)->Unit(benchmark::kMillisecond);

#ifdef ECLIP_BENCH_HAVE_GLPK
/// GLPK on the same instance, once, capped at $ECLIP_BENCH_MILP_SECONDS (default 60 s). Counters:
/// optimal (1 = proved), objective, and rel_gap_to_dp = (MILP - DP) / DP (0 when both are optimal).
void milp(benchmark::State& state, const Instance& in, eclip::SwitchBudget budget) {
  const char* env = std::getenv("ECLIP_BENCH_MILP_SECONDS");
  const double cap = env ? std::atof(env) : 60.0;
  const eclip::Optimizer opt(in.topo);
  const double dp = opt.optimize(in.profile, in.mix, budget).objective;
  const eclip::oracle::Instance oi = eclip::oracle::build(in.profile, in.mix, in.topo, opt.options());
  eclip::oracle::MilpResult r;
  for (auto _ : state) r = eclip::oracle::solve_milp(oi, budget, cap);
  state.counters["optimal"] = r.optimal;
  state.counters["feasible"] = r.feasible;
  state.counters["objective"] = r.feasible ? r.objective : NAN;
  state.counters["rel_gap_to_dp"] = r.feasible ? (r.objective - dp) / dp : NAN;
  state.counters["time_cap_s"] = cap;
  state.counters["rows"] = r.rows;
  state.counters["cols"] = r.cols;
  state.SetLabel(in.source);
}
void BM_Milp_FourWorkers_MI50_Budget14(benchmark::State& state) {
  milp(state, four_workers(), eclip::SwitchBudget::per_request(14));
}
void BM_Milp_OneWorker1300_MI50_Budget14(benchmark::State& state) {
  milp(state, big_worker(false), eclip::SwitchBudget::per_request(14));
}
void BM_Milp_Worker1300BesideVgg19_MI50_Budget14(benchmark::State& state) {
  milp(state, big_worker(true), eclip::SwitchBudget::per_request(14));
}
void BM_Milp_FourWorkersFirstN_MI50_Budget14(benchmark::State& state) {
  milp(state, four_workers_first(static_cast<std::size_t>(state.range(0))), eclip::SwitchBudget::per_request(14));
}
BENCHMARK(BM_Milp_FourWorkersFirstN_MI50_Budget14)->Unit(benchmark::kMillisecond)->Iterations(1)->Arg(25)->Arg(50)->Arg(100)->Arg(200);
BENCHMARK(BM_Milp_OneWorker1300_MI50_Budget14)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(BM_Milp_Worker1300BesideVgg19_MI50_Budget14)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(BM_Milp_FourWorkers_MI50_Budget14)->Unit(benchmark::kMillisecond)->Iterations(1);
#endif

}  // namespace

BENCHMARK_MAIN();
