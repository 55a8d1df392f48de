// PLACEHOLDER: shape inference not written yet.
#include "ir/infer.h"

namespace verge {

Status infer_gather(InferContext& c) { return c.unsupported("shape inference for {} is not written yet", c.node().op_type); }
Status infer_gather_elements(InferContext& c) { return c.unsupported("shape inference for {} is not written yet", c.node().op_type); }
Status infer_gather_nd(InferContext& c) { return c.unsupported("shape inference for {} is not written yet", c.node().op_type); }
Status infer_scatter(InferContext& c) { return c.unsupported("shape inference for {} is not written yet", c.node().op_type); }
Status infer_tile(InferContext& c) { return c.unsupported("shape inference for {} is not written yet", c.node().op_type); }
Status infer_expand(InferContext& c) { return c.unsupported("shape inference for {} is not written yet", c.node().op_type); }
Status infer_pad(InferContext& c) { return c.unsupported("shape inference for {} is not written yet", c.node().op_type); }
Status infer_depth_to_space(InferContext& c) { return c.unsupported("shape inference for {} is not written yet", c.node().op_type); }
Status infer_space_to_depth(InferContext& c) { return c.unsupported("shape inference for {} is not written yet", c.node().op_type); }
Status infer_one_hot(InferContext& c) { return c.unsupported("shape inference for {} is not written yet", c.node().op_type); }
Status infer_non_zero(InferContext& c) { return c.unsupported("shape inference for {} is not written yet", c.node().op_type); }

}  // namespace verge
