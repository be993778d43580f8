#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "eclip/plan/profile.hpp"

namespace eclip {
namespace {

using json = nlohmann::json;

Error parse_error(const std::string& source, const std::string& where, const std::string& what) {
  return Error(Errc::parse, fmt::format("{}: {}: {}", source, where, what));
}

const json& require(const json& obj, const char* key, const std::string& source, const std::string& where) {
  if (!obj.is_object()) throw parse_error(source, where, "expected an object");
  auto it = obj.find(key);
  if (it == obj.end()) throw parse_error(source, where, fmt::format("missing field \"{}\"", key));
  return *it;
}

std::string require_string(const json& obj, const char* key, const std::string& source, const std::string& where) {
  const json& v = require(obj, key, source, where);
  if (!v.is_string()) throw parse_error(source, where + "." + key, "expected a string");
  return v.get<std::string>();
}

double require_time(const json& v, const std::string& source, const std::string& where) {
  if (!v.is_number()) throw parse_error(source, where, "expected a number of microseconds");
  double t = v.get<double>();
  if (!std::isfinite(t) || t <= 0) throw parse_error(source, where, fmt::format("time {} must be finite and > 0", t));
  return t;
}

std::vector<unsigned> require_counts(const json& obj, const char* key, const std::string& source) {
  const json& a = require(obj, key, source, "");
  if (!a.is_array() || a.empty()) throw parse_error(source, key, "expected a non-empty array");
  std::vector<unsigned> out;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!a[i].is_number_integer() || a[i].get<long long>() <= 0 || a[i].get<long long>() > CuMask::kMaxUnits)
      throw parse_error(source, fmt::format("{}[{}]", key, i), fmt::format("expected an integer in 1..{}", CuMask::kMaxUnits));
    out.push_back(a[i].get<unsigned>());
    if (i > 0 && out[i] <= out[i - 1]) throw parse_error(source, key, "must be strictly ascending");
  }
  return out;
}

std::vector<KernelProfile> read_kernels(const json& obj, size_t times_per_kernel, const std::string& source,
                                        const std::string& where) {
  const json& ks = require(obj, "kernels", source, where);
  if (!ks.is_array()) throw parse_error(source, where + ".kernels", "expected an array");
  if (ks.empty()) throw parse_error(source, where + ".kernels", "no kernels");
  std::vector<KernelProfile> out;
  out.reserve(ks.size());
  for (size_t k = 0; k < ks.size(); ++k) {
    const std::string kw = fmt::format("{}kernels[{}]", where.empty() ? "" : where + ".", k);
    KernelProfile kp;
    kp.name = require_string(ks[k], "name", source, kw);
    const json& us = require(ks[k], "us", source, kw);
    if (!us.is_array() || us.size() != times_per_kernel)
      throw parse_error(source, kw + ".us", fmt::format("expected {} times, one per unit count", times_per_kernel));
    for (size_t i = 0; i < us.size(); ++i) kp.us.push_back(require_time(us[i], source, fmt::format("{}.us[{}]", kw, i)));
    if (auto b = ks[k].find("blocks"); b != ks[k].end()) {
      if (!b->is_number_integer() || b->get<long long>() <= 0 || b->get<long long>() > 0xffffffffLL)
        throw parse_error(source, kw + ".blocks", "expected a positive integer");
      kp.blocks = b->get<unsigned>();
    }
    if (auto e = ks[k].find("energy_uj"); e != ks[k].end()) {
      if (!e->is_number() || !std::isfinite(e->get<double>()) || e->get<double>() < 0)
        throw parse_error(source, kw + ".energy_uj", fmt::format("expected microjoules >= 0, got {}", e->dump()));
      kp.energy_uj = e->get<double>();
    }
    out.push_back(std::move(kp));
  }
  return out;
}

json read_file_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(Errc::invalid_argument, fmt::format("cannot open \"{}\"", path));
  std::stringstream ss;
  ss << in.rdbuf();
  json j = json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw Error(Errc::parse, fmt::format("{}: not valid JSON", path));
  return j;
}

void check_format(const json& j, const char* format, int version, const std::string& source) {
  if (std::string f = require_string(j, "format", source, "top level"); f != format)
    throw parse_error(source, "format", fmt::format("expected \"{}\", got \"{}\"", format, f));
  const json& v = require(j, "version", source, "top level");
  if (!v.is_number_integer() || v.get<long long>() != version)
    throw parse_error(source, "version", fmt::format("version {} unsupported (this eclip reads {})", v.dump(), version));
}

}  // namespace

