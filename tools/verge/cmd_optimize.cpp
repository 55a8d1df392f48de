#include <fmt/format.h>

#include "commands.h"
#include "import/onnx/importer.h"
#include "optimize/optimize.h"

namespace verge::cli {

Action add_optimize(CLI::App& app) {
  struct Opts {
    std::string model, out, level = "all";
    std::vector<std::string> shapes;
    int block = 0;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* c = app.add_subcommand("optimize", "Apply the graph optimizer and save the result as ONNX");
  c->add_option("model", o->model, "ONNX model file")->required();
  c->add_option("--output,-o", o->out, "optimized .onnx file")->required();
  c->add_option("--level", o->level, "basic (standard ONNX) | extended (+ verge fused ops) | all (+ blocked layout)")
      ->check(CLI::IsMember({"basic", "extended", "all"}));
  c->add_option("--shape", o->shapes, "NAME=1x3x224x224: fixes symbolic input dims so shape subgraphs fold");
  c->add_option("--block", o->block, "blocked-layout channel block (8 or 16; default: this CPU's)")->check(CLI::IsMember({0, 8, 16}));
  return [o]() -> int {
    auto model = onnx_io::load_model(o->model);
    if (!model.is_ok()) return report_error(model.status());
    OptimizeOptions opts;
    opts.level = *parse_opt_level(o->level);
    opts.block = o->block;
    for (const std::string& kv : o->shapes) {
      const size_t eq = kv.find('=');
      auto shape = eq == std::string::npos ? Result<Shape>(Status::invalid_argument(fmt::format("--shape '{}' must be NAME=DIMS", kv)))
                                           : parse_shape(kv.substr(eq + 1));
      if (!shape.is_ok()) return report_error(shape.status());
      opts.input_shapes[kv.substr(0, eq)] = *shape;
    }
    const size_t before = model->graph.nodes.size();
    auto log = optimize(*model, opts);
    if (!log.is_ok()) return report_error(log.status());
    for (const PassResult& p : *log) fmt::print("{:<24} {} rewrites\n", p.pass, p.changes);
    if (Status s = onnx_io::save_model(*model, o->out); !s.is_ok()) return report_error(s);
    fmt::print("nodes {} -> {}; wrote {} (level {})\n", before, model->graph.nodes.size(), o->out, o->level);
    return 0;
  };
}

}  // namespace verge::cli
