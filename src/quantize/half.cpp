#include <fmt/format.h>

#include <cmath>

#include "import/onnx/importer.h"
#include "optimize/graph_edit.h"
#include "optimize/optimize.h"
#include "quantize/quantize.h"
#include "quantize/rewrite.h"

namespace verge::quant {

Result<QuantizeResult> quantize_half(const ir::Model& fp32, DType storage, const QuantizeOptions& o) {
  if (storage != DType::kFloat16 && storage != DType::kBFloat16)
    return Status::invalid_argument("half-precision storage must be float16 or bfloat16");
  QuantizeResult result;
  ir::Model& model = result.model;
  model = fp32;
  VERGE_RETURN_IF_ERROR(prepare_for_quantization(model));
  ir::Graph& g = model.graph;
  QuantizeReport& rep = result.report;
  rep.method = std::string(dtype_name(storage));
  VERGE_ASSIGN_OR_RETURN(std::string fp32_bytes, onnx_io::save_model_to_bytes(fp32));
  rep.size_fp32 = static_cast<int64_t>(fp32_bytes.size());
  // Initializers read by excluded nodes stay float32.
  std::vector<char> keep(g.values.size(), 0);
  for (const ir::Node& n : g.nodes)
    if (std::find(o.exclude.begin(), o.exclude.end(), n.name) != o.exclude.end())
      for (ir::ValueId v : n.inputs)
        if (v != ir::kNoValue) keep[static_cast<size_t>(v)] = 1;
  std::vector<ir::Node> added;
  const size_t values = g.values.size();
  for (size_t i = 0; i < values; ++i) {
    const auto v = static_cast<ir::ValueId>(i);
    const Tensor* c = opt::constant_of(g, v);
    if (!c || c->dtype() != DType::kFloat32 || c->numel() < 16 || keep[i]) continue;
    const auto x = c->values<float>();
    if (storage == DType::kFloat16 &&
        std::any_of(x.begin(), x.end(), [](float f) { return std::isfinite(f) && std::fabs(f) > 65504.f; })) {
      rep.float_nodes.push_back(
          fmt::format("initializer '{}': values beyond the float16 range", g.value(v).name));
      continue;
    }
    Tensor h = Tensor::allocate(storage, c->shape()).value();
    SqnrAccumulator acc;
    for (size_t k = 0; k < x.size(); ++k) {
      float back;
      if (storage == DType::kFloat16) {
        h.data<float16_t>()[k] = float16_t(x[k]);
        back = h.data<float16_t>()[k];
      } else {
        h.data<bfloat16_t>()[k] = bfloat16_t(x[k]);
        back = h.data<bfloat16_t>()[k];
      }
      acc.add({&x[k], 1}, {&back, 1});
    }
    const std::string name = g.value(v).name;
    const ir::ValueId hv = g.add_constant(name + "_" + rep.method, std::move(h));
    const ir::ValueId out = g.add_value(name + "_" + rep.method + "_Cast", true);
    g.value(out).type.dtype = DType::kFloat32;
    opt::replace_uses(g, v, out);
    ir::Node cast;
    cast.op = OpId::Cast;
    cast.op_type = "Cast";
    cast.since_version = 13;
    cast.name = name + "_Cast";
    cast.inputs = {hv};
    cast.outputs = {out};
    ir::Attribute to;
    to.name = "to";
    to.type = ir::AttrType::kInt;
    to.i = static_cast<int64_t>(DType::kFloat32);
    cast.attrs.push_back(to);
    added.push_back(std::move(cast));
    rep.tensors.push_back({name, "weight", "", rep.method, -1, 0, 0, {}, {}, acc.db()});
  }
  VERGE_RETURN_IF_ERROR(insert_and_prune(g, added));
  VERGE_RETURN_IF_ERROR(finish_quantized_model(model, rep));
  return result;
}

}  // namespace verge::quant
