// `verge` subcommands. Each registers its options on the CLI11 app and returns the exit code.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

#include "io/idx.h"
#include "ir/graph.h"
#include "verge/session.h"
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
Action add_optimize(CLI::App& app);
Action add_train(CLI::App& app);
Action add_distill(CLI::App& app);
Action add_qat(CLI::App& app);
Action add_keygen(CLI::App& app);
Action add_pack(CLI::App& app);
Action add_verify(CLI::App& app);
Action add_serve(CLI::App& app);
Action add_infer(CLI::App& app);
// Reads a bearer-token file for serve/infer (surrounding whitespace trimmed; error if empty).
Result<std::string> read_token_file(const std::string& path);
Action add_quantize(CLI::App& app);
Action add_prune(CLI::App& app);
Action add_sysinfo(CLI::App& app);

// --threads / --kernels / --opt-level / --thread-tuning-runs, shared by every command that runs a model.
struct RuntimeFlags {
  int threads = 1;
  int thread_tuning_runs = SessionOptions{}.thread_tuning_runs;
  std::string kernels = "best";
  std::string opt_level = "all";
  void add_to(CLI::App* cmd);
  SessionOptions session_options() const;
};

// --preprocess SPEC, for every command that reads data (image folders; src/io/dataset.h).
void add_preprocess_option(CLI::App* cmd, std::string& spec);

// The dataset at `path` (src/io/dataset.h) with the parsed --preprocess `spec`, shaped for the model input
// `input` (null: as stored). A malformed `spec` is InvalidArgument naming the key.
Result<LabeledImages> load_data(const std::string& path, const std::string& split, int64_t limit,
                                const std::string& spec, const IoInfo* input);
// The same, shaped for the first input of `graph` (as stored when it has none).
Result<LabeledImages> load_data(const std::string& path, const std::string& split, int64_t limit,
                                const std::string& spec, const ir::Graph& graph);

// Prints "error: <status>" to stderr; returns 1 (or 2 for usage-type errors).
int report_error(const Status& st);

}  // namespace verge::cli
