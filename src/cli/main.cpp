// eclip: the command-line tool. `eclip simulate` is the main job: co-location mixes under every
// strategy on the built-in simulated device, one table per mix.
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "eclip/experiments/colocation.hpp"
#include "eclip/eclip.hpp"
#include "eclip/planner/optimizer.hpp"

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

std::vector<eclip::Mix> select_mixes(const std::string& mix_name, const std::string& mix_file) {
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
  return mixes;
}

/// "unlimited" or a count >= 0; errors name the value.
eclip::SwitchBudget parse_budget(const std::string& text) {
  if (text == "unlimited") return eclip::SwitchBudget::unlimited();
  long long v = 0;
  size_t used = 0;
  try {
    v = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || text.empty())
    throw eclip::Error(eclip::Errc::invalid_argument,
                       fmt::format("--budget \"{}\" is not a number of switches or \"unlimited\"", text));
  return eclip::SwitchBudget::per_request(v);
}

/// Writes `j` to `path`, or throws naming the path when it cannot be written completely.
void write_json(const std::string& path, const json& j) {
  std::ofstream out(path);
  if (!out) throw eclip::Error(eclip::Errc::invalid_argument, fmt::format("cannot write \"{}\"", path));
  out << j.dump(1) << "\n";
  out.close();
  if (!out) throw eclip::Error(eclip::Errc::invalid_argument, fmt::format("writing \"{}\" failed", path));
}

