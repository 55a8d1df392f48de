// Graph optimizer: rewrites an ir::Model into an equivalent, faster one. Used by `verge optimize` and,
// at the session's optimization level, automatically when a Session is created.
//
// Levels (each includes the previous):
//   basic     standard ONNX out (ONNX Runtime loads it): Identity/Dropout removal, constant folding
//             (shape subgraphs too when every input shape is static or given), dead-node removal,
//             BatchNormalization folded into Conv, MatMul + Add -> Gemm.
//   extended  fuses into Verge's own ops (domain "verge"): Conv + bias + [residual Add] + activation ->
//             verge.FusedConv, Gemm + activation -> verge.FusedGemm; activations include
//             x*Sigmoid(x) (SiLU) and x*HardSigmoid(x; 1/6, 1/2) (HardSwish).
//   all       + blocked layout: 2-D float convolutions, pools and the elementwise ops between them run
//             on NCHWc tensors (c = 16 with AVX-512, 8 with AVX2); reorders only at the region edges.
// Every pass preserves the model's results (tests compare against the unoptimized model).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "verge/session.h"

namespace verge {

// Parses "none|basic|extended|all".
Result<OptLevel> parse_opt_level(std::string_view s);
std::string_view opt_level_name(OptLevel l);

struct OptimizeOptions {
  OptLevel level = OptLevel::kAll;
  // Channel block of the blocked layout; 0 = choose from the CPU (16 AVX-512, 8 AVX2, none otherwise).
  int block = 0;
  // Concrete shapes for inputs with symbolic dims (enables shape-subgraph folding).
  std::map<std::string, Shape> input_shapes;
};

struct PassResult {
  std::string pass;
  int changes = 0;
};

// Optimizes `model` in place. On error the model is left unchanged.
Result<std::vector<PassResult>> optimize(ir::Model& model, const OptimizeOptions& options);

// The block size the `all` level uses on this CPU (0 = no blocked layout).
int default_block_size();

}  // namespace verge
