#include "quantize/rewrite.h"

#include "import/onnx/importer.h"
#include "optimize/optimize.h"

namespace verge::quant {

Status prepare_for_quantization(ir::Model& model) {
  OptimizeOptions oo;
  oo.level = OptLevel::kBasic;
  VERGE_ASSIGN_OR_RETURN(auto passes, optimize(model, oo));
  (void)passes;
  return Status::ok();
}

Status insert_and_prune(ir::Graph& g, std::vector<ir::Node>& added) {
  for (ir::Node& n : added) g.add_node(std::move(n));
  added.clear();
  VERGE_RETURN_IF_ERROR(g.reindex());
  VERGE_RETURN_IF_ERROR(g.topological_sort());
  g.remove_dead();
  return Status::ok();
}

Status finish_quantized_model(ir::Model& model, QuantizeReport& report) {
  model.producer_name = "verge-quantize";
  VERGE_ASSIGN_OR_RETURN(std::string bytes, onnx_io::save_model_to_bytes(model));
  report.size_quantized = static_cast<int64_t>(bytes.size());
  return Status::ok();
}

}  // namespace verge::quant
