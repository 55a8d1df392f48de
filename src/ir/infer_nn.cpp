// PLACEHOLDER: shape inference not written yet.
#include "ir/infer.h"

namespace verge {

Status infer_conv(InferContext& c) { return c.unsupported("shape inference for {} is not written yet", c.node().op_type); }
Status infer_conv_transpose(InferContext& c) { return c.unsupported("shape inference for {} is not written yet", c.node().op_type); }
Status infer_pool(InferContext& c) { return c.unsupported("shape inference for {} is not written yet", c.node().op_type); }
Status infer_global_pool(InferContext& c) { return c.unsupported("shape inference for {} is not written yet", c.node().op_type); }
Status infer_gemm(InferContext& c) { return c.unsupported("shape inference for {} is not written yet", c.node().op_type); }
Status infer_matmul(InferContext& c) { return c.unsupported("shape inference for {} is not written yet", c.node().op_type); }
Status infer_einsum(InferContext& c) { return c.unsupported("shape inference for {} is not written yet", c.node().op_type); }

}  // namespace verge
