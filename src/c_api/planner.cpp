// The C ABI's planner: profiles, eclip_plan_make (the strategies of eclip/planner/strategy.hpp)
// and a plan's JSON, as text or written atomically.
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "atomic_file.hpp"
#include "eclip/planner/strategy.hpp"
#include "handles.hpp"

namespace eclip::c_abi {
namespace {

Profile profile_from_text(const std::string& text, const std::string& source) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw Error(Errc::parse, source + ": not valid JSON");
  try {
    return Profile::from_json(j);
  } catch (const Error& e) {
    throw Error(e.code(), source + ": " + e.what());
  }
}

std::string plan_text(const eclip_plan* plan) { return plan->plan.to_json(plan->topology).dump(2) + "\n"; }

/// The strategies a plan can be made with here; "remask" is the simulation's alone (its masks
/// change per kernel, which a plan cannot say).
Strategy plan_strategy(const char* name) {
  const std::string s(name);
  if (s == "remask")
    throw invalid("strategy \"remask\" exists only in the simulation (a plan cannot express per-kernel remasking); "
                  "known here: baseline, model-wise, kernel-wise, eclip");
  try {
    return strategy_from_string(s);
  } catch (const Error&) {
    throw invalid("unknown strategy \"" + s + "\" (known: baseline, model-wise, kernel-wise, eclip)");
  }
}

}  // namespace
}  // namespace eclip::c_abi

using namespace eclip::c_abi;

extern "C" {

int eclip_profile_from_json(const char* json_text, eclip_profile** out) {
  return guarded([&] {
    require(json_text, "json_text");
    require(out, "out");
    *out = nullptr;
    *out = new eclip_profile{profile_from_text(json_text, "profile")};
  });
}

int eclip_profile_from_file(const char* path, eclip_profile** out) {
  return guarded([&] {
    require(path, "path");
    require(out, "out");
    *out = nullptr;
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
      throw invalid(std::string("cannot read profile file \"") + path + "\": it is a directory");
    std::ifstream in(path);
    if (!in) throw invalid(std::string("cannot open profile file \"") + path + "\": " + std::strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) throw invalid(std::string("cannot read profile file \"") + path + "\": " + std::strerror(errno));
    *out = new eclip_profile{profile_from_text(text.str(), path)};
  });
}

void eclip_profile_destroy(eclip_profile* profile) { delete profile; }

int eclip_plan_make(const eclip_backend* backend, const eclip_profile* profile, const char* const* models,
                    size_t model_count, const char* strategy, int64_t switch_budget, double tolerance,
                    eclip_plan** out) {
  return guarded([&] {
    require(backend, "backend");
    require(profile, "profile");
    require(strategy, "strategy");
    require(out, "out");
    *out = nullptr;
    if (model_count == 0) throw invalid("model_count is 0: a plan needs at least one worker");
    require(models, "models");
    std::vector<std::string> names;
    for (size_t i = 0; i < model_count; ++i) {
      if (models[i] == nullptr) throw invalid("models[" + std::to_string(i) + "] is NULL");
      names.emplace_back(models[i]);
    }
    const eclip::Strategy s = plan_strategy(strategy);
    if (switch_budget < -1)
      throw invalid("switch_budget " + std::to_string(switch_budget) +
                    ": expected -1 (the default budget) or a count of switches per request >= 0");
    if (std::isnan(tolerance) || std::isinf(tolerance))
      throw invalid(fmt::format("tolerance {}: expected a finite number >= 0 (or < 0 for the default)", tolerance));
    const eclip::SwitchBudget budget = eclip::SwitchBudget::per_request(
        switch_budget < 0 ? static_cast<long long>(eclip::SwitchBudget::kEclipDefault) : switch_budget);
    const double tol = tolerance < 0 ? eclip::kDefaultThresholdTolerance : tolerance;
    const eclip::Topology& t = backend->state->backend->topology();
    const eclip::Profile& p = profile->profile;
    if (p.device != t.name)
      throw invalid("the profile is for device \"" + p.device + "\" but the backend is \"" + t.name + "\"");
    eclip::Plan plan = eclip::make_strategy_plan(s, names, p, t, budget, tol).plan;
    plan.validate(t);
    *out = new eclip_plan{std::move(plan), t};
  });
}

int eclip_plan_to_json(const eclip_plan* plan, char* buf, size_t size, size_t* needed) {
  return guarded([&] {
    require(plan, "plan");
    const std::string text = plan_text(plan);
    if (needed) *needed = text.size() + 1;
    if (buf == nullptr && size == 0) return;
    require(buf, "buf");
    if (size < text.size() + 1)
      throw invalid("buf holds " + std::to_string(size) + " bytes but the plan's JSON needs " +
                    std::to_string(text.size() + 1) + " (see *needed)");
    std::memcpy(buf, text.c_str(), text.size() + 1);
  });
}

int eclip_plan_write(const eclip_plan* plan, const char* path) {
  return guarded([&] {
    require(plan, "plan");
    require(path, "path");
    write_file_atomically(path, plan_text(plan));
  });
}

}  // extern "C"
