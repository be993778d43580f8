// `eclip plan`: the optimizer's plan for each mix asked for, as versioned JSON. With several mixes
// (the default, all) and -o FILE, each mix's plan goes to its own file: FILE's name with "_<mix>"
// before the extension (-o plan.json -> plan_mix1.json ... plan_mix7.json). Every file is staged
// and committed together at the end, so a failure leaves no file changed.
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "eclip/planner/optimizer.hpp"
#include "errors.hpp"
#include "messages.hpp"
#include "inputs.hpp"
#include "output_files.hpp"

namespace fs = std::filesystem;

namespace eclip::cli {
namespace {

struct PlanOptions {
  CommonOptions common;
  std::string save_profile, output;
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
  OptimizerOptions oo;
  oo.threshold_tolerance = in.tolerance;
  const Optimizer optimizer(topo, oo);
  std::vector<std::string> written, failed;
  for (const Mix& mix : in.mixes) {
    OptimizerResult r;
    try {
      r = optimizer.optimize(profile, mix.models, in.budget);
      r.plan.validate(topo);
    } catch (const Error& e) {
      warn(fmt::format("no plan for {}: {}", mix.name, e.what()));
      failed.push_back(mix.name);
      continue;
    }
    fmt::print("{}ECLIP plan for {} on {} (budget {}, tolerance {}): objective {:.4f} (sum of estimated slowdowns), {} of {} "
               "masked streams\n",
               written.empty() && failed.empty() ? "" : "\n", mix.name, topo.name, in.budget.to_string(), in.tolerance,
               r.objective, r.masked_streams, topo.max_masked_streams);
    fmt::print("{:<20} {:>8} {:>9} {:>8} {:>10} {:>12}\n", "worker", "kernels", "switches", "streams", "slowdown", "est. ms");
    for (size_t w = 0; w < r.workers.size(); ++w)
      fmt::print("{:<20} {:>8} {:>9} {:>8} {:>10.3f} {:>12.3f}\n", r.workers[w].model, r.plan.workers[w].kernel_count(),
                 r.workers[w].switches, r.workers[w].masked_streams, r.workers[w].slowdown, r.workers[w].time_us / 1000);
    if (!o.output_option->count()) continue;
    // Kernel names let the transparent interposer match launches by name (docs/transparent.md).
    // Only for NVIDIA: the profiles here are recordings of CUDA kernels; an AMD plan projected
    // from them would name kernels the HIP program never launches.
    Plan plan = r.plan;
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
      "plan", "the optimizer's plan for each mix (default: all), as versioned JSON; with several mixes, -o plan.json "
              "writes plan_<mix>.json per mix");
  add_common_options(plan, o->common);
  o->save_profile_option = plan->add_option("--save-profile", o->save_profile, "also write the profile used");
  o->output_option = plan->add_option(
      "-o,--output", o->output, "write the plan here (several mixes: FILE's name + _<mix> before the extension)");
  return [o] { return run(*o); };
}

}  // namespace eclip::cli
