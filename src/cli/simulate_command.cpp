// `eclip simulate`: co-location mixes under each strategy on the simulated device, one table per
// mix (or JSON). A strategy that cannot run on a mix is reported in its row and the others still
// run; a window in which no request finished prints n/a, never 0 or nan.
#include <algorithm>
#include <cmath>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "eclip/model/colocation_planner.hpp"
#include "eclip/runtime/trace_observer.hpp"

#include "commands.hpp"
#include "errors.hpp"
#include "messages.hpp"
#include "inputs.hpp"
#include "output_files.hpp"
#include "progress.hpp"
#include "values.hpp"

using json = nlohmann::json;

namespace eclip::cli {
namespace {

struct SimulateOptions {
  CommonOptions common;
  std::vector<std::string> strategies{"baseline",     "model-wise",   "static-equal", "kernel-wise",
                                      "remask",       "eclip-budget", "eclip"};
  std::string duration_ms = "1000", warmup_ms = "100", seed = "1";
  bool sweep = false;
  CLI::Option* json_option = nullptr;
  std::string json_path;  ///< "" or "-": stdout
  std::string trace_path;  ///< "": no trace
};

/// One strategy on one mix: its result, or why it could not run.
struct Outcome {
  std::string mix;
  Strategy strategy = Strategy::baseline;
  std::string budget;  ///< the switch budget it planned under (eclip), else ""
  std::optional<RunResult> result;
  std::string error;
  /// The most switches within one request in any worker's plan: the switch budget's definition.
  unsigned plan_switches = 0;
};

const std::vector<const char*> kSweepBudgets{"0", "1", "2", "4", "8", "14", "32", "unlimited"};

Outcome run_one(const Inputs& in, const Profile& profile, const Mix& mix, Strategy s, const SwitchBudget& budget,
                const RunOptions& opt, const std::vector<double>& alone) {
  const bool budgeted = s == Strategy::eclip || s == Strategy::eclip_budget;
  Outcome o{mix.name, s, budgeted ? budget.to_string() : "", std::nullopt, "", 0};
  try {
      // eclip plans with the same simulation options the table reports, so the plan it picks is
      // the one the table shows best.
      ColocationPlanOptions co;
      co.run = opt;
      co.run.observer = nullptr;
      const StrategyPlan sp = make_plan(s, in.device, mix.models, profile, budget, in.tolerance, co);
      for (const WorkerPlan& w : sp.plan.workers) o.plan_switches = std::max(o.plan_switches, w.switches());
      RunResult r = simulate(in.device, profile, mix, sp, opt);
      r.normalize(alone);
      o.result = std::move(r);
    } catch (const Error& e) {
      o.error = e.what();
    }
    return o;
  }

  std::string num(double v, int precision) {
    return std::isfinite(v) ? fmt::format("{:.{}f}", v, precision) : std::string("n/a");
  }

  /// x / base as "1.23x"; n/a when either is missing, not finite or the base is 0.
  std::string ratio(double x, const Outcome& base, double base_value) {
    if (!base.result || !std::isfinite(x) || !std::isfinite(base_value) || base_value <= 0) return "n/a";
    return fmt::format("{:.2f}x", x / base_value);
  }

  std::uint64_t finished(const RunResult& r) {
    std::uint64_t n = 0;
    for (const WorkerResult& w : r.workers) n += w.requests;
    return n;
  }

  /// Warns about every worker whose window saw no finished request (its latency is n/a). Returns
  /// true when no request of any worker finished: the run has no results (a gap, exit 3).
  bool warn_empty_windows(const Outcome& o, const RunOptions& opt) {
    if (!o.result) return false;
    const std::string run = fmt::format("{} / {}{}", o.mix, to_string(o.strategy), o.budget.empty() ? "" : " budget " + o.budget);
    const double window = opt.duration_ms - opt.warmup_ms;
    if (finished(*o.result) == 0) {
      warn(fmt::format("{}: no request finished in the {:g} ms measured window: latencies, ratios and Jain are n/a "
                       "(lengthen --duration-ms)", run, window));
      return true;
    }
    for (const WorkerResult& w : o.result->workers)
      if (w.requests == 0)
        warn(fmt::format("{}: no request of {} finished in the {:g} ms measured window: its latency is n/a "
                         "(lengthen --duration-ms)", run, w.model, window));
    return false;
  }

