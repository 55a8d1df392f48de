// PLACEHOLDER: shape inference not written yet.
#include "ir/infer.h"

namespace verge {

Status infer_resize(InferContext& c) { return c.unsupported("shape inference for {} is not written yet", c.node().op_type); }
Status infer_non_max_suppression(InferContext& c) { return c.unsupported("shape inference for {} is not written yet", c.node().op_type); }

}  // namespace verge
