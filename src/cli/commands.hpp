#pragma once
// The subcommands. Each adds its options to the app and returns an exit code (errors.hpp) when run.
#include <functional>

#include <CLI/CLI.hpp>

namespace eclip::cli {

/// Adds the subcommand and returns what runs it once the command line is parsed.
std::function<int()> add_simulate(CLI::App& app);
std::function<int()> add_plan(CLI::App& app);
std::function<int()> add_profile(CLI::App& app);
std::function<int()> add_tune(CLI::App& app);

}  // namespace eclip::cli
