// Steps shared by every quantization mode (static QDQ, dynamic, half-precision storage): the same
// basic-level optimization before rewriting, and the same finishing after it.
#pragma once

#include <vector>

#include "ir/graph.h"
#include "quantize/quantize.h"

namespace verge::quant {

// Basic-level graph optimization (folding, dead nodes) that keeps the model's tensor names.
Status prepare_for_quantization(ir::Model& model);
// Adds `added` to the graph, reindexes, sorts topologically and drops what nothing reads any more.
Status insert_and_prune(ir::Graph& g, std::vector<ir::Node>& added);
// Stamps the producer and records the serialized size in report.size_quantized.
Status finish_quantized_model(ir::Model& model, QuantizeReport& report);

}  // namespace verge::quant
