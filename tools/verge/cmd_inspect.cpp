#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <map>

#include "commands.h"
#include "import/onnx/importer.h"
#include "runtime/plan.h"

namespace verge::cli {

namespace {

nlohmann::json io_json(const ir::Value& v) {
  nlohmann::json dims = nlohmann::json::array();
  for (const ir::Dim& d : v.type.dims) {
    if (d.is_fixed()) dims.push_back(d.value);
    else dims.push_back(d.symbol.empty() ? "?" : d.symbol);
  }
  return {{"name", v.name}, {"dtype", dtype_name(v.type.dtype)}, {"shape", v.type.has_shape ? dims : nlohmann::json(nullptr)}};
}

// Multiply-accumulates of the compute-heavy ops, from the shapes of a plan with symbolic dims = 1.
int64_t estimate_macs(const ir::Graph& g, const Plan& plan) {
  int64_t macs = 0;
  for (const ir::Node& n : g.nodes) {
    auto type = [&](ir::ValueId v) { return v == ir::kNoValue ? nullptr : plan.value_type(v); };
    const TensorType* x = type(n.input(0));
    const TensorType* w = type(n.input(1));
    const TensorType* y = type(n.output(0));
    if (!x || !y) continue;
    switch (n.op) {
      case OpId::Conv:
      case OpId::ConvInteger:
        if (w) macs += shape_numel(y->shape) * (shape_numel(w->shape) / std::max<int64_t>(1, w->shape[0]));
        break;
      case OpId::QLinearConv:
        if (const TensorType* qw = type(n.input(3)))
          macs += shape_numel(y->shape) * (shape_numel(qw->shape) / std::max<int64_t>(1, qw->shape[0]));
        break;
      case OpId::ConvTranspose:
        if (w) macs += shape_numel(x->shape) * (shape_numel(w->shape) / std::max<int64_t>(1, w->shape[0]));
        break;
      case OpId::Gemm:
        if (w) {
          const int64_t k = n.get_int("transA", 0) ? x->shape[0] : x->shape[1];
          macs += shape_numel(y->shape) * k;
        }
        break;
      case OpId::MatMul:
      case OpId::MatMulInteger:
        if (!x->shape.empty()) macs += shape_numel(y->shape) * x->shape.back();
        break;
      case OpId::QLinearMatMul:
        if (!x->shape.empty()) macs += shape_numel(y->shape) * x->shape.back();
        break;
      default: break;
    }
  }
  return macs;
}

}  // namespace

Action add_inspect(CLI::App& app) {
  struct Opts {
    std::string model;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* c = app.add_subcommand("inspect", "Show inputs, outputs, op histogram, parameters and MACs of a model");
  c->add_option("model", o->model, "ONNX model file")->required();
  c->add_flag("--json", o->json, "print one JSON object");
  return [o]() -> int {
    onnx_io::ImportOptions io;
    io.allow_unknown_ops = true;
    auto model = onnx_io::load_model(o->model, io);
    if (!model.is_ok()) return report_error(model.status());
    const ir::Graph& g = model->graph;
    const ir::GraphStats st = ir::graph_stats(g);
    std::vector<ValueBinding> bindings;
    for (ir::ValueId id : g.inputs) {
      const ir::ValueType& t = g.value(id).type;
      Shape shape;
      for (const ir::Dim& d : t.dims) shape.push_back(d.is_fixed() ? d.value : 1);
      bindings.push_back({id, TensorType{t.dtype, shape}, nullptr});
    }
    ExecOptions eo;
    eo.kernels = KernelPolicy::kReference;
    auto plan = Plan::build(g, bindings, eo);
    const int64_t macs = plan.is_ok() ? estimate_macs(g, **plan) : -1;
    std::vector<std::string> unsupported;
    for (const auto& [op, count] : st.op_counts)
      for (const ir::Node& n : g.nodes)
        if (n.op == OpId::kUnknown && n.op_type == op) {
          unsupported.push_back(op);
          break;
        }
    if (o->json) {
      nlohmann::json j;
      j["model"] = o->model;
      j["opset"] = model->opset;
      j["ir_version"] = model->ir_version;
      j["producer"] = model->producer_name + (model->producer_version.empty() ? "" : " " + model->producer_version);
      j["inputs"] = nlohmann::json::array();
      for (ir::ValueId id : g.inputs) j["inputs"].push_back(io_json(g.value(id)));
      j["outputs"] = nlohmann::json::array();
      for (ir::ValueId id : g.outputs) j["outputs"].push_back(io_json(g.value(id)));
      j["nodes"] = g.nodes.size();
      j["ops"] = st.op_counts;
      j["parameters"] = st.parameters;
      j["parameter_bytes"] = st.parameter_bytes;
      j["macs"] = macs >= 0 ? nlohmann::json(macs) : nlohmann::json(nullptr);
      j["unsupported_ops"] = unsupported;
      fmt::print("{}\n", j.dump());
      return 0;
    }
    fmt::print("model       {}\nproducer    {} {}\nopset       {} (IR version {})\n", o->model, model->producer_name,
               model->producer_version, model->opset, model->ir_version);
    fmt::print("inputs\n");
    for (ir::ValueId id : g.inputs) fmt::print("  {:<24} {}\n", g.value(id).name, g.value(id).type.to_string());
    fmt::print("outputs\n");
    for (ir::ValueId id : g.outputs) fmt::print("  {:<24} {}\n", g.value(id).name, g.value(id).type.to_string());
    fmt::print("nodes       {}\n", g.nodes.size());
    for (const auto& [op, count] : st.op_counts) fmt::print("  {:<24} {}\n", op, count);
    fmt::print("parameters  {} ({:.2f} MiB)\n", st.parameters, static_cast<double>(st.parameter_bytes) / 1048576.0);
    if (macs >= 0) fmt::print("MACs        {} ({:.3f} G, symbolic dims = 1)\n", macs, static_cast<double>(macs) / 1e9);
    else fmt::print("MACs        unknown ({})\n", plan.status().message());
    if (!unsupported.empty()) fmt::print("unsupported {}\n", fmt::join(unsupported, ", "));
    return 0;
  };
}

Action add_export(CLI::App& app) {
  struct Opts {
    std::string model, out;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* c = app.add_subcommand("export", "Import a model and write it back as ONNX (opset 17, canonical form)");
  c->add_option("model", o->model, "ONNX model file")->required();
  c->add_option("--output,-o", o->out, "output .onnx file")->required();
  return [o]() -> int {
    auto model = onnx_io::load_model(o->model);
    if (!model.is_ok()) return report_error(model.status());
    if (Status s = onnx_io::save_model(*model, o->out); !s.is_ok()) return report_error(s);
    fmt::print("wrote {} (opset {})\n", o->out, onnx_io::kMaxOpset);
    return 0;
  };
}

}  // namespace verge::cli