double interpolate_us(const std::vector<unsigned>& unit_counts, const std::vector<double>& us, double units) {
  if (unit_counts.empty() || unit_counts.size() != us.size())
    throw Error(Errc::invalid_argument, "interpolate_us: unit counts and times differ in length");
  if (!(units > 0)) throw Error(Errc::invalid_argument, fmt::format("interpolate_us: {} units", units));
  if (units <= unit_counts.front()) return us.front() * unit_counts.front() / units;
  if (units >= unit_counts.back()) return us.back();
  size_t i = 1;
  while (unit_counts[i] < units) ++i;
  // Linear in x = 1/units between the two measured points.
  const double x0 = 1.0 / unit_counts[i - 1], x1 = 1.0 / unit_counts[i], x = 1.0 / units;
  return us[i] + (us[i - 1] - us[i]) * (x - x1) / (x0 - x1);
}

const ModelProfile& Profile::model(const std::string& name) const {
  for (const ModelProfile& m : models)
    if (m.model == name) return m;
  std::vector<std::string> known;
  for (const ModelProfile& m : models) known.push_back(m.model);
  throw Error(Errc::invalid_argument,
              fmt::format("profile for {} has no model \"{}\" (has: {})", device, name, fmt::join(known, ", ")));
}

void Profile::validate() const {
  if (configs.empty() || configs.size() != units.size())
    throw Error(Errc::invalid_argument, fmt::format("profile {}: configs and units must be non-empty and equal in length", device));
  for (size_t i = 0; i < models.size(); ++i) {
    const ModelProfile& m = models[i];
    for (size_t j = 0; j < i; ++j)
      if (models[j].model == m.model)
        throw Error(Errc::invalid_argument,
                    fmt::format("profile {}: model \"{}\" appears twice (models[{}] and models[{}])", device, m.model, j, i));
    if (m.kernels.empty()) throw Error(Errc::invalid_argument, fmt::format("profile {}: model {} has no kernels", device, m.model));
    for (size_t k = 0; k < m.kernels.size(); ++k) {
      const KernelProfile& kp = m.kernels[k];
      if (kp.us.size() != configs.size())
        throw Error(Errc::invalid_argument,
                    fmt::format("profile {}: model {} kernel {} ({}) has {} times but there are {} configs", device,
                                m.model, k, kp.name, kp.us.size(), configs.size()));
      for (size_t c = 0; c < kp.us.size(); ++c)
        if (!std::isfinite(kp.us[c]) || kp.us[c] <= 0)
          throw Error(Errc::invalid_argument, fmt::format("profile {}: model {} kernel {} config {}: time {} must be > 0",
                                                          device, m.model, k, configs[c], kp.us[c]));
      if (!std::isfinite(kp.energy_uj) || kp.energy_uj < 0)
        throw Error(Errc::invalid_argument, fmt::format("profile {}: model {} kernel {} ({}): energy {} uJ must be >= 0",
                                                        device, m.model, k, kp.name, kp.energy_uj));
    }
  }
}

nlohmann::json Profile::to_json() const {
  json ms = json::array();
  for (const ModelProfile& m : models) {
    json ks = json::array();
    for (const KernelProfile& k : m.kernels) {
      ks.push_back({{"name", k.name}, {"us", k.us}});
      if (k.blocks) ks.back()["blocks"] = k.blocks;
      if (k.energy_uj > 0) ks.back()["energy_uj"] = k.energy_uj;
    }
    ms.push_back({{"model", m.model}, {"host_gap_us", m.host_gap_us}, {"kernels", ks}});
  }
  return {{"format", "eclip.profile"}, {"version", kVersion}, {"device", device},
          {"configs", configs},        {"units", units},        {"models", ms}};
}

