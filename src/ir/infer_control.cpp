// Shape inference for control flow. An If's outputs are those of the branch taken, so its types are
// known only after the branch ran: the node runs in dynamic mode and its kernel allocates outputs.
#include "ir/infer.h"

namespace verge {

Status infer_if(InferContext& c) {
  if (!c.has_input(0)) return c.invalid("If requires the condition input");
  if (c.dtype(0) != DType::kBool) return c.invalid("condition must be bool, got {}", dtype_name(c.dtype(0)));
  if (shape_numel(c.shape(0)) != 1)
    return c.invalid("condition must have exactly one element, got shape {}", shape_to_string(c.shape(0)));
  for (const char* name : {"then_branch", "else_branch"}) {
    const ir::Graph* g = c.node().get_graph(name);
    if (!g) return c.invalid("attribute '{}' (a graph) is required", name);
    if (!g->inputs.empty()) return c.invalid("{} must take no inputs, it declares {}", name, g->inputs.size());
    if (g->outputs.size() != c.num_outputs())
      return c.invalid("{} has {} outputs but the If node has {}", name, g->outputs.size(), c.num_outputs());
  }
  c.outputs_known_after_run();
  return Status::ok();
}

}  // namespace verge
