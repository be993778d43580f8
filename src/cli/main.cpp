// eclip: the command-line tool. `eclip simulate` is the main job: co-location mixes under every
// strategy on the built-in simulated device, one table per mix.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "eclip/colocation.hpp"
#include "eclip/eclip.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

/// Where the recorded workloads are: --workloads, $ECLIP_WORKLOADS, the source tree, the install.
std::string workload_dir(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("ECLIP_WORKLOADS")) return env;
  if (fs::exists(ECLIP_WORKLOAD_DIR_BUILD)) return ECLIP_WORKLOAD_DIR_BUILD;
  return ECLIP_WORKLOAD_DIR_INSTALL;
}

eclip::Profile load_profile(const eclip::SimDeviceModel& dm, const std::string& dir,
                            const std::vector<eclip::Mix>& mixes) {
  std::vector<std::string> models;
  for (const auto& m : mixes)
    for (const auto& name : m.models)
      if (std::find(models.begin(), models.end(), name) == models.end()) models.push_back(name);
  std::vector<eclip::Workload> ws;
  for (const auto& name : models) {
    const fs::path p = fs::path(dir) / "h100" / (name + ".json");
    if (!fs::exists(p))
      throw eclip::Error(eclip::Errc::invalid_argument,
                         fmt::format("no workload for model \"{}\": {} does not exist (workloads are in {}/h100)", name,
                                     p.string(), dir));
    ws.push_back(eclip::Workload::load(p.string()));
  }
  return eclip::make_profile(dm.topology, ws, dm.kernel_time_scale, dm.launch_us);
}

std::string ratio(double x, double base) { return base > 0 ? fmt::format("{:.2f}x", x / base) : "-"; }

