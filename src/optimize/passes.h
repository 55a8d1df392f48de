// Optimizer passes (see optimize.h for what each level runs). Each returns the number of rewrites.
#pragma once

#include <map>
#include <string>

#include "ir/graph.h"

namespace verge::opt {

int eliminate_identities(ir::Graph& g);
// keep_dequantize: DequantizeLinear of integer constants stays (fuse_qdq needs to see QDQ weights).
Result<int> fold_constants(ir::Graph& g, const std::map<std::string, Shape>& input_shapes, bool keep_dequantize = false);
int remove_dead_nodes(ir::Graph& g);
int fold_batch_norm(ir::Graph& g);
int matmul_add_to_gemm(ir::Graph& g);
int fuse_conv_activation(ir::Graph& g);
int fuse_gemm_activation(ir::Graph& g);
// QDQ patterns -> integer ops: QLinearConv (Conv, Gemm, MatMul), quantized MaxPool / data movement,
// cancelling Q(DQ(x)) pairs (quantized.cpp).
int fuse_qdq(ir::Graph& g);
// Blocked (NCHWc) layout for 2-D float convolutions and the ops around them (layout.cpp).
Result<int> blocked_layout(ir::Graph& g, int block);

}  // namespace verge::opt