  /// Jain's index is undefined when no request finished.
  double jain_or_nan(const RunResult& r) { return finished(r) ? r.jain : std::nan(""); }

  void print_legend(const std::string& reference, bool remask) {
    fmt::print("\nlegend:\n"
               "  req/s    requests finished per second of the measured window (warm-up excluded), all workers\n"
               "  xbase    ratio to the reference strategy ({}) on the same mix\n"
               "  req/J    requests per joule of the simulated device's energy\n"
               "  avg W    mean simulated power over the window\n"
               "  sw/req   partition switches per request as the router counts them: every change of stream,\n"
               "           including the change into the next request's first kernel, so it can exceed the\n"
               "           switch budget by up to 1\n"
               "  plan sw  most switches within one request in any worker's plan: the budget's definition\n"
               "           (adjacent kernel groups on different partitions); never above the budget\n"
               "  bar/req  cross-stream barriers (waits for the previous partition) per request\n",
               reference);
    if (remask) fmt::print("  IOCTL/r  CU-mask changes (remask IOCTLs) per request; remask strategy only\n");
    fmt::print("  Jain     Jain's fairness index over the workers' throughputs, each relative to the model alone on\n"
               "           the whole device (1 = equal shares)\n"
               "  p95 ms   95th-percentile request latency of the worker\n"
               "  n/a      undefined: no request finished in the window, or the reference could not run\n"
               "All figures are from the simulated device, not hardware measurements.\n");
  }

  void print_mix_table(const Inputs& in, const Mix& mix, const std::vector<Outcome>& rows, const RunOptions& opt) {
    fmt::print("\n== {} on simulated {}: {} ({:g} ms after {:g} ms warm-up, seed {}) ==\n", mix.name, in.device.topology.name,
               fmt::join(mix.models, ", "), opt.duration_ms - opt.warmup_ms, opt.warmup_ms, opt.seed);
    fmt::print("{:<12} {:>9} {:>6} {:>7} {:>6} {:>7} {:>7} {:>7} {:>7} {:>7} {:>5}", "strategy", "req/s", "xbase", "req/J",
               "xbase", "avg W", "sw/req", "plan sw", "bar/req", "IOCTL/r", "Jain");
    for (const auto& m : mix.models) fmt::print(" | {:>18}", m.substr(0, 18));
    fmt::print("\n{:<12} {:>9} {:>6} {:>7} {:>6} {:>7} {:>7} {:>7} {:>7} {:>7} {:>5}", "", "", "", "", "", "", "", "", "",
               "", "");
    for (size_t i = 0; i < mix.models.size(); ++i) fmt::print(" | {:>18}", "req/s  p95 ms");
    fmt::print("\n");
    const Outcome& base = rows.front();
    for (const Outcome& o : rows) {
      if (!o.result) {
        fmt::print("{:<12} cannot run on {}: {}\n", to_string(o.strategy), mix.name, o.error);
        continue;
      }
      const RunResult& r = *o.result;
      fmt::print("{:<12} {:>9} {:>6} {:>7} {:>6} {:>7} {:>7} {:>7} {:>7} {:>7} {:>5}", to_string(r.strategy),
                 num(r.throughput_rps, 1), ratio(r.throughput_rps, base, base.result ? base.result->throughput_rps : 0),
                 num(r.requests_per_joule, 3),
                 ratio(r.requests_per_joule, base, base.result ? base.result->requests_per_joule : 0), num(r.avg_power_w, 1),
                 num(r.switches_per_request, 1), o.plan_switches, num(r.barriers_per_request, 1),
                 num(r.remasks_per_request, 1), num(jain_or_nan(r), 3));
      for (const WorkerResult& w : r.workers)
        fmt::print(" | {:>8} {:>9}", num(w.throughput_rps, 1), w.requests ? num(w.p95_ms, 2) : "n/a");
      fmt::print("\n");
      if (r.unrouted || r.order_violations)
        fmt::print("  warning: {} unrouted launches, {} order violations\n", r.unrouted, r.order_violations);
    }
  }