Profile Profile::from_json(const nlohmann::json& j) {
  const std::string src = "profile";
  check_format(j, "eclip.profile", kVersion, src);
  Profile p;
  p.device = require_string(j, "device", src, "top level");
  p.configs = require_counts(j, "configs", src);
  p.units = require_counts(j, "units", src);
  if (p.units.size() != p.configs.size()) throw parse_error(src, "units", "must have one entry per config");
  const json& ms = require(j, "models", src, "top level");
  if (!ms.is_array()) throw parse_error(src, "models", "expected an array");
  for (size_t m = 0; m < ms.size(); ++m) {
    const std::string where = fmt::format("models[{}]", m);
    ModelProfile mp;
    mp.model = require_string(ms[m], "model", src, where);
    if (ms[m].contains("host_gap_us")) {
      const json& g = ms[m]["host_gap_us"];
      if (!g.is_number() || !std::isfinite(g.get<double>()) || g.get<double>() < 0)
        throw parse_error(src, where + ".host_gap_us", "expected a number >= 0");
      mp.host_gap_us = g.get<double>();
    }
    mp.kernels = read_kernels(ms[m], p.configs.size(), src, where);
    p.models.push_back(std::move(mp));
  }
  p.validate();
  return p;
}

Profile Profile::load(const std::string& path) { return from_json(read_file_json(path)); }

Workload Workload::from_json(const nlohmann::json& j, const std::string& source) {
  check_format(j, "eclip.workload", kVersion, source);
  Workload w;
  w.model = require_string(j, "model", source, "top level");
  w.device = require_string(j, "device", source, "top level");
  w.unit_counts = require_counts(j, "unit_counts", source);
  if (auto it = j.find("request_latency_us"); it != j.end() && it->is_object() && it->contains("eager")) {
    const json& e = (*it)["eager"];
    if (!e.is_array() || e.size() != w.unit_counts.size())
      throw parse_error(source, "request_latency_us.eager", "expected one latency per unit count");
    w.eager_latency_full_us = require_time(e.back(), source, "request_latency_us.eager");
  }
  w.kernels = read_kernels(j, w.unit_counts.size(), source, "");
  return w;
}

Workload Workload::load(const std::string& path) { return from_json(read_file_json(path), path); }

ModelProfile Workload::project(const Topology& topo, double time_scale, double min_host_gap_us) const {
  if (!(time_scale > 0)) throw Error(Errc::invalid_argument, fmt::format("time scale {} must be > 0", time_scale));
  ModelProfile mp;
  mp.model = model;
  const double recorded_full = unit_counts.back();
  const double target_units = topo.units();
  for (const KernelProfile& k : kernels) {
    KernelProfile kp{k.name, {}, k.blocks};
    for (unsigned groups : topo.size_classes) {
      const double fraction = topo.units_of(groups) / target_units;
      kp.us.push_back(time_scale * interpolate_us(unit_counts, k.us, fraction * recorded_full));
    }
    mp.kernels.push_back(std::move(kp));
  }
  // The host launches at the target's launch-API pace (a C++ server or CUDA/HIP graphs), not at
  // the recorded eager pace: the eager runs on the H100 machine were host-bound at ~20 us per
  // kernel of Python overhead (docs/workloads.md), which would hide what partitioning changes.
  mp.host_gap_us = min_host_gap_us;
  return mp;
}

Profile make_profile(const Topology& topo, const std::vector<Workload>& workloads, double time_scale,
                     double min_host_gap_us) {
  Profile p;
  p.device = topo.name;
  p.configs = topo.size_classes;
  for (unsigned g : topo.size_classes) p.units.push_back(topo.units_of(g));
  for (const Workload& w : workloads) p.models.push_back(w.project(topo, time_scale, min_host_gap_us));
  p.validate();
  return p;
}

Profile Profile::restricted_to(const std::vector<unsigned>& wanted) const {
  std::vector<std::size_t> at;
  for (unsigned c : wanted) {
    auto it = std::find(configs.begin(), configs.end(), c);
    if (it == configs.end())
      throw Error(Errc::invalid_argument, fmt::format("profile for {} has no times at {} groups (it has {})", device, c,
                                                      fmt::join(configs, ", ")));
    at.push_back(static_cast<std::size_t>(it - configs.begin()));
  }
  Profile p{device, wanted, {}, {}};
  for (std::size_t i : at) p.units.push_back(units.at(i));
  for (const ModelProfile& m : models) {
    ModelProfile mp{m.model, m.host_gap_us, {}};
    for (const KernelProfile& k : m.kernels) {
      KernelProfile kp{k.name, {}, k.blocks, k.energy_uj};
      for (std::size_t i : at) kp.us.push_back(k.us.at(i));
      mp.kernels.push_back(std::move(kp));
    }
    p.models.push_back(std::move(mp));
  }
  return p;
}

}  // namespace eclip
