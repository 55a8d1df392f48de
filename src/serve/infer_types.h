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
  std::string data;  // shape_numel(shape) * dtype_size(dtype) bytes, unless `borrowed` is set
  // Set instead of `data` by a protocol layer that lends the bytes of its own request buffer (a binary
  // HTTP body, a gRPC raw_input_contents) rather than copying them: valid only until the request's
  // Model::infer() returns, and at least kBorrowAlignment-aligned, so the model reads them in place.
  std::string_view borrowed;
  std::string_view bytes() const { return borrowed.data() != nullptr ? borrowed : std::string_view(data); }
};

// What malloc guarantees, so a borrowed input is no less aligned than a copied one.
inline constexpr size_t kBorrowAlignment = 16;

// `bytes` as a borrowed view if suitably aligned, else as a copy.
inline void set_bytes(InferTensor& t, std::string_view bytes) {
  if (reinterpret_cast<uintptr_t>(bytes.data()) % kBorrowAlignment == 0)
    t.borrowed = bytes;
  else
    t.data.assign(bytes);
}

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
