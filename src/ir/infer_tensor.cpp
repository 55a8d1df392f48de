// PLACEHOLDER: shape inference not written yet.
#include "ir/infer.h"

namespace verge {

Status infer_dropout(InferContext& c) { return c.unsupported("shape inference for {} is not written yet", c.node().op_type); }
Status infer_constant(InferContext& c) { return c.unsupported("shape inference for {} is not written yet", c.node().op_type); }
Status infer_constant_of_shape(InferContext& c) { return c.unsupported("shape inference for {} is not written yet", c.node().op_type); }
Status infer_eye_like(InferContext& c) { return c.unsupported("shape inference for {} is not written yet", c.node().op_type); }
Status infer_range(InferContext& c) { return c.unsupported("shape inference for {} is not written yet", c.node().op_type); }
Status infer_shape(InferContext& c) { return c.unsupported("shape inference for {} is not written yet", c.node().op_type); }
Status infer_size(InferContext& c) { return c.unsupported("shape inference for {} is not written yet", c.node().op_type); }
Status infer_reshape(InferContext& c) { return c.unsupported("shape inference for {} is not written yet", c.node().op_type); }
Status infer_flatten(InferContext& c) { return c.unsupported("shape inference for {} is not written yet", c.node().op_type); }
Status infer_squeeze(InferContext& c) { return c.unsupported("shape inference for {} is not written yet", c.node().op_type); }
Status infer_unsqueeze(InferContext& c) { return c.unsupported("shape inference for {} is not written yet", c.node().op_type); }
Status infer_transpose(InferContext& c) { return c.unsupported("shape inference for {} is not written yet", c.node().op_type); }
Status infer_concat(InferContext& c) { return c.unsupported("shape inference for {} is not written yet", c.node().op_type); }
Status infer_split(InferContext& c) { return c.unsupported("shape inference for {} is not written yet", c.node().op_type); }
Status infer_slice(InferContext& c) { return c.unsupported("shape inference for {} is not written yet", c.node().op_type); }

}  // namespace verge
