// verge: import, inspect, run, benchmark and check ONNX models on CPUs at the edge.
#include <fmt/format.h>

#include <cstdio>
#include <map>

#include "commands.h"
#include "verge/status.h"

namespace verge::cli {
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
  CLI11_PARSE(app, argc, argv);
  for (auto& [sub, action] : actions)
    if (sub->parsed()) return action();
  return 2;
}
