// JSON of the plan space, the objective and the search, for the C ABI, the CLI and Python.
#include <cmath>
#include <initializer_list>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "eclip/planner/search.hpp"

namespace eclip {
namespace {

using json = nlohmann::json;

Error bad(const std::string& where, const std::string& what) {
  return Error(Errc::invalid_argument, fmt::format("{}: {}", where, what));
}

void known_fields(const json& j, std::initializer_list<const char*> known, const std::string& where) {
  if (!j.is_object()) throw bad(where, "expected an object");
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool ok = false;
    for (const char* k : known) ok |= it.key() == k;
    if (!ok) throw bad(where, fmt::format("unknown field \"{}\"", it.key()));
  }
}

unsigned count_of(const json& v, const std::string& where) {
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<long long>() >= 0))
    throw bad(where, fmt::format("{} is not a non-negative integer", v.dump()));
  const auto x = v.get<unsigned long long>();
  if (x > 1u << 30) throw bad(where, fmt::format("{} is out of range", x));
  return static_cast<unsigned>(x);
}

double number_of(const json& v, const std::string& where) {
  if (!v.is_number()) throw bad(where, fmt::format("{} is not a number", v.dump()));
  const double x = v.get<double>();
  if (!std::isfinite(x)) throw bad(where, "not finite");
  return x;
}

std::vector<double> numbers_of(const json& v, const std::string& where) {
  if (!v.is_array()) throw bad(where, "expected an array of numbers");
  std::vector<double> out;
  for (std::size_t i = 0; i < v.size(); ++i) out.push_back(number_of(v[i], fmt::format("{}[{}]", where, i)));
  return out;
}

}  // namespace

Candidate candidate_from_json(const json& j, const PlanSpace& space) {
  known_fields(j, {"split", "segment", "label"}, "candidate");
  Candidate c;
  if (!j.contains("split") || !j["split"].is_array()) throw bad("candidate.split", "expected an array (empty: shared)");
  for (std::size_t w = 0; w < j["split"].size(); ++w) c.split.push_back(count_of(j["split"][w], fmt::format("candidate.split[{}]", w)));
  if (!c.split.empty()) {
    if (auto it = j.find("segment"); it != j.end()) {
      if (!it->is_array()) throw bad("candidate.segment", "expected an array per worker");
      for (std::size_t w = 0; w < it->size(); ++w) {
        if (!(*it)[w].is_array()) throw bad(fmt::format("candidate.segment[{}]", w), "expected an array");
        std::vector<unsigned> s;
        for (std::size_t k = 0; k < (*it)[w].size(); ++k)
          s.push_back(count_of((*it)[w][k], fmt::format("candidate.segment[{}][{}]", w, k)));
        c.segment.push_back(std::move(s));
      }
    } else {
      for (const auto& segs : space.segments()) c.segment.emplace_back(segs.size(), 0U);
    }
  } else if (j.contains("segment") && !j["segment"].empty()) {
    throw bad("candidate.segment", "a shared candidate (empty split) has no segment choices");
  }
  space.validate(c);
  return c;
}

json to_json(const Candidate& c) { return {{"split", c.split}, {"segment", c.segment}, {"label", c.label()}}; }

PlanSpace plan_space_from_json(const json& j, const Topology& topo) {
  known_fields(j, {"models", "segments", "switch_budget", "objective", "search", "starts", "predictor"}, "spec");
  if (!j.contains("models") || !j["models"].is_array()) throw bad("spec.models", "expected an array of model names");
  std::vector<std::string> models;
  for (std::size_t i = 0; i < j["models"].size(); ++i) {
    if (!j["models"][i].is_string()) throw bad(fmt::format("spec.models[{}]", i), "expected a string");
    models.push_back(j["models"][i].get<std::string>());
  }
  if (!j.contains("segments") || !j["segments"].is_array())
    throw bad("spec.segments", "expected, per worker, an array of positions per segment");
  std::vector<std::vector<std::uint32_t>> segments;
  for (std::size_t w = 0; w < j["segments"].size(); ++w) {
    const json& s = j["segments"][w];
    if (!s.is_array()) throw bad(fmt::format("spec.segments[{}]", w), "expected an array");
    std::vector<std::uint32_t> v;
    for (std::size_t k = 0; k < s.size(); ++k) v.push_back(count_of(s[k], fmt::format("spec.segments[{}][{}]", w, k)));
    segments.push_back(std::move(v));
  }
  SwitchBudget budget = SwitchBudget::unlimited();
  if (auto it = j.find("switch_budget"); it != j.end() && !it->is_null()) {
    if (it->is_string() && it->get<std::string>() == "unlimited")
      budget = SwitchBudget::unlimited();
    else
      budget = SwitchBudget::per_request(count_of(*it, "spec.switch_budget"));
  }
  return PlanSpace(topo, std::move(models), std::move(segments), budget);
}

