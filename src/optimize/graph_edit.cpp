#include "optimize/graph_edit.h"

#include "runtime/plan.h"

namespace verge::opt {

ir::NodeId Uses::sole_user(ir::ValueId v) const {
  const auto i = static_cast<size_t>(v);
  if (graph_output[i] || outer_read[i] || users[i].size() != 1) return -1;
  return users[i][0];
}

Uses compute_uses(const ir::Graph& g) {
  Uses u;
  u.users.resize(g.values.size());
  u.graph_output.assign(g.values.size(), 0);
  u.outer_read.assign(g.values.size(), 0);
  for (size_t n = 0; n < g.nodes.size(); ++n) {
    for (ir::ValueId in : g.nodes[n].inputs)
      if (in != ir::kNoValue) u.users[static_cast<size_t>(in)].push_back(static_cast<ir::NodeId>(n));
    for (ir::ValueId in : g.nodes[n].implicit_inputs) {
      u.users[static_cast<size_t>(in)].push_back(static_cast<ir::NodeId>(n));
      u.outer_read[static_cast<size_t>(in)] = 1;
    }
  }
  for (ir::ValueId o : g.outputs) u.graph_output[static_cast<size_t>(o)] = 1;
  return u;
}

void replace_uses(ir::Graph& g, ir::ValueId from, ir::ValueId to) {
  for (ir::Node& n : g.nodes)
    for (ir::ValueId& in : n.inputs)
      if (in == from) in = to;
  for (ir::ValueId& o : g.outputs)
    if (o == from) o = to;
}

void erase_nodes(ir::Graph& g, const std::vector<char>& dead) {
  std::vector<ir::Node> kept;
  kept.reserve(g.nodes.size());
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (!dead[i]) kept.push_back(std::move(g.nodes[i]));
  g.nodes = std::move(kept);
  (void)g.reindex();
}

std::vector<std::optional<TensorType>> infer_value_types(const ir::Graph& g) {
  std::vector<std::optional<TensorType>> types(g.values.size());
  std::vector<ValueBinding> bindings;
  for (ir::ValueId id : g.inputs) {
    const ir::ValueType& t = g.value(id).type;
    Shape shape;
    for (const ir::Dim& d : t.dims) shape.push_back(d.is_fixed() ? d.value : 1);
    bindings.push_back({id, TensorType{t.dtype, shape}, nullptr});
  }
  ExecOptions eo;
  eo.kernels = KernelPolicy::kReference;
  eo.infer_only = true;
  auto plan = Plan::build(g, bindings, eo);
  if (!plan.is_ok()) return types;
  for (size_t v = 0; v < g.values.size(); ++v)
    if (const TensorType* t = (*plan)->value_type(static_cast<ir::ValueId>(v))) types[v] = *t;
  return types;
}

}  // namespace verge::opt
