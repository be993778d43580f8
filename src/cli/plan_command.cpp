// `eclip plan`: a strategy's plan for each mix asked for, as versioned JSON: by default "eclip",
// the co-location planner (the plan space searched with the co-location model); "eclip-budget" is
// ECLIP's optimizer; the others are the fixed strategies. With several mixes
// (the default, all) and -o FILE, each mix's plan goes to its own file: FILE's name with "_<mix>"
// before the extension (-o plan.json -> plan_mix1.json ... plan_mix7.json). Every file is staged
// and committed together at the end, so a failure leaves no file changed.
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "eclip/model/colocation_planner.hpp"
#include "eclip/planner/optimizer.hpp"
#include "errors.hpp"
#include "messages.hpp"
#include "inputs.hpp"
#include "output_files.hpp"
#include "values.hpp"

namespace fs = std::filesystem;

namespace eclip::cli {
namespace {

struct PlanOptions {
  CommonOptions common;
  std::string save_profile, output, strategy = "eclip", objective = "throughput", segments = "4";
  CLI::Option *save_profile_option = nullptr, *output_option = nullptr;
};

/// -o's file for `mix`: the name itself for one mix, "<stem>_<mix><ext>" beside it for several.
std::string output_for(const std::string& output, const std::string& mix, bool several) {
  if (!several) return output;
  const fs::path p(output);
  return (p.parent_path() / (p.stem().string() + "_" + mix + p.extension().string())).string();
}

int run(const PlanOptions& o) {
  const Inputs in = read_inputs(o.common);
  if (o.output_option->count()) OutputFiles::check_target("-o/--output", o.output);
  if (o.save_profile_option->count()) OutputFiles::check_target("--save-profile", o.save_profile);
  const bool several = in.mixes.size() > 1;
  if (o.output_option->count() && several)
    for (const Mix& m : in.mixes) OutputFiles::check_target("-o/--output", output_for(o.output, m.name, true));
  const Profile profile = read_profile(o.common, in);
  const Topology& topo = in.device.topology;

  OutputFiles files;
  if (o.save_profile_option->count()) files.stage(o.save_profile, profile.to_json().dump(1) + "\n");
  Strategy strategy;
  ColocationPlanOptions co;
  try {
    strategy = strategy_from_string(o.strategy);
    co.objective = objective_from_string(o.objective);
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
  if (strategy == Strategy::remask)
    throw UsageError("--strategy remask: a plan cannot express per-kernel remasking (it exists in `eclip simulate` only)");
  co.segments = static_cast<unsigned>(parse_unsigned("--segments", o.segments, 1, 64));
  co.budget = in.budget;
  OptimizerOptions oo;
  oo.threshold_tolerance = in.tolerance;
  const Optimizer optimizer(topo, oo);
  std::vector<std::string> written, failed;
  for (const Mix& mix : in.mixes) {
    Plan made;
    try {
      const char* sep = written.empty() && failed.empty() ? "" : "\n";
      if (strategy == Strategy::eclip_budget) {
        const OptimizerResult r = optimizer.optimize(profile, mix.models, in.budget);
        fmt::print("{}ECLIP-budget plan for {} on {} (budget {}, tolerance {}): objective {:.4f} (sum of estimated "
                   "slowdowns), {} of {} masked streams\n",
                   sep, mix.name, topo.name, in.budget.to_string(), in.tolerance, r.objective, r.masked_streams,
                   topo.max_masked_streams);
        fmt::print("{:<20} {:>8} {:>9} {:>8} {:>10} {:>12}\n", "worker", "kernels", "switches", "streams", "slowdown", "est. ms");
        for (size_t w = 0; w < r.workers.size(); ++w)
          fmt::print("{:<20} {:>8} {:>9} {:>8} {:>10.3f} {:>12.3f}\n", r.workers[w].model, r.plan.workers[w].kernel_count(),
                     r.workers[w].switches, r.workers[w].masked_streams, r.workers[w].slowdown, r.workers[w].time_us / 1000);
        made = r.plan;
      } else if (strategy == Strategy::eclip) {
        const ColocationPlan r = plan_colocation(in.device, profile, mix.models, co);
        const SearchResult& sr = r.search;
        fmt::print("{}ECLIP plan for {} on {} (co-location planner, objective {}, budget {}): {} predicted {:.1f} req/s, "
                   "{:.3f} req/J, Jain {:.3f} (floor {:.3f}); {} candidates in {:.1f} s\n",
                   sep, mix.name, topo.name, to_string(co.objective), in.budget.to_string(), sr.best.label(),
                   sr.evaluation.total_rps(), sr.evaluation.inferences_per_j(), jain(sr.evaluation.normalized(r.alone_rps)),
                   r.objective.jain_floor, sr.trials.size(), sr.seconds);
        fmt::print("{:<20} {:>8} {:>6} {:>9} {:>10} {:>10}\n", "worker", "kernels", "home", "switches", "req/s", "p95 ms");
        for (size_t w = 0; w < r.plan.workers.size(); ++w) {
          const WorkerPlan& wp = r.plan.workers[w];
          fmt::print("{:<20} {:>8} {:>6} {:>9} {:>10.1f} {:>10.3f}\n", wp.model, wp.kernel_count(),
                     wp.home ? fmt::format("{}", wp.home->groups) : std::string("all"), wp.switches(),
                     sr.evaluation.throughput_rps[w], sr.evaluation.p95_ms[w]);
        }
        made = r.plan;
      } else {
        made = make_plan(strategy, in.device, mix.models, profile, in.budget, in.tolerance, co).plan;
        fmt::print("{}{} plan for {} on {}\n", sep, to_string(strategy), mix.name, topo.name);
      }
      made.validate(topo);
    } catch (const Error& e) {
      warn(fmt::format("no plan for {}: {}", mix.name, e.what()));
      failed.push_back(mix.name);
      continue;
    }
    if (!o.output_option->count()) continue;
    // Kernel names let the transparent interposer match launches by name (docs/transparent.md).
    // Only for NVIDIA: the profiles here are recordings of CUDA kernels; an AMD plan projected
    // from them would name kernels the HIP program never launches.
    Plan plan = made;
    if (topo.vendor == Vendor::nvidia)
      for (WorkerPlan& w : plan.workers) {
        const ModelProfile& mp = profile.model(w.model);
        if (mp.kernels.size() != w.kernel_count()) continue;
        for (const KernelProfile& k : mp.kernels) w.kernel_names.push_back(k.name);
      }
    const std::string path = output_for(o.output, mix.name, several);
    files.stage(path, plan.to_json(topo).dump(1) + "\n");
    written.push_back(path);
  }
  files.commit();
  if (o.save_profile_option->count())
    fmt::print("wrote profile {} ({} models on {})\n", o.save_profile, profile.models.size(), profile.device);
  for (const std::string& p : written) fmt::print("wrote {}\n", p);
  if (!failed.empty()) {
    warn(fmt::format("no plan for {} of {} mixes: {}", failed.size(), in.mixes.size(), fmt::join(failed, ", ")));
    return kGaps;
  }
  return kOk;
}

}  // namespace

std::function<int()> add_plan(CLI::App& app) {
  auto o = std::make_shared<PlanOptions>();
  CLI::App* plan = app.add_subcommand(
      "plan", "a strategy's plan for each mix (default: all; strategy eclip, the co-location planner), as versioned "
              "JSON; with several mixes, -o plan.json writes plan_<mix>.json per mix");
  add_common_options(plan, o->common);
  plan->add_option("--strategy", o->strategy,
                   "eclip (default: the plan space searched with the co-location model), eclip-budget (ECLIP's "
                   "optimizer), baseline, model-wise, static-equal, kernel-wise");
  plan->add_option("--objective", o->objective, "what eclip maximises: throughput (default), energy, normalized");
  plan->add_option("--segments", o->segments, "segments per worker eclip may place apart (1: static splits only; default 4)");
  o->save_profile_option = plan->add_option("--save-profile", o->save_profile, "also write the profile used");
  o->output_option = plan->add_option(
      "-o,--output", o->output, "write the plan here (several mixes: FILE's name + _<mix> before the extension)");
  return [o] { return run(*o); };
}

}  // namespace eclip::cli
