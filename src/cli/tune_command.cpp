// `eclip tune`: the closed loop that picks a co-location plan by measuring candidates.
//
//   --backend cuda (default): the real models on the NVIDIA GPU, through the Python package
//     (`<python> -m eclip.torch.tune`, as `eclip profile` runs the profiler).
//   --backend sim: the same search (eclip/planner/search.hpp) against the simulated device, each
//     candidate "measured" by a simulation with its own seed (so run-to-run jitter plays the role
//     of measurement noise), for each mix asked for: what the loop does, without a GPU.
// Writes tune_<mix>.json (every configuration tried with its measurement, the time it took, why
// it stopped; format "eclip.search") and plan_<mix>.json (the best plan) into --out.
#include <algorithm>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "eclip/model/colocation_planner.hpp"
#include "errors.hpp"
#include "inputs.hpp"
#include "messages.hpp"
#include "output_files.hpp"
#include "python_module.hpp"
#include "values.hpp"

namespace fs = std::filesystem;

namespace eclip::cli {
namespace {

struct TuneOptions {
  CommonOptions common;
  std::string backend = "cuda", objective = "throughput", out = "tune_out", noise = "0.02", time_limit = "60",
              segments = "2", window_ms = "300", python = "python3", lib, models, batch = "1", jain_floor = "baseline",
              p95_limit = "none", confirm = "2", reference = "3";
  std::vector<std::string> extra;
};

/// --p95-limit: none (no limit), baseline (the mean over Baseline's windows of its slowest worker's
/// p95, for every worker), or milliseconds: one number for every worker or one per worker,
/// comma-separated.
std::vector<double> p95_limits(const std::string& text, const std::vector<Evaluation>& baseline, std::size_t workers) {
  if (text == "none") return {};
  if (text == "baseline") {
    double sum = 0;
    for (const Evaluation& window : baseline) {
      double slowest = 0;
      for (double p : window.p95_ms) slowest = std::max(slowest, p);
      sum += slowest;
    }
    return std::vector<double>(workers, sum / static_cast<double>(baseline.size()));
  }
  std::vector<double> out;
  std::size_t at = 0;
  while (at <= text.size()) {
    const std::size_t comma = std::min(text.find(',', at), text.size());
    out.push_back(parse_real("--p95-limit", text.substr(at, comma - at), 1e-6, 1e9));
    at = comma + 1;
  }
  if (out.size() == 1) out.resize(workers, out.front());
  if (out.size() != workers)
    throw UsageError(fmt::format("--p95-limit \"{}\": {} limits for {} workers (give one, or one per worker)", text,
                                 out.size(), workers));
  return out;
}

int run_sim(const TuneOptions& o) {
  const Inputs in = read_inputs(o.common);
  const Profile profile = read_profile(o.common, in);
  ObjectiveKind kind;
  try {
    kind = objective_from_string(o.objective);
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
  SearchOptions so;
  so.noise = parse_real("--noise", o.noise, 0, 1);
  so.time_limit_s = parse_real("--time-limit", o.time_limit, 0, 86400);
  so.confirm = static_cast<unsigned>(parse_unsigned("--confirm", o.confirm, 0, 64));
  const auto reference = static_cast<unsigned>(parse_unsigned("--reference", o.reference, 1, 64));
  const unsigned segments = static_cast<unsigned>(parse_unsigned("--segments", o.segments, 1, 64));
  const double window_ms = parse_real("--window-ms", o.window_ms, 1, 1e7);
  if (o.out.empty()) throw UsageError("--out: empty folder name");
  std::error_code ec;
  fs::create_directories(o.out, ec);
  if (ec) throw UsageError(fmt::format("--out \"{}\": cannot create the folder: {}", o.out, ec.message()));
  OutputFiles files;
  for (const Mix& mix : in.mixes) {
    const PlanSpace space = plan_space(in.device.topology, profile, mix.models, segments, in.budget);
    RunOptions run;
    run.duration_ms = window_ms + 50;
    run.warmup_ms = 50;
    Objective objective;
    objective.kind = kind;
    objective.alone_rps = alone_throughputs(in.device, profile, mix.models, run);
    std::uint64_t seed = 1;
    auto measure = [&](const Candidate& c) {
      RunOptions r = run;
      r.seed = ++seed;  // every window its own jitter, as every measured window differs
      return predict(in.device, profile, space, c, r);
    };
    // The floor and the limit are the mean of Baseline's windows: one window's p95 is too noisy.
    std::vector<Evaluation> shared;
    double shared_jain = 0;
    for (unsigned i = 0; i < reference; ++i) {
      shared.push_back(measure(space.shared()));
      shared_jain += jain(shared.back().normalized(objective.alone_rps)) / reference;
    }
    objective.jain_floor =
        o.jain_floor == "baseline" ? shared_jain : parse_real("--jain-floor", o.jain_floor, 0, 1);
    objective.p95_limit_ms = p95_limits(o.p95_limit, shared, mix.models.size());
    objective.tolerance = so.noise;  // Baseline's own floor and limit hold for a remeasured Baseline
    std::vector<Candidate> starts{space.shared()};
    if (space.splittable()) starts.push_back(space.equal_split());
    so.on_trial = [&](const Trial& t) {
      fmt::print("  {} {:<24} {:>9.1f} req/s  {:7.3f} req/J  {}\n", mix.name, t.label, t.evaluation.total_rps(),
                 t.evaluation.inferences_per_j(), t.note);
    };
    const SearchResult r = search(space, objective, starts, measure, {}, so);
    fmt::print("{}: best {} ({} trials, {:.2f} s, {})\n", mix.name, r.best.label(), r.trials.size(), r.seconds,
               r.stop_reason);
    files.stage((fs::path(o.out) / ("tune_" + mix.name + ".json")).string(),
                to_json(r, space, objective).dump(1) + "\n");
    files.stage((fs::path(o.out) / ("plan_" + mix.name + ".json")).string(),
                space.to_plan(r.best, "eclip-tuned").to_json(in.device.topology).dump(1) + "\n");
  }
  files.commit();
  fmt::print("wrote tune_<mix>.json and plan_<mix>.json for {} mixes in {} (simulated, not measured)\n",
             in.mixes.size(), o.out);
  return kOk;
}

int run(const TuneOptions& o) {
  if (o.backend == "sim") return run_sim(o);
  if (o.backend != "cuda") throw UsageError(fmt::format("--backend \"{}\": expected cuda or sim", o.backend));
  if (o.models.empty()) throw UsageError("--models: the models to co-locate on the GPU, comma-separated");
  std::vector<std::string> args{"-m",       "eclip.torch.tune", "--models",     o.models,    "--batch",
                                o.batch,    "--objective",      o.objective,    "--out",     o.out,
                                "--noise",  o.noise,            "--time-limit", o.time_limit, "--segments",
                                o.segments, "--jain-floor",     o.jain_floor,   "--p95-limit", o.p95_limit,
                                "--confirm",  o.confirm,        "--reference",  o.reference};
  // The co-location model ranks the measured search's neighbours when given a profile of these models.
  if (!o.common.profile.empty()) args.insert(args.end(), {"--profile", o.common.profile});
  args.insert(args.end(), o.extra.begin(), o.extra.end());
  return run_python(o.python, args, o.lib, "eclip tune");
}

}  // namespace

std::function<int()> add_tune(CLI::App& app) {
  auto o = std::make_shared<TuneOptions>();
  CLI::App* t = app.add_subcommand(
      "tune", "pick a co-location plan by measuring: the plan search as a closed loop on the GPU (--backend cuda: "
              "the real models, through the Python package) or on the simulated device (--backend sim)");
  add_common_options(t, o->common);
  t->add_option("--backend", o->backend, "cuda (the GPU) or sim")->capture_default_str();
  t->add_option("--objective", o->objective, "throughput, energy or normalized")->capture_default_str();
  t->add_option("--jain-floor", o->jain_floor, "baseline (its measured index) or a number in [0, 1]")->capture_default_str();
  t->add_option("--p95-limit", o->p95_limit,
                 "none, baseline (every worker's p95 within Baseline's slowest) or milliseconds (one, or one per "
                 "worker, comma-separated)")
      ->capture_default_str();
  t->add_option("--noise", o->noise, "a move must win by more than this fraction")->capture_default_str();
  t->add_option("--time-limit", o->time_limit, "seconds of search per mix (0: none)")->capture_default_str();
  t->add_option("--segments", o->segments, "segments per worker a move may place apart")->capture_default_str();
  t->add_option("--confirm", o->confirm,
                "windows spent measuring the pick again after the search (judged by the mean of its windows)")
      ->capture_default_str();
  t->add_option("--reference", o->reference, "Baseline's windows the fairness floor and p95 limit are the mean of")
      ->capture_default_str();
  t->add_option("--out", o->out, "output folder")->capture_default_str();
  t->add_option("--window-ms", o->window_ms, "sim: simulated window per candidate")->capture_default_str();
  t->add_option("--models", o->models, "cuda: comma-separated models, one worker each");
  t->add_option("--batch", o->batch, "cuda: batch size")->capture_default_str();
  t->add_option("--python", o->python, "cuda: Python interpreter with PyTorch")->capture_default_str();
  t->add_option("--lib", o->lib, "cuda: libeclip_c.so with the CUDA backend");
  t->add_option("extra", o->extra, "cuda: further arguments for eclip.torch.tune, after --");
  return [o] { return run(*o); };
}

}  // namespace eclip::cli
