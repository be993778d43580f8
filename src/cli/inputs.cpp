#include "inputs.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "errors.hpp"
#include "install_paths.hpp"
#include "messages.hpp"
#include "values.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace eclip::cli {
namespace {

/// eclip::Error from the library (a malformed file, an unknown name) is bad input here.
template <class F>
auto as_usage(F&& f) {
  try {
    return f();
  } catch (const Error& e) {
    if (e.code() == Errc::invalid_argument || e.code() == Errc::parse || e.code() == Errc::capacity)
      throw UsageError(e.what());
    throw;
  }
}

std::vector<Mix> read_mix_file(const std::string& path) {
  check_input_file("--mix-file", path);
  std::ifstream in(path);
  if (!in) throw UsageError(fmt::format("--mix-file \"{}\": cannot open", path));
  json j = json::parse(in, nullptr, false);
  if (j.is_discarded()) throw UsageError(fmt::format("--mix-file \"{}\": not valid JSON", path));
  std::vector<Mix> all = as_usage([&] { return Mix::list_from_json(j); });
  for (size_t i = 0; i < all.size(); ++i)
    for (size_t k = 0; k < i; ++k)
      if (all[i].name == all[k].name)
        throw UsageError(fmt::format("--mix-file \"{}\": mix \"{}\" is defined twice (mixes[{}] and mixes[{}])", path,
                                     all[i].name, k, i));
  if (all.empty()) throw UsageError(fmt::format("--mix-file \"{}\" holds no mixes", path));
  return all;
}

std::vector<Mix> select_mixes(const std::vector<std::string>& asked, const std::string& mix_file) {
  const std::vector<Mix> all = mix_file.empty() ? Mix::defaults() : read_mix_file(mix_file);
  std::vector<std::string> duplicates;
  const std::vector<std::string> names = unique_items(asked, duplicates);
  if (!duplicates.empty()) note(fmt::format("--mix lists {} more than once; each runs once", fmt::join(duplicates, ", ")));
  if (names.empty()) throw UsageError("--mix: no mix named (give mix names or all)");
  if (std::find(names.begin(), names.end(), "all") != names.end()) {
    if (names.size() > 1) throw UsageError(fmt::format("--mix \"{}\": all already holds every mix", fmt::join(names, ",")));
    return all;
  }
  std::vector<Mix> out;
  for (const std::string& n : names) {
    auto it = std::find_if(all.begin(), all.end(), [&](const Mix& m) { return m.name == n; });
    if (it == all.end()) {
      std::vector<std::string> known;
      for (const Mix& m : all) known.push_back(m.name);
      throw UsageError(fmt::format("unknown mix \"{}\" (known: {}, all)", n, fmt::join(known, ", ")));
    }
    out.push_back(*it);
  }
  return out;
}

}  // namespace

void add_common_options(CLI::App* cmd, CommonOptions& c) {
  c.tolerance = fmt::format("{}", kDefaultThresholdTolerance);
  cmd->add_option("--device", c.device, "simulated device preset: mi50, h100 or h200 (any case)")->capture_default_str();
  cmd->add_option("--mix", c.mixes, "mix names (mix1..mix7, comma-separated) or all")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--mix-file", c.mix_file, "JSON file of mixes ({\"format\": \"eclip.mix\", ...})");
  cmd->add_option("--workloads", c.workloads, "folder holding h100/<model>.json (default: the bundled workloads)");
  cmd->add_option("--budget", c.budget, "ECLIP's switch budget per request: a count or unlimited")->capture_default_str();
  cmd->add_option("--tolerance", c.tolerance,
                  "minimum-units threshold: the smallest partition within this fraction of the whole-device time "
                  "(a finite number >= 0)")
      ->capture_default_str();
  cmd->add_option("--profile", c.profile,
                  "profile JSON to use as is, e.g. from `eclip profile` (default: the bundled workloads projected on "
                  "--device)");
}

Inputs read_inputs(const CommonOptions& c) {
  const std::string preset = lower(c.device);
  Inputs in{as_usage([&] { return SimDeviceModel::by_name(preset); }), {}, SwitchBudget::unlimited(), 0};
  in.budget = parse_budget("--budget", c.budget);
  in.tolerance = parse_real("--tolerance", c.tolerance, 0.0, std::numeric_limits<double>::infinity());
  if (!c.profile.empty()) check_input_file("--profile", c.profile);
  if (!c.workloads.empty()) check_input_folder("--workloads", c.workloads);
  in.mixes = select_mixes(c.mixes, c.mix_file);
  return in;
}

Profile read_profile(const CommonOptions& c, const Inputs& in) {
  const SimDeviceModel& dm = in.device;
  if (!c.profile.empty()) {
    Profile p = as_usage([&] { return Profile::load(c.profile); });
    std::vector<unsigned> units;
    for (unsigned g : dm.topology.size_classes) units.push_back(dm.topology.units_of(g));
    // A profile of every partition size (`eclip profile --sizes all`) holds the size classes too.
    bool fits = p.device == dm.topology.name && p.configs.size() == p.units.size();
    for (size_t i = 0; fits && i < p.configs.size(); ++i)
      fits = p.configs[i] >= 1 && p.configs[i] <= dm.topology.group_count() &&
             p.units[i] == dm.topology.units_of(p.configs[i]);
    for (unsigned g : dm.topology.size_classes)
      fits = fits && std::find(p.configs.begin(), p.configs.end(), g) != p.configs.end();
    if (!fits)
      throw UsageError(fmt::format("--profile {}: made for device {} with configs {} (units {}), but the simulated device is "
                                   "{} with size classes {} (units {}) (pass --device to match)",
                                   c.profile, p.device, p.configs, p.units, dm.topology.name, dm.topology.size_classes,
                                   units));
    for (const Mix& m : in.mixes)
      for (const std::string& model : m.models)
        as_usage([&] { return p.model(model).kernels.size(); });
    return p;
  }
  const fs::path dir = c.workloads.empty() ? bundled_workloads() : fs::path(c.workloads);
  std::vector<std::string> models;
  for (const Mix& m : in.mixes)
    for (const std::string& name : m.models)
      if (std::find(models.begin(), models.end(), name) == models.end()) models.push_back(name);
  std::vector<Workload> ws;
  for (const std::string& name : models) {
    const fs::path p = dir / "h100" / (name + ".json");
    if (!fs::is_regular_file(p))
      throw UsageError(fmt::format("no workload for model \"{}\": {} does not exist (workloads are in {}/h100)", name,
                                   p.string(), dir.string()));
    ws.push_back(as_usage([&] { return Workload::load(p.string()); }));
  }
  return as_usage([&] { return make_profile(dm.topology, ws, dm.kernel_time_scale, dm.launch_us); });
}

}  // namespace eclip::cli