void print_table(const eclip::SimDeviceModel& dm, const eclip::Mix& mix, const std::vector<eclip::RunResult>& rs,
                 const eclip::RunOptions& opt) {
  fmt::print("\n== {} on simulated {}: {} ({} ms after {} ms warm-up, seed {}) ==\n", mix.name, dm.topology.name,
             fmt::join(mix.models, ", "), opt.duration_ms - opt.warmup_ms, opt.warmup_ms, opt.seed);
  fmt::print("{:<12} {:>9} {:>6} {:>7} {:>6} {:>7} {:>7} {:>7} {:>7} {:>5}", "strategy", "req/s", "xbase", "req/J",
             "xbase", "avg W", "sw/req", "bar/req", "IOCTL/r", "Jain");
  for (const auto& m : mix.models) fmt::print(" | {:>18}", m.substr(0, 18));
  fmt::print("\n{:<12} {:>9} {:>6} {:>7} {:>6} {:>7} {:>7} {:>7} {:>7} {:>5}", "", "", "", "", "", "", "", "", "", "");
  for (size_t i = 0; i < mix.models.size(); ++i) fmt::print(" | {:>18}", "req/s  p95 ms");
  fmt::print("\n");
  const eclip::RunResult& base = rs.front();
  for (const auto& r : rs) {
    fmt::print("{:<12} {:>9.1f} {:>6} {:>7.3f} {:>6} {:>7.1f} {:>7.1f} {:>7.1f} {:>7.1f} {:>5.3f}", to_string(r.strategy),
               r.throughput_rps, ratio(r.throughput_rps, base.throughput_rps), r.requests_per_joule,
               ratio(r.requests_per_joule, base.requests_per_joule), r.avg_power_w, r.switches_per_request,
               r.barriers_per_request, r.remasks_per_request, r.jain);
    for (const auto& w : r.workers) fmt::print(" | {:>8.1f} {:>9.2f}", w.throughput_rps, w.p95_ms);
    fmt::print("\n");
    if (r.unrouted || r.order_violations)
      fmt::print("  warning: {} unrouted launches, {} order violations\n", r.unrouted, r.order_violations);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"eclip: energy-efficient co-location of ML inference on spatially partitioned GPUs"};
  app.require_subcommand(1);

  std::string device = "mi50", mix_name = "all", mix_file, workloads, json_out;
  std::vector<std::string> strategy_names{"baseline", "model-wise", "kernel-wise", "remask"};
  eclip::RunOptions opt;
  bool as_json = false;
  auto* sim = app.add_subcommand("simulate", "co-location mixes under each strategy on the simulated device");
  sim->add_option("--device", device, "simulated device preset: mi50 or h100")->capture_default_str();
  sim->add_option("--mix", mix_name, "mix name (mix1..mix7) or all")->capture_default_str();
  sim->add_option("--mix-file", mix_file, "JSON file of mixes ({\"format\": \"eclip.mix\", ...})");
  sim->add_option("--duration-ms", opt.duration_ms, "simulated time per run, warm-up included")->capture_default_str();
  sim->add_option("--warmup-ms", opt.warmup_ms, "warm-up not counted in the results")->capture_default_str();
  sim->add_option("--seed", opt.seed, "seed for start offsets and kernel-time jitter")->capture_default_str();
  sim->add_option("--strategies", strategy_names, "strategies to compare (baseline first)")->capture_default_str();
  sim->add_option("--workloads", workloads, "folder holding h100/<model>.json (default: the bundled workloads)");
  sim->add_flag("--json", as_json, "print machine-readable JSON instead of tables");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }

  try {
    if (sim->parsed()) {
      const eclip::SimDeviceModel dm = eclip::SimDeviceModel::by_name(device);
      std::vector<eclip::Mix> all = eclip::Mix::defaults();
      if (!mix_file.empty()) {
        std::ifstream in(mix_file);
        if (!in) throw eclip::Error(eclip::Errc::invalid_argument, fmt::format("cannot open mix file \"{}\"", mix_file));
        json j = json::parse(in, nullptr, false);
        if (j.is_discarded()) throw eclip::Error(eclip::Errc::parse, fmt::format("{}: not valid JSON", mix_file));
        all = eclip::Mix::list_from_json(j);
      }
      std::vector<eclip::Mix> mixes;
      for (const auto& m : all)
        if (mix_name == "all" || m.name == mix_name) mixes.push_back(m);
      if (mixes.empty()) {
        std::vector<std::string> names;
        for (const auto& m : all) names.push_back(m.name);
        throw eclip::Error(eclip::Errc::invalid_argument,
                           fmt::format("unknown mix \"{}\" (known: {}, all)", mix_name, fmt::join(names, ", ")));
      }
      std::vector<eclip::Strategy> strategies;
      for (const auto& s : strategy_names) strategies.push_back(eclip::strategy_from_string(s));
      const eclip::Profile profile = load_profile(dm, workload_dir(workloads), mixes);

      json out = json::array();
      std::map<eclip::Strategy, std::vector<double>> thr_ratio, rpj_ratio;
      std::map<std::string, double> alone_cache;
      for (const auto& mix : mixes) {
        std::vector<double> alone;
        for (const auto& m : mix.models) {
          if (!alone_cache.count(m))
            alone_cache[m] = eclip::alone_throughputs(dm, profile, eclip::Mix{m, {m}}, opt).front();
          alone.push_back(alone_cache[m]);
        }
        std::vector<eclip::RunResult> rs;
        for (auto s : strategies) {
          auto sp = eclip::make_strategy_plan(s, mix, profile, dm.topology);
          rs.push_back(eclip::simulate(dm, profile, mix, sp, opt));
          rs.back().normalize(alone);
          thr_ratio[s].push_back(rs.back().throughput_rps / rs.front().throughput_rps);
          rpj_ratio[s].push_back(rs.back().requests_per_joule / rs.front().requests_per_joule);
          if (as_json) out.push_back(eclip::to_json(rs.back()));
        }
        if (!as_json) print_table(dm, mix, rs, opt);
      }
      if (as_json) {
        std::cout << out.dump(2) << "\n";
      } else if (mixes.size() > 1) {
        fmt::print("\n== mean over {} mixes, relative to {} (simulated {}; not a hardware measurement) ==\n",
                   mixes.size(), to_string(strategies.front()), dm.topology.name);
        fmt::print("{:<12} {:>12} {:>12}\n", "strategy", "throughput", "req/J");
        for (auto s : strategies) {
          auto mean = [](const std::vector<double>& v) {
            double x = 0;
            for (double d : v) x += d;
            return x / static_cast<double>(v.size());
          };
          fmt::print("{:<12} {:>+11.1f}% {:>+11.1f}%\n", to_string(s), 100 * (mean(thr_ratio[s]) - 1),
                     100 * (mean(rpj_ratio[s]) - 1));
        }
      }
    }
  } catch (const eclip::Error& e) {
    fmt::print(stderr, "eclip: error: {}\n", e.what());
    const bool usage = e.code() == eclip::Errc::invalid_argument || e.code() == eclip::Errc::parse;
    return usage ? 2 : 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "eclip: error: {}\n", e.what());
    return 1;
  }
  return 0;
}
