// `verge` subcommands. Each registers its options on the CLI11 app and returns the exit code.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

#include "verge/status.h"

namespace verge::cli {

using Action = std::function<int()>;

// Each add_* registers a subcommand and returns the action to run when it is selected.
Action add_inspect(CLI::App& app);
Action add_run(CLI::App& app);
Action add_bench(CLI::App& app);
Action add_conformance(CLI::App& app);
Action add_export(CLI::App& app);
Action add_eval(CLI::App& app);

// Prints "error: <status>" to stderr; returns 1 (or 2 for usage-type errors).
int report_error(const Status& st);

}  // namespace verge::cli
