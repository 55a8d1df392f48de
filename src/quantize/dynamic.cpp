#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "import/onnx/importer.h"
#include "optimize/graph_edit.h"
#include "optimize/optimize.h"
#include "quantize/quantize.h"
#include "quantize/rewrite.h"

namespace verge::quant {
namespace {

using ir::kNoValue;
using ir::NodeId;
using ir::ValueId;

ir::Node make_node(OpId op, std::string_view type, std::string name, std::vector<ValueId> in,
                   std::vector<ValueId> out, int since) {
  ir::Node n;
  n.op = op;
  n.op_type = std::string(type);
  n.name = std::move(name);
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  n.since_version = since;
  return n;
}

ValueId new_value(ir::Graph& g, const std::string& name, DType dtype) {
  const ValueId v = g.add_value(name, true);
  g.value(v).type.dtype = dtype;
  return v;
}

}  // namespace

Result<QuantizeResult> quantize_dynamic(const ir::Model& fp32, const QuantizeOptions& o) {
  QuantizeResult result;
  ir::Model& model = result.model;
  model = fp32;
  VERGE_RETURN_IF_ERROR(prepare_for_quantization(model));
  ir::Graph& g = model.graph;
  const std::set<std::string> exclude(o.exclude.begin(), o.exclude.end());
  for (const std::string& name : exclude)
    if (std::none_of(g.nodes.begin(), g.nodes.end(), [&](const ir::Node& n) { return n.name == name; }))
      return Status::invalid_argument(fmt::format("--exclude '{}': no node of that name", name));
  const auto types = opt::infer_value_types(g);
  QuantizeReport& rep = result.report;
  rep.method = "dynamic";
  rep.per_channel = o.per_channel;
  VERGE_ASSIGN_OR_RETURN(std::string fp32_bytes, onnx_io::save_model_to_bytes(fp32));
  rep.size_fp32 = static_cast<int64_t>(fp32_bytes.size());
  std::vector<char> dead(g.nodes.size(), 0);
  std::vector<ir::Node> added;
  const size_t original = g.nodes.size();
  for (size_t i = 0; i < original; ++i) {
    const ir::Node n = g.nodes[i];
    if (n.op != OpId::MatMul && n.op != OpId::Gemm) continue;
    const auto id = static_cast<NodeId>(i);
    if (exclude.count(n.name)) {
      rep.float_nodes.push_back(n.label(id) + ": excluded");
      continue;
    }
    const Tensor* w = opt::constant_of(g, n.input(1));
    const auto& ta = types[static_cast<size_t>(n.input(0))];
    const bool gemm_ok =
        n.op != OpId::Gemm || (n.get_int("transA", 0) == 0 && n.get_float("alpha", 1.f) == 1.f);
    if (!w || w->dtype() != DType::kFloat32 || w->rank() != 2 || !ta || ta->dtype != DType::kFloat32 ||
        !gemm_ok) {
      rep.float_nodes.push_back(n.label(id) +
                                ": weight not a constant float32 matrix / unsupported attributes");
      continue;
    }
    // Weight as [K, N] int8, symmetric, per column (N) or per tensor.
    const bool trans_b = n.op == OpId::Gemm && n.get_int("transB", 0) != 0;
    const int64_t k = trans_b ? w->dim(1) : w->dim(0), cols = trans_b ? w->dim(0) : w->dim(1);
    auto at = [&](int64_t r, int64_t c) { return w->data<float>()[trans_b ? c * k + r : r * cols + c]; };
    std::vector<float> absmax(static_cast<size_t>(o.per_channel ? cols : 1), 0.f);
    for (int64_t r = 0; r < k; ++r)
      for (int64_t c = 0; c < cols; ++c) {
        float& a = absmax[o.per_channel ? static_cast<size_t>(c) : 0];
        a = std::max(a, std::fabs(at(r, c)));
      }
    std::vector<float> scales;
    for (float a : absmax) scales.push_back(int8_symmetric_params(a).scale);
    Tensor q = Tensor::allocate(DType::kInt8, {k, cols}).value();
    SqnrAccumulator acc;
    for (int64_t r = 0; r < k; ++r)
      for (int64_t c = 0; c < cols; ++c) {
        const float s = scales[o.per_channel ? static_cast<size_t>(c) : 0], x = at(r, c);
        const auto v = static_cast<int8_t>(std::clamp(std::nearbyint(x / s), -127.f, 127.f));
        q.data<int8_t>()[r * cols + c] = v;
        const float back = static_cast<float>(v) * s;
        acc.add({&x, 1}, {&back, 1});
      }
    const std::string base = n.name.empty() ? g.value(n.output(0)).name : n.name;
    const std::string wname = g.value(n.input(1)).name;
    const bool vec = scales.size() > 1;
    const ValueId wq = g.add_constant(wname + "_quantized", std::move(q));
    const std::vector<int8_t> zeros(scales.size(), 0);
    const ValueId wzp = g.add_constant(
        wname + "_zero_point", vec ? Tensor::from_vector<int8_t>({cols}, zeros) : Tensor::scalar<int8_t>(0));
    const ValueId wscale = g.add_constant(wname + "_scale", vec ? Tensor::from_vector<float>({cols}, scales)
                                                                : Tensor::scalar<float>(scales[0]));
    const ValueId aq = new_value(g, base + "_input_quantized", DType::kUInt8);
    const ValueId as = new_value(g, base + "_input_scale", DType::kFloat32);
    const ValueId az = new_value(g, base + "_input_zero_point", DType::kUInt8);
    added.push_back(make_node(OpId::DynamicQuantizeLinear, "DynamicQuantizeLinear",
                              base + "_DynamicQuantizeLinear", {n.input(0)}, {aq, as, az}, 11));
    const ValueId yi = new_value(g, base + "_output_int32", DType::kInt32);
    added.push_back(make_node(OpId::MatMulInteger, "MatMulInteger", base + "_MatMulInteger",
                              {aq, wq, az, wzp}, {yi}, 10));
    const ValueId yf = new_value(g, base + "_output_float", DType::kFloat32);
    ir::Node cast = make_node(OpId::Cast, "Cast", base + "_Cast", {yi}, {yf}, 13);
    ir::Attribute to;
    to.name = "to";
    to.type = ir::AttrType::kInt;
    to.i = static_cast<int64_t>(DType::kFloat32);
    cast.attrs.push_back(to);
    added.push_back(std::move(cast));
    const ValueId sc = new_value(g, base + "_output_scale", DType::kFloat32);
    added.push_back(make_node(OpId::Mul, "Mul", base + "_scale_Mul", {as, wscale}, {sc}, 14));
    const bool has_bias = n.op == OpId::Gemm && n.input(2) != kNoValue;
    const ValueId scaled = has_bias ? new_value(g, base + "_output_scaled", DType::kFloat32) : n.output(0);
    added.push_back(make_node(OpId::Mul, "Mul", base + "_output_Mul", {yf, sc}, {scaled}, 14));
    if (has_bias) {
      ValueId bias = n.input(2);
      const float beta = n.get_float("beta", 1.f);
      if (beta != 1.f) {
        const ValueId bv = g.add_constant(base + "_beta", Tensor::scalar<float>(beta));
        const ValueId bb = new_value(g, base + "_bias_scaled", DType::kFloat32);
        added.push_back(make_node(OpId::Mul, "Mul", base + "_beta_Mul", {bias, bv}, {bb}, 14));
        bias = bb;
      }
      added.push_back(make_node(OpId::Add, "Add", base + "_bias_Add", {scaled, bias}, {n.output(0)}, 14));
    }
    g.nodes[i].outputs.clear();  // keeps reindex() consistent until the node is erased
    g.nodes[i].inputs.clear();
    dead[i] = 1;
    rep.quantized_nodes.push_back(n.label(id));
    rep.candidate_layers.push_back(n.name);
    rep.tensors.push_back({wname, "weight", n.name, "int8", vec ? 1 : -1, 0, 0, scales,
                           std::vector<int32_t>(scales.size(), 0), acc.db()});
  }
  opt::erase_nodes(g, dead);
  VERGE_RETURN_IF_ERROR(insert_and_prune(g, added));
  VERGE_RETURN_IF_ERROR(finish_quantized_model(model, rep));
  return result;
}

}  // namespace verge::quant
