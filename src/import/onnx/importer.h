// ONNX model file -> Verge IR (ir::Model), and back.
//
// Import is the trust boundary for model files: everything is validated here (protobuf well-formedness,
// the ONNX checker, opset range, every op and schema version against the op table, dtypes, tensor
// sizes, external-data paths, graph structure) and errors name the file, node and tensor. Nodes from
// older opsets are rewritten into the opset-17 form the IR uses (see upgrades.cpp).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ir/graph.h"

namespace verge::onnx_io {

inline constexpr int kMinOpset = 1;  // oldest ai.onnx opset accepted (nodes must still map to supported schemas)
inline constexpr int kMaxOpset = 17;

struct ImportOptions {
  // Keep nodes whose op Verge does not implement (as OpId::kUnknown) instead of failing; for `inspect`
  // and conformance triage. Sessions still refuse to plan them.
  bool allow_unknown_ops = false;
  // Run onnx::checker::check_model on the proto first.
  bool run_checker = true;
};

Result<ir::Model> load_model(const std::string& path, const ImportOptions& options = {});
// `label` names the model in errors; `base_dir` resolves external data.
Result<ir::Model> load_model_from_bytes(std::string_view bytes, const std::string& label,
                                        const std::string& base_dir, const ImportOptions& options = {});

// Operators a model file uses, as "op_type" or "domain.op_type", subgraphs included. For triage
// (conformance runs, inspect); does not validate the model beyond protobuf parsing.
Result<std::vector<std::string>> list_operators(const std::string& path);

// Serializes at opset 17 / IR version 8; all initializers inline (raw_data).
Result<std::string> save_model_to_bytes(const ir::Model& model);
Status save_model(const ir::Model& model, const std::string& path);

}  // namespace verge::onnx_io