/// The mix a one-mix command works on: --mix, or with the default "all" the first mix of
/// --mix-file (or mix1 of the defaults).
std::string single_mix_name(const std::string& mix_name, const std::string& mix_file) {
  if (mix_name != "all") return mix_name;
  return mix_file.empty() ? "mix1" : select_mixes("all", mix_file).front().name;
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

struct Common {
  std::string device = "mi50", mix_name = "all", mix_file, workloads, budget = "14";
  double tolerance = eclip::kDefaultThresholdTolerance;
};

void add_common(CLI::App* cmd, Common& c) {
  cmd->add_option("--device", c.device, "simulated device preset: mi50 or h100")->capture_default_str();
  cmd->add_option("--mix", c.mix_name, "mix name (mix1..mix7) or all")->capture_default_str();
  cmd->add_option("--mix-file", c.mix_file, "JSON file of mixes ({\"format\": \"eclip.mix\", ...})");
  cmd->add_option("--workloads", c.workloads, "folder holding h100/<model>.json (default: the bundled workloads)");
  cmd->add_option("--budget", c.budget, "ECLIP's switch budget per request: a count or unlimited")->capture_default_str();
  cmd->add_option("--tolerance", c.tolerance,
                  "minimum-units threshold: the smallest partition within this fraction of the whole-device time")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
}

/// A profile file (e.g. `eclip profile`'s kernel groups measured on the device) used as is: it must
/// be for the simulated device's topology and size classes.
eclip::Profile load_profile_file(const eclip::SimDeviceModel& dm, const std::string& path) {
  eclip::Profile p = eclip::Profile::load(path);
  std::vector<unsigned> units;
  for (unsigned g : dm.topology.size_classes) units.push_back(dm.topology.units_of(g));
  if (p.device != dm.topology.name || p.configs != dm.topology.size_classes || p.units != units)
    throw eclip::Error(eclip::Errc::invalid_argument,
                       fmt::format("--profile {}: made for device {} with configs {} (units {}), but the simulated "
                                   "device is {} with size classes {} (units {}) (pass --device to match)",
                                   path, p.device, p.configs, p.units, dm.topology.name, dm.topology.size_classes, units));
  return p;
}

int run_simulate(const Common& c, std::vector<std::string> strategy_names, const eclip::RunOptions& opt, bool as_json,
                 bool sweep, const std::string& profile_path) {
  const eclip::SimDeviceModel dm = eclip::SimDeviceModel::by_name(c.device);
  const std::vector<eclip::Mix> mixes =
      select_mixes(sweep ? single_mix_name(c.mix_name, c.mix_file) : c.mix_name, c.mix_file);
  const eclip::SwitchBudget budget = parse_budget(c.budget);
  std::vector<eclip::Strategy> strategies;
  for (const auto& s : strategy_names) strategies.push_back(eclip::strategy_from_string(s));
  const eclip::Profile profile =
      profile_path.empty() ? load_profile(dm, workload_dir(c.workloads), mixes) : load_profile_file(dm, profile_path);

  json out = json::array();
  std::map<std::string, double> alone_cache;
  auto alone_of = [&](const eclip::Mix& mix) {
    std::vector<double> alone;
    for (const auto& m : mix.models) {
      if (!alone_cache.count(m)) alone_cache[m] = eclip::alone_throughputs(dm, profile, eclip::Mix{m, {m}}, opt).front();
      alone.push_back(alone_cache[m]);
    }
    return alone;
  };

  if (sweep) {
    const eclip::Mix& mix = mixes.front();
    const std::vector<double> alone = alone_of(mix);
    auto base_plan = eclip::make_strategy_plan(eclip::Strategy::baseline, mix, profile, dm.topology);
    eclip::RunResult base = eclip::simulate(dm, profile, mix, base_plan, opt);
    base.normalize(alone);
    if (!as_json) {
      fmt::print("== ECLIP switch-budget sweep, {} on simulated {} ({}), relative to baseline ==\n", mix.name,
                 dm.topology.name, fmt::join(mix.models, ", "));
      fmt::print("{:>10} {:>9} {:>6} {:>7} {:>6} {:>7} {:>7} {:>5}\n", "budget", "req/s", "xbase", "req/J", "xbase",
                 "sw/req", "bar/req", "Jain");
      fmt::print("{:>10} {:>9.1f} {:>6} {:>7.3f} {:>6} {:>7.1f} {:>7.1f} {:>5.3f}\n", "baseline", base.throughput_rps,
                 "1.00x", base.requests_per_joule, "1.00x", 0.0, 0.0, base.jain);
    }
    for (const char* b : {"0", "1", "2", "4", "8", "14", "32", "unlimited"}) {
      auto sp = eclip::make_strategy_plan(eclip::Strategy::eclip, mix, profile, dm.topology, parse_budget(b), c.tolerance);
      eclip::RunResult r = eclip::simulate(dm, profile, mix, sp, opt);
      r.normalize(alone);
      if (as_json) {
        json j = eclip::to_json(r);
        j["budget"] = b;
        out.push_back(j);
      } else {
        fmt::print("{:>10} {:>9.1f} {:>6} {:>7.3f} {:>6} {:>7.1f} {:>7.1f} {:>5.3f}\n", b, r.throughput_rps,
                   ratio(r.throughput_rps, base.throughput_rps), r.requests_per_joule,
                   ratio(r.requests_per_joule, base.requests_per_joule), r.switches_per_request, r.barriers_per_request,
                   r.jain);
      }
    }
    if (as_json) std::cout << out.dump(2) << "\n";
    return 0;
  }

  std::map<eclip::Strategy, std::vector<double>> thr_ratio, rpj_ratio;
  for (const auto& mix : mixes) {
    const std::vector<double> alone = alone_of(mix);
    std::vector<eclip::RunResult> rs;
    for (auto s : strategies) {
      auto sp = eclip::make_strategy_plan(s, mix, profile, dm.topology, budget, c.tolerance);
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
    fmt::print("\n== mean over {} mixes, relative to {} (simulated {}; not a hardware measurement) ==\n", mixes.size(),
               to_string(strategies.front()), dm.topology.name);
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
  return 0;
}

int run_plan(const Common& c, const std::string& profile_path, const std::string& save_profile,
             const std::string& out_path) {
  const eclip::SimDeviceModel dm = eclip::SimDeviceModel::by_name(c.device);
  const eclip::SwitchBudget budget = parse_budget(c.budget);  // before anything is written
  const std::vector<eclip::Mix> mixes = select_mixes(single_mix_name(c.mix_name, c.mix_file), c.mix_file);
  const eclip::Mix& mix = mixes.front();
  const eclip::Profile profile =
      profile_path.empty() ? load_profile(dm, workload_dir(c.workloads), mixes) : load_profile_file(dm, profile_path);
  if (!save_profile.empty()) {
    write_json(save_profile, profile.to_json());
    fmt::print("wrote profile {} ({} models on {})\n", save_profile, profile.models.size(), profile.device);
  }
  eclip::OptimizerOptions oo;
  oo.threshold_tolerance = c.tolerance;
  const eclip::Optimizer opt(dm.topology, oo);
  const eclip::OptimizerResult r = opt.optimize(profile, mix.models, budget);
  fmt::print("ECLIP plan for {} on {} (budget {}, tolerance {}): objective {:.4f} (sum of estimated slowdowns), {} of {} masked streams\n",
             mix.name, dm.topology.name, budget.to_string(), c.tolerance, r.objective, r.masked_streams,
             dm.topology.max_masked_streams);
  fmt::print("{:<20} {:>8} {:>9} {:>8} {:>10} {:>12}\n", "worker", "kernels", "switches", "streams", "slowdown", "est. ms");
  for (size_t w = 0; w < r.workers.size(); ++w)
    fmt::print("{:<20} {:>8} {:>9} {:>8} {:>10.3f} {:>12.3f}\n", r.workers[w].model, r.plan.workers[w].kernel_count(),
               r.workers[w].switches, r.workers[w].masked_streams, r.workers[w].slowdown, r.workers[w].time_us / 1000);
  if (!out_path.empty()) {
    // Kernel names let the transparent interposer match launches by name (docs/transparent.md).
    // Only for NVIDIA: the profiles here are recordings of CUDA kernels; an AMD plan projected
    // from them would name kernels the HIP program never launches.
    eclip::Plan plan = r.plan;
    if (dm.topology.vendor == eclip::Vendor::nvidia)
      for (eclip::WorkerPlan& w : plan.workers) {
        const eclip::ModelProfile& mp = profile.model(w.model);
        if (mp.kernels.size() != w.kernel_count()) continue;
        for (const eclip::KernelProfile& k : mp.kernels) w.kernel_names.push_back(k.name);
      }
    write_json(out_path, plan.to_json(dm.topology));
    fmt::print("wrote {}\n", out_path);
  }
  return 0;
}

/// The folder of this executable (/proc/self/exe), or "" where it cannot be read.
fs::path self_dir() {
  std::error_code ec;
  const fs::path p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : p.parent_path();
}

/// tools/h100_colocation: --tool's folder, $ECLIP_TOOLS, the source tree, the install's share dir.
fs::path locate_profile_tool(const std::string& flag) {
  const char* script = "profile_groups.py";
  if (!flag.empty()) return flag;
  std::vector<fs::path> tried;
  if (const char* env = std::getenv("ECLIP_TOOLS")) tried.push_back(fs::path(env) / "h100_colocation" / script);
  tried.push_back(fs::path(ECLIP_WORKLOAD_DIR_BUILD).parent_path() / "tools" / "h100_colocation" / script);
  tried.push_back(fs::path(ECLIP_WORKLOAD_DIR_INSTALL).parent_path() / "tools" / "h100_colocation" / script);
  for (const auto& p : tried)
    if (fs::exists(p)) return p;
  std::vector<std::string> names;
  for (const auto& p : tried) names.push_back(p.string());
  throw eclip::Error(eclip::Errc::unavailable,
                     fmt::format("eclip profile: cannot find the profiling tool (tried {}); pass --tool PATH",
                                 fmt::join(names, ", ")));
}

/// libeclip_c for the tool: --lib, $ECLIP_C_LIB, beside this executable (build tree or install).
std::string locate_c_library(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("ECLIP_C_LIB")) return env;
  const fs::path here = self_dir();
  if (here.empty()) return "";
  for (const fs::path& p : {here / "src" / "c_api" / "libeclip_c.so", here.parent_path() / "lib" / "libeclip_c.so"})
    if (fs::exists(p)) return p.string();
  return "";
}

/// `eclip profile`: runs tools/h100_colocation/profile_groups.py with python3 and returns its exit
/// code. The tool checks PyTorch, the GPU and libeclip_c's cuda backend itself and says which is
/// missing; a missing interpreter is reported here.
int run_profile(const std::string& python, const std::string& tool_flag, const std::string& lib_flag,
                const std::vector<std::string>& tool_args) {
  const fs::path tool = locate_profile_tool(tool_flag);
  std::vector<std::string> args{python, tool.string()};
  const std::string lib = locate_c_library(lib_flag);
  if (!lib.empty()) {
    args.push_back("--lib");
    args.push_back(lib);
  }
  args.insert(args.end(), tool_args.begin(), tool_args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::fflush(stdout);
  pid_t pid = 0;
  if (int rc = posix_spawnp(&pid, python.c_str(), nullptr, nullptr, argv.data(), environ); rc != 0)
    throw eclip::Error(eclip::Errc::unavailable,
                       fmt::format("eclip profile: cannot run {}: {} (the profiler needs Python 3 with PyTorch and "
                                   "an NVIDIA GPU; pass --python PATH)",
                                   python, std::strerror(rc)));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) throw eclip::Error(eclip::Errc::backend, fmt::format("waitpid: {}", std::strerror(errno)));
  if (WIFEXITED(status)) {
    const int code = WEXITSTATUS(status);
    if (code == 127)
      throw eclip::Error(eclip::Errc::unavailable, fmt::format("eclip profile: cannot run {} (exit 127)", python));
    return code;
  }
  throw eclip::Error(eclip::Errc::backend, fmt::format("eclip profile: {} {} was killed by signal {}", python,
                                                       tool.string(), WIFSIGNALED(status) ? WTERMSIG(status) : 0));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"eclip: energy-efficient co-location of ML inference on spatially partitioned GPUs"};
  app.require_subcommand(1);

  Common sim_c, plan_c;
  std::vector<std::string> strategy_names{"baseline", "model-wise", "kernel-wise", "remask", "eclip"};
  eclip::RunOptions opt;
  bool as_json = false, sweep = false;
  auto* sim = app.add_subcommand("simulate", "co-location mixes under each strategy on the simulated device");
  add_common(sim, sim_c);
  sim->add_option("--duration-ms", opt.duration_ms, "simulated time per run, warm-up included")->capture_default_str();
  sim->add_option("--warmup-ms", opt.warmup_ms, "warm-up not counted in the results")->capture_default_str();
  sim->add_option("--seed", opt.seed, "seed for start offsets and kernel-time jitter")->capture_default_str();
  sim->add_option("--strategies", strategy_names, "strategies to compare, space- or comma-separated (the first is the reference)")
      ->delimiter(',')
      ->capture_default_str();
  sim->add_flag("--sweep-budget", sweep, "ECLIP at budgets 0,1,2,4,8,14,32,unlimited for one mix (default mix1)");
  sim->add_flag("--json", as_json, "print machine-readable JSON instead of tables");
  std::string sim_profile;
  sim->add_option("--profile", sim_profile,
                  "profile JSON to simulate as is, e.g. from `eclip profile` (default: the bundled workloads "
                  "projected on --device)");

  std::string profile_path, save_profile, out_path;
  auto* plan = app.add_subcommand("plan", "the optimizer's plan for one mix, as versioned JSON");
  add_common(plan, plan_c);
  plan->add_option("--profile", profile_path, "profile JSON (default: the bundled workloads projected on --device)");
  plan->add_option("--save-profile", save_profile, "also write the profile used");
  plan->add_option("-o,--output", out_path, "write the plan here");

  std::string python = "python3", tool_path, lib_path, models, batches = "1,8", profile_out = "profile_h100";
  int reps = 0;
  std::vector<std::string> extra;
  auto* prof = app.add_subcommand(
      "profile", "measure real models' kernel groups at each partition size on the NVIDIA GPU (needs python3, "
                 "PyTorch and the GPU): writes eclip.profile JSON, one file per batch size");
  prof->add_option("--out", profile_out, "output folder (profile_b<batch>.json, log)")->capture_default_str();
  prof->add_option("--models", models, "comma-separated models (default: the paper's seven)");
  prof->add_option("--batches", batches, "comma-separated batch sizes")->capture_default_str();
  prof->add_option("--reps", reps, "timed repetitions per config (default: the tool's)");
  prof->add_option("--python", python, "Python interpreter with PyTorch")->capture_default_str();
  prof->add_option("--tool", tool_path, "profile_groups.py (default: found in the source tree or the install)");
  prof->add_option("--lib", lib_path, "libeclip_c.so built with the CUDA backend (default: beside eclip)");
  prof->add_option("extra", extra, "further arguments for the tool, after --");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }

  try {
    if (sim->parsed()) return run_simulate(sim_c, strategy_names, opt, as_json, sweep, sim_profile);
    if (prof->parsed()) {
      std::vector<std::string> args{"--out", profile_out, "--batches", batches};
      if (!models.empty()) args.insert(args.end(), {"--models", models});
      if (reps > 0) args.insert(args.end(), {"--reps", std::to_string(reps)});
      args.insert(args.end(), extra.begin(), extra.end());
      return run_profile(python, tool_path, lib_path, args);
    }
    if (plan->parsed()) return run_plan(plan_c, profile_path, save_profile, out_path);
  } catch (const eclip::Error& e) {
    fmt::print(stderr, "eclip: error: {}\n", e.what());
    const bool usage = e.code() == eclip::Errc::invalid_argument || e.code() == eclip::Errc::parse ||
                       e.code() == eclip::Errc::capacity;
    return usage ? 2 : 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "eclip: error: {}\n", e.what());
    return 1;
  }
  return 0;
}
