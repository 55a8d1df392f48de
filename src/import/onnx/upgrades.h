#pragma once

#include "ir/graph.h"

namespace verge::onnx_io {

// Rewrites nodes of older schema versions (Node::since_version) into the opset-17 form, in place.
// New helper nodes are appended; the caller sorts the graph afterwards.
Status upgrade_graph(ir::Graph& g);

}  // namespace verge::onnx_io