  void print_sweep_table(const Inputs& in, const Mix& mix, const std::vector<Outcome>& rows) {
    fmt::print("\n== ECLIP switch-budget sweep, {} on simulated {} ({}), relative to baseline ==\n", mix.name,
               in.device.topology.name, fmt::join(mix.models, ", "));
    fmt::print("{:>10} {:>9} {:>6} {:>7} {:>6} {:>7} {:>7} {:>7} {:>5}\n", "budget", "req/s", "xbase", "req/J", "xbase",
               "sw/req", "plan sw", "bar/req", "Jain");
    const Outcome& base = rows.front();
    for (const Outcome& o : rows) {
      const std::string label = o.strategy == Strategy::baseline ? "baseline" : o.budget;
      if (!o.result) {
        fmt::print("{:>10} cannot run: {}\n", label, o.error);
        continue;
      }
      const RunResult& r = *o.result;
      fmt::print("{:>10} {:>9} {:>6} {:>7} {:>6} {:>7} {:>7} {:>7} {:>5}\n", label, num(r.throughput_rps, 1),
                 ratio(r.throughput_rps, base, base.result ? base.result->throughput_rps : 0), num(r.requests_per_joule, 3),
                 ratio(r.requests_per_joule, base, base.result ? base.result->requests_per_joule : 0),
                 num(r.switches_per_request, 1), o.plan_switches, num(r.barriers_per_request, 1), num(jain_or_nan(r), 3));
    }
  }

  void print_means(const Inputs& in, const std::vector<Strategy>& strategies, const std::vector<std::vector<Outcome>>& by_mix) {
    fmt::print("\n== mean over {} mixes, relative to {} (simulated {}; not a hardware measurement) ==\n", by_mix.size(),
               to_string(strategies.front()), in.device.topology.name);
    fmt::print("{:<12} {:>12} {:>12}  {}\n", "strategy", "throughput", "req/J", "mixes");
    for (size_t s = 0; s < strategies.size(); ++s) {
      double thr = 0, rpj = 0;
      unsigned n = 0;
      for (const auto& rows : by_mix) {
        const Outcome &base = rows.front(), &o = rows[s];
        if (!base.result || !o.result) continue;
        const double t = o.result->throughput_rps / base.result->throughput_rps;
        const double e = o.result->requests_per_joule / base.result->requests_per_joule;
        if (!std::isfinite(t) || !std::isfinite(e)) continue;
        thr += t, rpj += e, ++n;
      }
      if (n == 0)
        fmt::print("{:<12} {:>12} {:>12}  none could be compared\n", to_string(strategies[s]), "n/a", "n/a");
      else
        fmt::print("{:<12} {:>+11.1f}% {:>+11.1f}%  {} of {}\n", to_string(strategies[s]), 100 * (thr / n - 1),
                   100 * (rpj / n - 1), n, by_mix.size());
    }
  }

  /// Non-finite numbers become null (undefined, never 0); so do a worker's latencies when no request
  /// of it finished.
  json outcome_json(const Outcome& o) {
    json j = to_json(*o.result);
    for (auto& [k, v] : j.items())
      if (v.is_number_float() && !std::isfinite(v.get<double>())) v = nullptr;
    for (size_t w = 0; w < o.result->workers.size(); ++w) {
      json& wj = j["workers"][w];
      for (auto& [k, v] : wj.items())
        if (v.is_number_float() && !std::isfinite(v.get<double>())) v = nullptr;
      if (o.result->workers[w].requests == 0) wj["p50_ms"] = wj["p95_ms"] = nullptr;
    }
    if (finished(*o.result) == 0) j["jain"] = nullptr;
    if (!o.budget.empty()) j["budget"] = o.budget;
    j["plan_switches_per_request_max"] = o.plan_switches;
    return j;
  }