Objective objective_from_json(const json& j, std::size_t workers) {
  Objective o;
  if (j.is_null()) return o;
  known_fields(j, {"kind", "alone_rps", "jain_floor", "p95_limit_ms", "tolerance"}, "objective");
  if (j.contains("kind")) {
    if (!j["kind"].is_string()) throw bad("objective.kind", "expected a string");
    o.kind = objective_from_string(j["kind"].get<std::string>());
  }
  if (j.contains("alone_rps")) o.alone_rps = numbers_of(j["alone_rps"], "objective.alone_rps");
  if (j.contains("jain_floor")) o.jain_floor = number_of(j["jain_floor"], "objective.jain_floor");
  if (j.contains("p95_limit_ms")) o.p95_limit_ms = numbers_of(j["p95_limit_ms"], "objective.p95_limit_ms");
  if (j.contains("tolerance")) o.tolerance = number_of(j["tolerance"], "objective.tolerance");
  o.validate(workers);
  return o;
}

SearchOptions search_options_from_json(const json& j) {
  SearchOptions o;
  if (j.is_null()) return o;
  known_fields(j, {"noise", "per_round", "max_rounds", "max_trials", "time_limit_s", "patience", "confirm"}, "search");
  if (j.contains("patience")) o.patience = count_of(j["patience"], "search.patience");
  if (j.contains("noise")) o.noise = number_of(j["noise"], "search.noise");
  if (j.contains("per_round")) o.per_round = count_of(j["per_round"], "search.per_round");
  if (j.contains("max_rounds")) o.max_rounds = count_of(j["max_rounds"], "search.max_rounds");
  if (j.contains("max_trials")) o.max_trials = count_of(j["max_trials"], "search.max_trials");
  if (j.contains("time_limit_s")) o.time_limit_s = number_of(j["time_limit_s"], "search.time_limit_s");
  if (j.contains("confirm")) o.confirm = count_of(j["confirm"], "search.confirm");
  if (o.noise < 0) throw bad("search.noise", fmt::format("{} < 0", o.noise));
  if (o.time_limit_s < 0) throw bad("search.time_limit_s", fmt::format("{} < 0", o.time_limit_s));
  return o;
}

json to_json(const Evaluation& e) {
  json j = {{"throughput_rps", e.throughput_rps}, {"total_rps", e.total_rps()}, {"power_w", e.power_w},
            {"window_s", e.window_s}, {"inferences_per_j", e.inferences_per_j()}};
  j["p95_ms"] = e.p95_ms;
  return j;
}

json to_json(const SearchResult& r, const PlanSpace& space, const Objective& objective) {
  auto num = [](double x) { return std::isfinite(x) ? json(x) : json(nullptr); };
  json trials = json::array();
  for (const Trial& t : r.trials) {
    json tj = {{"index", t.index}, {"round", t.round}, {"candidate", to_json(t.candidate)}, {"score", num(t.score)},
               {"value", num(t.value)}, {"predicted", num(t.predicted)}, {"at_s", t.at_s}, {"note", t.note}};
    if (t.repeats) tj["repeats"] = *t.repeats;
    if (!t.evaluation.throughput_rps.empty()) {
      tj["evaluation"] = to_json(t.evaluation);
      if (!objective.alone_rps.empty()) tj["jain"] = jain(t.evaluation.normalized(objective.alone_rps));
    }
    trials.push_back(std::move(tj));
  }
  json j = {{"format", "eclip.search"},
            {"version", 1},
            {"device", space.topology().name},
            {"models", space.models()},
            {"objective", {{"kind", to_string(objective.kind)}, {"alone_rps", objective.alone_rps},
                           {"jain_floor", objective.jain_floor}, {"p95_limit_ms", objective.p95_limit_ms},
                           {"tolerance", objective.tolerance}}},
            {"best", to_json(r.best)},
            {"score", num(r.score)},
            {"evaluation", to_json(r.evaluation)},
            {"plan", space.to_plan(r.best, "eclip-tuned").to_json(space.topology())},
            {"rounds", r.rounds},
            {"seconds", r.seconds},
            {"converged", r.converged},
            {"stop_reason", r.stop_reason},
            {"pick", r.pick},
            {"trials", trials}};
  return j;
}

}  // namespace eclip
