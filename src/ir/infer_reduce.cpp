// PLACEHOLDER: shape inference not written yet.
#include "ir/infer.h"

namespace verge {

Status infer_reduce(InferContext& c) { return c.unsupported("shape inference for {} is not written yet", c.node().op_type); }
Status infer_arg_reduce(InferContext& c) { return c.unsupported("shape inference for {} is not written yet", c.node().op_type); }
Status infer_topk(InferContext& c) { return c.unsupported("shape inference for {} is not written yet", c.node().op_type); }
Status infer_batch_norm(InferContext& c) { return c.unsupported("shape inference for {} is not written yet", c.node().op_type); }
Status infer_layer_norm(InferContext& c) { return c.unsupported("shape inference for {} is not written yet", c.node().op_type); }

}  // namespace verge
