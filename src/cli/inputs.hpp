#pragma once
// What `simulate` and `plan` both read: the simulated device, the mixes, the switch budget, the
// tolerance and the profile, from their shared options. Every value is checked here, before any
// work is done, and a bad one is a UsageError naming the option and the value.
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "eclip/backend/sim.hpp"
#include "eclip/core/switch_budget.hpp"
#include "eclip/experiments/colocation.hpp"
#include "eclip/plan/profile.hpp"

namespace eclip::cli {

/// The options as typed (text: values.hpp parses them strictly).
struct CommonOptions {
  std::string device = "mi50";
  std::vector<std::string> mixes{"all"};
  std::string mix_file, workloads, budget = "14", tolerance, profile;
};

/// Adds --device, --mix, --mix-file, --workloads, --budget, --tolerance and --profile to `cmd`.
void add_common_options(CLI::App* cmd, CommonOptions& c);

struct Inputs {
  SimDeviceModel device;
  std::vector<Mix> mixes;  ///< each once, in the order asked for (all: the file's or default order)
  SwitchBudget budget = SwitchBudget::unlimited();
  double tolerance = 0;
};

/// Checks every option and reads the device and the mixes (not yet the profile: it is the slow part).
Inputs read_inputs(const CommonOptions& c);

/// The profile the mixes need: --profile as is (it must match the device), or the bundled (or
/// --workloads) recordings projected on the device.
Profile read_profile(const CommonOptions& c, const Inputs& in);

}  // namespace eclip::cli
