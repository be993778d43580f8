#include "eclip/plan/plan.hpp"

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

namespace eclip {
namespace {

using json = nlohmann::json;

Error parse_error(const std::string& where, const std::string& what) {
  return Error(Errc::parse, fmt::format("plan: {}: {}", where, what));
}

/// Reads a required field of the given JSON type; errors name the field's path. Integers are read
/// wide and range-checked, never silently narrowed.
template <class T>
T field(const json& obj, const char* key, const std::string& where) {
  if (!obj.is_object()) throw parse_error(where, "expected an object");
  auto it = obj.find(key);
  if (it == obj.end()) throw parse_error(where, fmt::format("missing field \"{}\"", key));
  const std::string path = where + "." + key;
  if constexpr (std::is_integral_v<T>) {
    if (!it->is_number_integer()) throw parse_error(path, "expected an integer");
    if (it->is_number_unsigned()) {
      const auto v = it->get<std::uint64_t>();
      if (v > static_cast<std::uint64_t>(std::numeric_limits<T>::max()))
        throw parse_error(path, fmt::format("{} is out of range (at most {})", v, std::numeric_limits<T>::max()));
      return static_cast<T>(v);
    }
    const auto v = it->get<std::int64_t>();
    if (v < static_cast<std::int64_t>(std::numeric_limits<T>::min()) ||
        (v > 0 && static_cast<std::uint64_t>(v) > static_cast<std::uint64_t>(std::numeric_limits<T>::max())))
      throw parse_error(path, std::is_unsigned_v<T> ? fmt::format("{} is negative: expected a non-negative integer", v)
                                                    : fmt::format("{} is out of range", v));
    return static_cast<T>(v);
  } else {
    try {
      return it->get<T>();
    } catch (const json::exception& e) {
      throw parse_error(path, e.what());
    }
  }
}

/// Refuses any key of `obj` not in `known`: a misspelt or foreign field is an error, never ignored.
void reject_unknown(const json& obj, std::initializer_list<const char*> known, const std::string& where) {
  if (!obj.is_object()) throw parse_error(where, "expected an object");
  for (auto it = obj.begin(); it != obj.end(); ++it)
    if (std::none_of(known.begin(), known.end(), [&](const char* k) { return it.key() == k; }))
      throw parse_error(where, fmt::format("unknown field \"{}\" (known: {})", it.key(), fmt::join(known, ", ")));
}

/// An optional field the writer derives from the groups (per-group units, per-worker kernels and
/// switches): when present it must be an integer equal to what the plan implies.
void check_derived(const json& obj, const char* key, std::uint64_t expected, const std::string& where,
                   const char* meaning) {
  if (!obj.contains(key)) return;
  const auto got = field<std::uint64_t>(obj, key, where);
  if (got != expected)
    throw parse_error(where + "." + key, fmt::format("{} but the plan's groups give {} ({})", got, expected, meaning));
}

/// The fields a reader could take at their word but that must agree with the groups: a plan edited
/// by hand to say "units": 9999 is refused rather than run with other units than it states.
void check_derived_fields(const json& j, const Plan& p, const Topology& topo) {
  const json& ws = j["workers"];
  for (size_t w = 0; w < p.workers.size(); ++w) {
    const WorkerPlan& wp = p.workers[w];
    const std::string where = fmt::format("workers[{}]", w);
    check_derived(ws[w], "kernels", wp.kernel_count(), where, "kernels per request");
    check_derived(ws[w], "switches", wp.switches(), where, "partition changes between adjacent groups");
    for (size_t i = 0; i < wp.groups.size(); ++i)
      check_derived(ws[w]["groups"][i], "units", p.units(static_cast<unsigned>(w), wp.groups[i].config, topo),
                    fmt::format("{}.groups[{}]", where, i),
                    fmt::format("config {} on {}", wp.groups[i].config.groups, topo.name).c_str());
    if (wp.home)
      check_derived(ws[w]["home"], "units", topo.grow_from(wp.home->first, wp.home->groups).count(), where + ".home",
                    "units of the home's groups");
  }
  auto it = j.find("pool");
  if (it == j.end()) return;
  if (!it->is_array()) throw parse_error("pool", "expected an array");
  std::set<PartitionSpec> listed;
  for (size_t i = 0; i < it->size(); ++i) {
    const std::string where = fmt::format("pool[{}]", i);
    const json& e = (*it)[i];
    reject_unknown(e, {"worker", "config", "units", "first"}, where);
    PartitionSpec s{field<unsigned>(e, "worker", where), PartitionConfig{field<unsigned>(e, "config", where)}};
    if (s.worker >= p.workers.size())
      throw parse_error(where + ".worker", fmt::format("{} but the plan has {} workers", s.worker, p.workers.size()));
    if (!p.has_homes() &&
        std::find(topo.size_classes.begin(), topo.size_classes.end(), s.config.groups) == topo.size_classes.end())
      throw parse_error(where + ".config", fmt::format("{} groups is not a size class of {}", s.config.groups, topo.name));
    if (s.config.groups == 0 || s.config.groups > topo.group_count())
      throw parse_error(where + ".config", fmt::format("{} groups: {} has 1..{}", s.config.groups, topo.name, topo.group_count()));
    if (p.has_homes()) {
      s.first_group = p.workers[s.worker].home->first;
      check_derived(e, "first", *s.first_group, where, "the worker's home");
    } else if (e.contains("first")) {
      throw parse_error(where + ".first", "only a plan with homes (version 2) places partitions");
    }
    check_derived(e, "units", p.units(s.worker, s.config, topo), where,
                  fmt::format("config {} on {}", s.config.groups, topo.name).c_str());
    if (!listed.insert(s).second) throw parse_error(where, "listed twice");
  }
  const std::vector<PartitionSpec> need = p.pool_specs(topo);
  if (std::set<PartitionSpec>(need.begin(), need.end()) != listed)
    throw parse_error("pool", fmt::format("lists {} partitions but the workers' groups need {} (worker:config {})",
                                          listed.size(), need.size(), [&] {
                                            std::vector<std::string> v;
                                            for (const PartitionSpec& s : need) v.push_back(fmt::format("{}:{}", s.worker, s.config.groups));
                                            return fmt::format("{}", fmt::join(v, ", "));
                                          }()));
}

}  // namespace

std::vector<PartitionConfig> WorkerPlan::per_kernel() const {
  std::vector<PartitionConfig> out;
  out.reserve(kernel_count());
  for (const KernelGroup& g : groups) out.insert(out.end(), g.count, g.config);
  return out;
}

WorkerPlan WorkerPlan::from_per_kernel(std::string model, const std::vector<PartitionConfig>& configs) {
  WorkerPlan p{std::move(model), {}};
  for (std::uint32_t k = 0; k < configs.size(); ++k) {
    if (!p.groups.empty() && p.groups.back().config == configs[k])
      ++p.groups.back().count;
    else
      p.groups.push_back(KernelGroup{k, 1, configs[k]});
  }
  return p;
}

std::vector<PartitionSpec> Plan::pool_specs(const Topology& topo) const {
  std::set<PartitionSpec> specs;
  for (unsigned w = 0; w < workers.size(); ++w)
    for (const KernelGroup& g : workers[w].groups)
      if (!g.config.whole_device(topo))
        specs.insert(PartitionSpec{w, g.config, workers[w].home ? std::optional<unsigned>(workers[w].home->first)
                                                                : std::nullopt});
  return {specs.begin(), specs.end()};
}

unsigned Plan::units(unsigned worker, PartitionConfig config, const Topology& topo) const {
  // Without homes a config is a size class, reported as its units from group 0 (what version-1
  // plans have always said); with homes, the units of the worker's own mask.
  return has_homes() ? config.mask(topo, first_group(worker, topo)).count() : config.units(topo);
}

unsigned Plan::first_group(unsigned worker, const Topology& topo) const {
  if (worker >= workers.size())
    throw Error(Errc::invalid_argument, fmt::format("plan: worker {} out of range: {} workers", worker, workers.size()));
  const auto& h = workers[worker].home;
  return h ? h->first : topo.home_group(worker, static_cast<unsigned>(workers.size()));
}

void Plan::validate(const Topology& topo) const {
  auto fail = [](const std::string& where, const std::string& what) {
    return Error(Errc::invalid_argument, fmt::format("plan: {}: {}", where, what));
  };
  if (workers.empty()) throw fail("workers", "the plan has no workers");
  const bool homes = has_homes();
  std::vector<int> owner(topo.group_count(), -1);  // worker whose home holds each group
  for (unsigned w = 0; w < workers.size(); ++w) {
    const auto& h = workers[w].home;
    const std::string where = fmt::format("workers[{}] ({}).home", w, workers[w].model);
    if (h.has_value() != homes)
      throw fail(where, homes ? "missing: the other workers have homes, so every worker needs one"
                              : "given, but worker 0 has none: every worker needs one or none does");
    if (!h) continue;
    if (h->groups == 0) throw fail(where, "0 groups: a home holds at least one group");
    if (h->first >= topo.group_count() || h->groups > topo.group_count() - h->first)
      throw fail(where, fmt::format("groups {}..{} leave {} (groups 0..{})", h->first, h->end() - 1, topo.name,
                                    topo.group_count() - 1));
    for (unsigned g = h->first; g < h->end(); ++g) {
      if (owner[g] >= 0)
        throw fail(where, fmt::format("group {} is also in worker {}'s home: homes must be disjoint", g, owner[g]));
      owner[g] = static_cast<int>(w);
    }
  }
  for (unsigned w = 0; w < workers.size(); ++w) {
    const WorkerPlan& wp = workers[w];
    const std::string where = fmt::format("workers[{}] ({})", w, wp.model);
    if (wp.groups.empty()) throw fail(where, "worker has no kernels");
    std::uint64_t next = 0;  // 64-bit: first + count of 32-bit fields cannot wrap
    for (size_t i = 0; i < wp.groups.size(); ++i) {
      const KernelGroup& g = wp.groups[i];
      const std::string gw = fmt::format("{}.groups[{}]", where, i);
      if (g.count == 0) throw fail(gw, "group has no kernels (count 0)");
      if (g.first != next) throw fail(gw, fmt::format("starts at kernel {} but the previous group ends at {}", g.first, next));
      if (homes) {
        if (g.config.groups == 0 || g.config.groups > topo.group_count())
          throw fail(gw, fmt::format("config {} groups: {} has 1..{}", g.config.groups, topo.name, topo.group_count()));
      } else if (std::find(topo.size_classes.begin(), topo.size_classes.end(), g.config.groups) ==
                 topo.size_classes.end()) {
        throw fail(gw, fmt::format("config {} groups is not a size class of {} ({})", g.config.groups, topo.name,
                                   fmt::join(topo.size_classes, ", ")));
      }
      next = std::uint64_t{g.first} + g.count;
      if (next > kMaxKernelsPerRequest)
        throw fail(gw, fmt::format("ends at kernel {}: more than the {} kernels a request may have", next,
                                   kMaxKernelsPerRequest));
    }
    if (!wp.kernel_names.empty() && wp.kernel_names.size() != next)
      throw fail(where + ".kernel_names", fmt::format("{} names for {} kernels", wp.kernel_names.size(), next));
    if (budget && !budget->allows(wp.switches()))
      throw fail(where, fmt::format("{} switches per request exceed the budget of {}", wp.switches(), budget->limit()));
  }
  const size_t masked = pool_specs(topo).size();
  if (masked > topo.max_masked_streams)
    throw Error(Errc::capacity, fmt::format("plan: needs {} CU-masked streams but {} holds at most {}", masked,
                                            topo.name, topo.max_masked_streams));
}

nlohmann::json Plan::to_json(const Topology& topo) const {
  json j = {{"format", "eclip.plan"}, {"version", has_homes() ? kVersion : 1}, {"device", device}, {"strategy", strategy}};
  j["switch_budget"] = budget ? json(budget->is_unlimited() ? json("unlimited") : json(budget->limit())) : json(nullptr);
  json ws = json::array();
  for (unsigned wi = 0; wi < workers.size(); ++wi) {
    const WorkerPlan& w = workers[wi];
    json gs = json::array();
    for (const KernelGroup& g : w.groups)
      gs.push_back({{"first", g.first}, {"count", g.count}, {"config", g.config.groups}, {"units", units(wi, g.config, topo)}});
    json wj = {{"model", w.model}, {"kernels", w.kernel_count()}, {"switches", w.switches()}, {"groups", gs}};
    if (!w.kernel_names.empty()) wj["kernel_names"] = w.kernel_names;
    if (w.home) wj["home"] = {{"first", w.home->first}, {"groups", w.home->groups}, {"units", topo.grow_from(w.home->first, w.home->groups).count()}};
    ws.push_back(std::move(wj));
  }
  j["workers"] = ws;
  json pool = json::array();
  for (const PartitionSpec& s : pool_specs(topo)) {
    json e = {{"worker", s.worker}, {"config", s.config.groups}, {"units", units(s.worker, s.config, topo)}};
    if (s.first_group) e["first"] = *s.first_group;
    pool.push_back(std::move(e));
  }
  j["pool"] = pool;
  return j;
}

Plan Plan::from_json(const nlohmann::json& j, const Topology& topo) {
  reject_unknown(j, {"format", "version", "device", "strategy", "switch_budget", "workers", "pool"}, "plan");
  if (const std::string f = field<std::string>(j, "format", "plan"); f != "eclip.plan")
    throw parse_error("format", fmt::format("expected \"eclip.plan\", got \"{}\"", f));
  const int version = field<int>(j, "version", "plan");
  if (version != 1 && version != kVersion)
    throw parse_error("version", fmt::format("version {} unsupported (this eclip reads 1 and {})", version, kVersion));
  Plan p;
  p.device = field<std::string>(j, "device", "plan");
  if (p.device != topo.name)
    throw parse_error("device", fmt::format("plan was made for {} but the device is {}", p.device, topo.name));
  if (j.contains("strategy")) p.strategy = field<std::string>(j, "strategy", "plan");
  if (auto it = j.find("switch_budget"); it != j.end() && !it->is_null()) {
    if (it->is_string() && it->get<std::string>() == "unlimited") {
      p.budget = SwitchBudget::unlimited();
    } else if (it->is_number_unsigned()) {
      // Read unsigned: 2^64-1 read as a signed number would be reported as "-1 is negative".
      const auto v = it->get<std::uint64_t>();
      if (v > std::numeric_limits<unsigned>::max() - 1ULL)
        throw parse_error("switch_budget", fmt::format("{} is too large (at most {}; use \"unlimited\")", v,
                                                       std::numeric_limits<unsigned>::max() - 1U));
      p.budget = SwitchBudget::per_request(static_cast<long long>(v));
    } else if (it->is_number_integer()) {
      p.budget = SwitchBudget::per_request(it->get<long long>());  // negative: refused, naming the value
    } else {
      throw parse_error("switch_budget", "expected a non-negative integer or \"unlimited\"");
    }
  }
  const json& ws = j.contains("workers") ? j["workers"] : throw parse_error("plan", "missing field \"workers\"");
  if (!ws.is_array()) throw parse_error("workers", "expected an array");
  for (size_t w = 0; w < ws.size(); ++w) {
    const std::string where = fmt::format("workers[{}]", w);
    reject_unknown(ws[w], {"model", "kernels", "switches", "groups", "kernel_names", "home"}, where);
    WorkerPlan wp;
    wp.model = field<std::string>(ws[w], "model", where);
    if (auto it = ws[w].find("home"); it != ws[w].end()) {
      if (version < 2) throw parse_error(where + ".home", "homes need plan version 2 (this plan says 1)");
      reject_unknown(*it, {"first", "groups", "units"}, where + ".home");
      wp.home = HomeRange{field<unsigned>(*it, "first", where + ".home"), field<unsigned>(*it, "groups", where + ".home")};
    }
    const json& gs = ws[w].contains("groups") ? ws[w]["groups"] : throw parse_error(where, "missing field \"groups\"");
    if (!gs.is_array()) throw parse_error(where + ".groups", "expected an array");
    for (size_t i = 0; i < gs.size(); ++i) {
      const std::string gw = fmt::format("{}.groups[{}]", where, i);
      reject_unknown(gs[i], {"first", "count", "config", "units"}, gw);
      wp.groups.push_back(KernelGroup{field<std::uint32_t>(gs[i], "first", gw), field<std::uint32_t>(gs[i], "count", gw),
                                      PartitionConfig{field<unsigned>(gs[i], "config", gw)}});
    }
    if (auto it = ws[w].find("kernel_names"); it != ws[w].end()) {
      if (!it->is_array()) throw parse_error(where + ".kernel_names", "expected an array of strings");
      for (size_t i = 0; i < it->size(); ++i) {
        if (!(*it)[i].is_string())
          throw parse_error(fmt::format("{}.kernel_names[{}]", where, i), "expected a string");
        wp.kernel_names.push_back((*it)[i].get<std::string>());
      }
    }
    p.workers.push_back(std::move(wp));
  }
  p.validate(topo);
  check_derived_fields(j, p, topo);
  return p;
}

Plan Plan::from_json_text(const std::string& text, const Topology& topo) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw parse_error("plan", "not valid JSON");
  return from_json(j, topo);
}

}  // namespace eclip
