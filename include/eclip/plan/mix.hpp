#pragma once
// Mixes: named sets of models co-located together, one worker per model, and the paper's defaults.
// The CLI, the experiments and the C ABI (eclip_default_mixes, so that Python tools and the
// library name the same mixes) read them from here.
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace eclip {

/// The paper's seven models (ECLIP, arXiv 2506.12598), in the order mixes index them.
inline const std::vector<std::string>& paper_models() {
  static const std::vector<std::string> m{"albert",           "densenet201",        "alexnet", "resnet152",
                                          "resnext101_32x8d", "shufflenet_v2_x1_0", "vgg19"};
  return m;
}

struct Mix {
  std::string name;
  std::vector<std::string> models;  ///< one worker per entry

  /// The seven default mixes of four workers: mix i holds models {i, i+1, i+2, i+4} (mod 7) of
  /// paper_models(). {0,1,2,4} is a (7,4,2) difference set, so every model is in exactly 4 mixes
  /// and every pair of models shares exactly 2: each model and each pairing is weighed equally.
  static std::vector<Mix> defaults();
  /// {"name": "...", "models": ["...", ...]}; errors name the field.
  static Mix from_json(const nlohmann::json& j);
  /// {"format": "eclip.mix", "version": 1, "mixes": [ {...}, ... ]}
  static std::vector<Mix> list_from_json(const nlohmann::json& j);
  /// The same document for `mixes` (list_from_json reads it back).
  static nlohmann::json list_to_json(const std::vector<Mix>& mixes);
};

}  // namespace eclip
