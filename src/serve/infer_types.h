// Requests and responses of the inference core, independent of the wire protocol (REST or gRPC).
// Tensors carry their elements as raw little-endian bytes in C order, exactly as the KServe v2 binary
// extension and gRPC raw_*_contents transport them, so the protocol layers only validate and move bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "verge/dtype.h"
#include "verge/tensor.h"

namespace verge::serve {

struct InferTensor {
  std::string name;
  DType dtype = DType::kUndefined;
  Shape shape;
  std::string data;  // shape_numel(shape) * dtype_size(dtype) bytes
};

struct InferRequest {
  std::string id;  // echoed in the response
  std::vector<InferTensor> inputs;
  std::vector<std::string> outputs;  // requested output names; empty = all outputs
};

struct InferResponse {
  std::string model_name, model_version, id;
  std::vector<InferTensor> outputs;
};

// KServe v2 datatype names ("FP32", "INT64", "BOOL", ...) <-> DType. kUndefined for names Verge cannot
// hold (BYTES and unknown strings).
std::string_view kserve_dtype_name(DType t);
DType dtype_from_kserve(std::string_view name);

}  // namespace verge::serve
