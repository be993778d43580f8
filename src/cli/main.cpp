// eclip: the command-line tool. `eclip simulate` is the main job: co-location mixes under every
// strategy on the built-in simulated device, one table per mix. `eclip plan` writes a strategy's
// plans; `eclip profile` measures a real GPU through the Python package; `eclip tune` picks a plan
// by measuring candidates (on the GPU through the package, or on the simulated device). One file per subcommand
// (*_command.cpp); files are written through output_files.hpp, values read through values.hpp.
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "commands.hpp"
#include "eclip/core/error.hpp"
#include "errors.hpp"

int main(int argc, char** argv) {
  using namespace eclip::cli;
  CLI::App app{"eclip: energy-efficient co-location of ML inference on spatially partitioned GPUs"};
  app.set_version_flag("--version", std::string("eclip ") + ECLIP_VERSION);
  app.footer(
      "Exit codes: 0 done; 1 a run or a file write failed; 2 bad input (the message names it); 3 done with gaps: a "
      "strategy or mix could not be run, or a run in which no request finished (printed as n/a); each is "
      "reported on stderr. A worker with no finished request in its window gets n/a and a warning, exit 0.\nProgress goes to stderr once a run passes $ECLIP_PROGRESS_AFTER seconds (default 3).");
  app.require_subcommand(1);
  const auto simulate = add_simulate(app);
  const auto plan = add_plan(app);
  const auto profile = add_profile(app);
  const auto tune = add_tune(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kUsage;
  }

  try {
    if (app.got_subcommand("simulate")) return simulate();
    if (app.got_subcommand("plan")) return plan();
    if (app.got_subcommand("profile")) return profile();
    if (app.got_subcommand("tune")) return tune();
  } catch (const UsageError& e) {
    fmt::print(stderr, "eclip: error: {}\n", e.what());
    return kUsage;
  } catch (const IoError& e) {
    fmt::print(stderr, "eclip: error: {}\n", e.what());
    return kFailed;
  } catch (const eclip::Error& e) {
    fmt::print(stderr, "eclip: error: {}\n", e.what());
    const bool usage = e.code() == eclip::Errc::invalid_argument || e.code() == eclip::Errc::parse ||
                       e.code() == eclip::Errc::capacity;
    return usage ? kUsage : kFailed;
  } catch (const std::exception& e) {
    fmt::print(stderr, "eclip: error: {}\n", e.what());
    return kFailed;
  }
  return kOk;
}
