// verge: import, inspect, run, benchmark and check ONNX models on CPUs at the edge.
#include <fmt/format.h>

#include <cstdio>
#include <map>
#include <optional>

#include "commands.h"
#include "io/dataset.h"
#include "progress.h"
#include "runtime/session_impl.h"
#include "verge/status.h"

namespace verge::cli {
void RuntimeFlags::add_to(CLI::App* cmd) {
  cmd->add_option("--threads,-t", threads, "intra-op threads")->check(CLI::Range(1, 256));
  cmd->add_option("--kernels", kernels, "best | reference")->check(CLI::IsMember({"best", "reference"}));
  cmd->add_option("--opt-level", opt_level, "graph optimization: none | basic | extended | all")
      ->check(CLI::IsMember({"none", "basic", "extended", "all"}));
  cmd->add_option("--thread-tuning-runs", thread_tuning_runs,
                  "with --threads > 1: first runs that time the model on one thread and on all, keeping the "
                  "faster (0: always all threads)")
      ->check(CLI::Range(0, 1000));
}

SessionOptions RuntimeFlags::session_options() const {
  SessionOptions so;
  so.threads = threads;
  so.reference_kernels = kernels == "reference";
  so.thread_tuning_runs = thread_tuning_runs;
  so.optimization = opt_level == "none"       ? OptLevel::kNone
                    : opt_level == "basic"    ? OptLevel::kBasic
                    : opt_level == "extended" ? OptLevel::kExtended
                                              : OptLevel::kAll;
  return so;
}

void add_preprocess_option(CLI::App* cmd, std::string& spec) {
  cmd->add_option("--preprocess", spec,
                  "image folders: resize=S|HxW,crop=S|HxW,mean=M[/M/M],std=S[/S/S],layout=nchw|nhwc,"
                  "color=rgb|bgr|gray,scale=A[/B]; defaults from the model input (docs/quantization.md)");
}

Result<LabeledImages> load_data(const std::string& path, const std::string& split, int64_t limit,
                                const std::string& spec, const IoInfo* input) {
  VERGE_ASSIGN_OR_RETURN(Preprocess pre, parse_preprocess(spec));
  std::optional<Progress> bar;  // image folders: decoding can take a while
  auto on_image = [&](int64_t done, int64_t total) {
    if (!bar) bar.emplace("decode", total);
    if (done < total)
      bar->update(done);
    else
      bar->finish();
  };
  auto r = load_dataset(
      path,
      {.split = split, .limit = limit, .preprocess = std::move(pre), .input = input, .on_image = on_image});
  if (!r.is_ok() && bar) std::fputc('\n', stderr);  // end the bar's line before the error
  return r;
}

Result<LabeledImages> load_data(const std::string& path, const std::string& split, int64_t limit,
                                const std::string& spec, const ir::Graph& graph) {
  if (graph.inputs.empty()) return load_data(path, split, limit, spec, nullptr);
  const IoInfo input = io_info(graph.value(graph.inputs[0]));
  return load_data(path, split, limit, spec, &input);
}

int report_error(const Status& st) {
  fmt::print(stderr, "error: {}\n", st.to_string());
  return st.code() == StatusCode::kInvalidArgument ? 2 : 1;
}
}  // namespace verge::cli

int main(int argc, char** argv) {
  CLI::App app{"verge — run trained models well on edge CPUs"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "verge 0.1.0");
  std::map<CLI::App*, verge::cli::Action> actions;
  auto add = [&](auto fn) {
    const size_t before = app.get_subcommands({}).size();
    verge::cli::Action a = fn(app);
    actions[app.get_subcommands({})[before]] = std::move(a);
  };
  add(verge::cli::add_inspect);
  add(verge::cli::add_run);
  add(verge::cli::add_bench);
  add(verge::cli::add_conformance);
  add(verge::cli::add_export);
  add(verge::cli::add_eval);
  add(verge::cli::add_optimize);
  add(verge::cli::add_train);
  add(verge::cli::add_distill);
  add(verge::cli::add_qat);
  add(verge::cli::add_keygen);
  add(verge::cli::add_pack);
  add(verge::cli::add_verify);
  add(verge::cli::add_serve);
  add(verge::cli::add_infer);
  add(verge::cli::add_quantize);
  add(verge::cli::add_prune);
  add(verge::cli::add_sysinfo);
  CLI11_PARSE(app, argc, argv);
  for (auto& [sub, action] : actions)
    if (sub->parsed()) return action();
  return 2;
}
