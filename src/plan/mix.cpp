#include "eclip/plan/mix.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "eclip/core/error.hpp"

namespace eclip {
namespace {

using json = nlohmann::json;

Error mix_error(const std::string& where, const std::string& what) {
  return Error(Errc::parse, fmt::format("mix: {}: {}", where, what));
}

}  // namespace

std::vector<Mix> Mix::defaults() {
  const auto& m = paper_models();
  std::vector<Mix> out;
  for (size_t i = 0; i < m.size(); ++i)
    out.push_back(Mix{fmt::format("mix{}", i + 1), {m[i % 7], m[(i + 1) % 7], m[(i + 2) % 7], m[(i + 4) % 7]}});
  return out;
}

Mix Mix::from_json(const nlohmann::json& j) {
  if (!j.is_object()) throw mix_error("mix", "expected an object");
  Mix mix;
  auto n = j.find("name");
  if (n == j.end() || !n->is_string()) throw mix_error("name", "missing or not a string");
  mix.name = n->get<std::string>();
  auto ms = j.find("models");
  if (ms == j.end() || !ms->is_array()) throw mix_error(mix.name + ".models", "missing or not an array");
  if (ms->empty()) throw mix_error(mix.name + ".models", "a mix needs at least one worker");
  for (size_t i = 0; i < ms->size(); ++i) {
    if (!(*ms)[i].is_string()) throw mix_error(fmt::format("{}.models[{}]", mix.name, i), "expected a model name");
    mix.models.push_back((*ms)[i].get<std::string>());
  }
  return mix;
}

std::vector<Mix> Mix::list_from_json(const nlohmann::json& j) {
  if (!j.is_object()) throw mix_error("top level", "expected an object");
  if (!j.contains("format") || j["format"] != "eclip.mix") throw mix_error("format", "expected \"eclip.mix\"");
  if (!j.contains("version") || !j["version"].is_number_integer() || j["version"] != 1)
    throw mix_error("version", "expected the integer 1");
  if (!j.contains("mixes") || !j["mixes"].is_array()) throw mix_error("mixes", "missing or not an array");
  std::vector<Mix> out;
  for (const json& m : j["mixes"]) out.push_back(from_json(m));
  return out;
}

json Mix::list_to_json(const std::vector<Mix>& mixes) {
  json list = json::array();
  for (const Mix& m : mixes) list.push_back({{"name", m.name}, {"models", m.models}});
  return {{"format", "eclip.mix"}, {"version", 1}, {"mixes", list}};
}

}  // namespace eclip