  int run(const SimulateOptions& o) {
    const Inputs in = read_inputs(o.common);
    RunOptions opt;
    opt.duration_ms = parse_real("--duration-ms", o.duration_ms, 0.0, std::numeric_limits<double>::infinity());
    opt.warmup_ms = parse_real("--warmup-ms", o.warmup_ms, 0.0, std::numeric_limits<double>::infinity());
    opt.seed = parse_unsigned("--seed", o.seed, 0, std::numeric_limits<std::uint64_t>::max());
    if (opt.duration_ms <= opt.warmup_ms)
      throw UsageError(fmt::format("--duration-ms {} must exceed warm-up --warmup-ms {}", o.duration_ms, o.warmup_ms));
    std::vector<std::string> dup;
    const std::vector<std::string> names = unique_items(o.strategies, dup);
    if (!dup.empty()) note(fmt::format("--strategies lists {} more than once; each runs once", fmt::join(dup, ", ")));
    if (names.empty()) throw UsageError("--strategies: no strategy named");
    std::vector<Strategy> strategies;
    for (const std::string& s : names) {
      try {
        strategies.push_back(strategy_from_string(s));
      } catch (const Error& e) {
        throw UsageError(e.what());
      }
    }
    const bool as_json = o.json_option->count() > 0;
    const bool json_to_stdout = as_json && (o.json_path.empty() || o.json_path == "-");
    if (as_json && !json_to_stdout) OutputFiles::check_target("--json", o.json_path);
    // Further output files are checked here and staged in `files`, committed together.
    OutputFiles files;
    // --trace: every routed launch of every run, in simulated time. The observer writes a temporary
    // beside the target and renames it at close(); on any failure it is discarded (old file intact).
    std::unique_ptr<TraceObserver> trace;
    if (!o.trace_path.empty()) {
      OutputFiles::check_target("--trace", o.trace_path);
      trace = std::make_unique<TraceObserver>(o.trace_path);
      opt.observer = trace.get();
    }
    try {

    const Profile profile = read_profile(o.common, in);
    std::map<std::string, double> alone_cache;
    auto alone_of = [&](const Mix& mix) {
      std::vector<double> alone;
      for (const auto& m : mix.models) {
        if (!alone_cache.count(m)) alone_cache[m] = alone_throughputs(in.device, profile, Mix{m, {m}}, opt).front();
        alone.push_back(alone_cache[m]);
      }
      return alone;
    };

    const size_t per_mix = o.sweep ? kSweepBudgets.size() + 1 : strategies.size();
    Progress progress(static_cast<unsigned>(in.mixes.size() * per_mix));
    std::vector<std::vector<Outcome>> by_mix;
    bool gaps = false;
    for (const Mix& mix : in.mixes) {
      const std::vector<double> alone = alone_of(mix);
      std::vector<Outcome> rows;
      if (o.sweep) {
        rows.push_back(run_one(in, profile, mix, Strategy::baseline, in.budget, opt, alone));
        progress.step(fmt::format("{} baseline", mix.name));
        for (const char* b : kSweepBudgets) {
          rows.push_back(run_one(in, profile, mix, Strategy::eclip_budget, parse_budget("budget", b), opt, alone));
          progress.step(fmt::format("{} eclip-budget budget {}", mix.name, b));
        }
      } else {
        for (Strategy s : strategies) {
          rows.push_back(run_one(in, profile, mix, s, in.budget, opt, alone));
          progress.step(fmt::format("{} {}", mix.name, to_string(s)));
        }
      }
      for (const Outcome& r : rows) {
        if (!r.result) {
          gaps = true;
          warn(fmt::format("{} cannot run on {}: {}", to_string(r.strategy), mix.name, r.error));
        }
        gaps |= warn_empty_windows(r, opt);
      }
      if (!json_to_stdout) {
        if (o.sweep)
          print_sweep_table(in, mix, rows);
        else
          print_mix_table(in, mix, rows, opt);
      }
      by_mix.push_back(std::move(rows));
    }
    if (!json_to_stdout) {
      if (!o.sweep && in.mixes.size() > 1) print_means(in, strategies, by_mix);
      const bool remask = !o.sweep && std::find(strategies.begin(), strategies.end(), Strategy::remask) != strategies.end();
      print_legend(o.sweep ? "baseline" : to_string(strategies.front()), remask);
    }
    if (as_json) {
      const Topology& t = in.device.topology;
      json doc = {{"format", "eclip.simulate"},
                  {"version", 1},
                  {"simulated", true},
                  {"device", {{"preset", lower(o.common.device)}, {"name", t.name}, {"units", t.units()},
                              {"groups", t.group_count()}, {"max_masked_streams", t.max_masked_streams}}},
                  {"options", {{"duration_ms", opt.duration_ms}, {"warmup_ms", opt.warmup_ms}, {"seed", opt.seed},
                               {"budget", in.budget.to_string()}, {"tolerance", in.tolerance}, {"sweep", o.sweep}}},
                  {"switches_counted",
                   "switches_per_request: every change of stream, including into the next request's first kernel; "
                   "plan_switches_per_request_max: within one request (the budget's definition)"}};
      json results = json::array(), failures = json::array();
      for (const auto& rows : by_mix)
        for (const Outcome& r : rows) {
          if (r.result)
            results.push_back(outcome_json(r));
          else
            failures.push_back({{"mix", r.mix}, {"strategy", to_string(r.strategy)}, {"error", r.error}});
        }
      doc["results"] = std::move(results);
      doc["failures"] = std::move(failures);
      if (json_to_stdout)
        std::cout << doc.dump(2) << "\n";
      else
        files.stage(o.json_path, doc.dump(2) + "\n");
    }
    files.commit();
    if (trace) trace->close();
    return gaps ? kGaps : kOk;
  } catch (...) {
    if (trace) trace->discard();
    throw;
  }
}

}  // namespace

std::function<int()> add_simulate(CLI::App& app) {
  auto o = std::make_shared<SimulateOptions>();
  CLI::App* sim = app.add_subcommand("simulate", "co-location mixes under each strategy on the simulated device");
  add_common_options(sim, o->common);
  sim->add_option("--duration-ms", o->duration_ms, "simulated time per run, warm-up included")->capture_default_str();
  sim->add_option("--warmup-ms", o->warmup_ms, "warm-up not counted in the results")->capture_default_str();
  sim->add_option("--seed", o->seed, "seed for start offsets and kernel-time jitter (0 to 2^64-1)")->capture_default_str();
  sim->add_option("--strategies", o->strategies,
                  "strategies to compare, space- or comma-separated (the first is the reference)")
      ->delimiter(',')
      ->capture_default_str();
  sim->add_flag("--sweep-budget", o->sweep, "ECLIP at budgets 0,1,2,4,8,14,32,unlimited, for each mix");
  o->json_option = sim->add_option("--json", o->json_path,
                                   "write {\"format\": \"eclip.simulate\", ...} JSON: to FILE (tables still printed), "
                                   "or to stdout instead of the tables when no FILE or -")
                       ->expected(0, 1);
  sim->add_option("--trace", o->trace_path,
                  "write a Chrome/Perfetto trace (ui.perfetto.dev) of every routed launch, in simulated time, to FILE");
  return [o] { return run(*o); };
}

}  // namespace eclip::cli
