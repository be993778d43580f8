#include "eclip/model/colocation_sim.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include <nlohmann/json.hpp>

#include "eclip/core/stats.hpp"
#include "eclip/planner/objective.hpp"
#include "eclip/runtime/kernel_router.hpp"
#include "eclip/runtime/partition_pool.hpp"

namespace eclip {
namespace {

using json = nlohmann::json;

}  // namespace

void RunResult::normalize(const std::vector<double>& alone_rps) {
  if (alone_rps.size() != workers.size())
    throw Error(Errc::invalid_argument, fmt::format("normalize: {} reference throughputs for {} workers",
                                                    alone_rps.size(), workers.size()));
  std::vector<double> x;
  for (size_t w = 0; w < workers.size(); ++w) {
    workers[w].normalized = alone_rps[w] > 0 ? workers[w].throughput_rps / alone_rps[w] : 0;
    x.push_back(workers[w].normalized);
  }
  jain = eclip::jain(x);
}

RunResult simulate(const SimDeviceModel& dm, const Profile& profile, const std::vector<std::string>& models,
                   const std::string& mix_name, const StrategyPlan& sp, const RunOptions& opt) {
  if (!(opt.warmup_ms >= 0))
    throw Error(Errc::invalid_argument, fmt::format("simulate: warm-up {} ms must be >= 0", opt.warmup_ms));
  if (!(opt.duration_ms > opt.warmup_ms))
    throw Error(Errc::invalid_argument, fmt::format("simulate: duration {} ms must exceed warm-up {} ms",
                                                    opt.duration_ms, opt.warmup_ms));
  // An hour of simulated time is ~10^9 kernel events: far beyond any useful comparison.
  if (opt.duration_ms > 3.6e6)
    throw Error(Errc::invalid_argument,
                fmt::format("simulate: duration {} ms is more than an hour of simulated time (3600000 ms)", opt.duration_ms));
  if (!(opt.jitter >= 0 && opt.jitter < 1))
    throw Error(Errc::invalid_argument, fmt::format("simulate: jitter {} must be in [0, 1)", opt.jitter));
  const Topology& topo = dm.topology;
  const unsigned W = static_cast<unsigned>(models.size());
  if (sp.plan.workers.size() != W)
    throw Error(Errc::invalid_argument, fmt::format("simulate: plan has {} workers, mix {} has {}",
                                                    sp.plan.workers.size(), mix_name, W));
  SimDevice dev(dm);
  PartitionPool pool(dev, W, sp.plan.pool_specs(topo));
  KernelRouter router(pool, sp.plan, SwitchBudget::unlimited(), opt.observer);
  // The observer's clock reads `dev`: the run ends (also by an exception) before `dev` does.
  struct RunScope {
    Observer* observer;
    ~RunScope() {
      if (observer) observer->on_run_end();
    }
  } run_scope{opt.observer};
  if (opt.observer)
    opt.observer->on_run_begin(fmt::format("{} {} {}", topo.name, mix_name, to_string(sp.strategy)),
                               [&dev] { return dev.now_us(); });

  struct Worker {
    const ModelProfile* model;
    double host_cost_us;
    double next_host_us;
    bool waiting = false;
    std::uint32_t cursor = 0;
    std::uint32_t expect = 0;  // next kernel index to complete
    double request_start = 0;
    std::vector<double> latencies_ms;
    std::uint64_t remasks = 0;
    std::vector<CuMask> remask_masks;  // per kernel (remask strategy)
  };
  std::mt19937_64 rng(opt.seed);
  std::uniform_real_distribution<double> jitter(1.0 - opt.jitter, 1.0 + opt.jitter);
  std::vector<Worker> workers(W);
  for (unsigned w = 0; w < W; ++w) {
    Worker& wk = workers[w];
    wk.model = &profile.model(models[w]);
    if (wk.model->kernels.empty()) throw Error(Errc::invalid_argument, fmt::format("model {} has no kernels", models[w]));
    if (sp.plan.workers[w].kernel_count() != wk.model->kernels.size())
      throw Error(Errc::invalid_argument, fmt::format("plan worker {} covers {} kernels but {} has {}", w,
                                                      sp.plan.workers[w].kernel_count(), models[w],
                                                      wk.model->kernels.size()));
    wk.host_cost_us = std::max(dm.launch_us, wk.model->host_gap_us);
    // Staggered starts, so the workers do not march in lockstep.
    wk.next_host_us = std::uniform_real_distribution<double>(0, 100.0)(rng);
    if (sp.strategy == Strategy::remask)
      for (PartitionConfig c : sp.remask.at(w)) wk.remask_masks.push_back(c.mask(topo, topo.home_group(w, W)));
  }

  const double end_us = opt.duration_ms * 1000, warm_us = opt.warmup_ms * 1000;
  std::uint64_t order_violations = 0;
  dev.on_kernel_done = [&](std::uint64_t tag, double t) {
    Worker& wk = workers[tag >> 32];
    const auto k = static_cast<std::uint32_t>(tag & 0xffffffffU);
    if (k != wk.expect) ++order_violations;
    wk.expect = k + 1;
    if (k + 1 == wk.model->kernels.size()) {
      if (t >= warm_us) wk.latencies_ms.push_back((t - wk.request_start) / 1000);
      wk.waiting = false;
      wk.cursor = 0;
      wk.expect = 0;
      wk.next_host_us = t + wk.host_cost_us;  // the sync returns, the next request starts
    }
  };

  RouterCounters at_warmup;
  std::vector<RouterCounters> worker_at_warmup(W);
  double energy_at_warmup = 0;
  bool warmed = false;
  std::uint64_t remasks_at_warmup = 0;
  for (;;) {
    double th = std::numeric_limits<double>::infinity();
    unsigned who = 0;
    for (unsigned w = 0; w < W; ++w)
      if (!workers[w].waiting && workers[w].next_host_us < th) th = workers[w].next_host_us, who = w;
    const double td = dev.next_event_us();
    double t = std::min(th, td);
    if (!warmed && t >= warm_us) {
      dev.advance_to(warm_us);
      warmed = true;
      at_warmup = router.totals();
      for (unsigned w = 0; w < W; ++w) worker_at_warmup[w] = router.counters(w);
      energy_at_warmup = dev.energy_j();
      for (const Worker& wk : workers) remasks_at_warmup += wk.remasks;
      continue;
    }
    if (t > end_us) {
      dev.advance_to(end_us);
      break;
    }
    if (td <= th) {
      dev.advance_to(td);
      continue;
    }
    dev.advance_to(th);
    Worker& wk = workers[who];
    if (wk.cursor == 0) {
      router.begin_request(who);
      wk.request_start = th;
    }
    const std::uint32_t k = wk.cursor++;
    const KernelProfile& kp = wk.model->kernels[k];
    const RouteDecision d = router.route(who, kp.name.c_str());
    double cost = wk.host_cost_us;
    if (d.switched) cost += dm.switch_host_us;
    if (d.barrier) cost += dm.barrier_host_us;
    if (sp.strategy == Strategy::remask) {
      dev.remask_stream(d.stream, wk.remask_masks[k]);
      cost += dm.remask_us;
      ++wk.remasks;
    }
    dev.launch(d.stream, SimKernel{&profile.units, &kp.us, jitter(rng), (std::uint64_t{who} << 32) | k,
                                   static_cast<double>(kp.blocks), kp.energy_uj});
    if (wk.cursor == wk.model->kernels.size())
      wk.waiting = true;  // synchronise: the next request starts when the last kernel completes
    else
      wk.next_host_us = th + cost;
  }

  RunResult r;
  r.device = topo.name;
  r.mix = mix_name;
  r.strategy = sp.strategy;
  r.window_s = (end_us - warm_us) * 1e-6;
  r.energy_j = dev.energy_j() - energy_at_warmup;
  r.avg_power_w = r.energy_j / r.window_s;
  r.idle_power_w = dm.idle_power_w();
  const RouterCounters tot = router.totals();
  std::uint64_t total_requests = 0, remasks = 0;
  for (unsigned w = 0; w < W; ++w) {
    const Worker& wk = workers[w];
    WorkerResult wr;
    wr.model = models[w];
    wr.requests = wk.latencies_ms.size();
    wr.throughput_rps = static_cast<double>(wr.requests) / r.window_s;
    wr.p50_ms = percentile(wk.latencies_ms, 0.50);
    wr.p95_ms = percentile(wk.latencies_ms, 0.95);
    // Requests started after the warm-up, like every other figure.
    const RouterCounters c = router.counters(w), c0 = worker_at_warmup[w];
    const double reqs = std::max<double>(1.0, static_cast<double>(c.requests - c0.requests));
    wr.switches_per_request = static_cast<double>(c.switches - c0.switches) / reqs;
    wr.barriers_per_request = static_cast<double>(c.barriers - c0.barriers) / reqs;
    total_requests += wr.requests;
    remasks += wk.remasks;
    r.throughput_rps += wr.throughput_rps;
    r.workers.push_back(wr);
  }
  const double started = std::max<double>(1.0, static_cast<double>(tot.requests - at_warmup.requests));
  r.switches_per_request = static_cast<double>(tot.switches - at_warmup.switches) / started;
  r.barriers_per_request = static_cast<double>(tot.barriers - at_warmup.barriers) / started;
  r.remasks_per_request = static_cast<double>(remasks - remasks_at_warmup) / started;
  r.requests_per_joule = r.energy_j > 0 ? static_cast<double>(total_requests) / r.energy_j : 0;
  r.unrouted = tot.unrouted - at_warmup.unrouted;
  r.order_violations = order_violations;
  r.masked_streams = pool.masked_stream_count();
  r.kernels_launched = dev.kernels_launched();
  r.kernels_completed = dev.kernels_completed();
  return r;
}

std::vector<double> alone_throughputs(const SimDeviceModel& device, const Profile& profile,
                                      const std::vector<std::string>& models, const RunOptions& opt) {
  std::vector<double> out;
  RunOptions solo_opt = opt;
  solo_opt.observer = nullptr;  // the reference runs are not part of what is observed
  for (const std::string& m : models) {
    const std::vector<std::string> solo{m};
    StrategyPlan sp = make_strategy_plan(Strategy::baseline, solo, profile, device.topology);
    out.push_back(simulate(device, profile, solo, m, sp, solo_opt).throughput_rps);
  }
  return out;
}

nlohmann::json to_json(const RunResult& r) {
  json ws = json::array();
  for (const WorkerResult& w : r.workers)
    ws.push_back({{"model", w.model}, {"requests", w.requests}, {"throughput_rps", w.throughput_rps},
                  {"p50_ms", w.p50_ms}, {"p95_ms", w.p95_ms}, {"switches_per_request", w.switches_per_request},
                  {"barriers_per_request", w.barriers_per_request}, {"normalized_throughput", w.normalized}});
  return {{"device", r.device},
          {"mix", r.mix},
          {"strategy", to_string(r.strategy)},
          {"window_s", r.window_s},
          {"throughput_rps", r.throughput_rps},
          {"energy_j", r.energy_j},
          {"avg_power_w", r.avg_power_w},
          {"idle_power_w", r.idle_power_w},
          {"requests_per_joule", r.requests_per_joule},
          {"switches_per_request", r.switches_per_request},
          {"barriers_per_request", r.barriers_per_request},
          {"remasks_per_request", r.remasks_per_request},
          {"jain", r.jain},
          {"masked_streams", r.masked_streams},
          {"unrouted", r.unrouted},
          {"order_violations", r.order_violations},
          {"workers", ws}};
}

}  // namespace eclip
