#include "ir/graph.h"

#include <fmt/format.h>

#include <algorithm>
#include <queue>

namespace verge::ir {

std::string ValueType::to_string() const {
  std::string s(dtype_name(dtype));
  if (!has_shape) return s + "[?]";
  s += '[';
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) s += ',';
    if (dims[i].is_fixed()) s += std::to_string(dims[i].value);
    else if (!dims[i].symbol.empty()) s += dims[i].symbol;
    else s += '?';
  }
  return s + ']';
}

std::string_view attr_type_name(AttrType t) {
  switch (t) {
    case AttrType::kFloat: return "float";
    case AttrType::kInt: return "int";
    case AttrType::kString: return "string";
    case AttrType::kTensor: return "tensor";
    case AttrType::kGraph: return "graph";
    case AttrType::kFloats: return "floats";
    case AttrType::kInts: return "ints";
    case AttrType::kStrings: return "strings";
    case AttrType::kTensors: return "tensors";
    case AttrType::kGraphs: return "graphs";
  }
  return "?";
}

const Attribute* Node::attr(std::string_view n) const {
  for (const auto& a : attrs)
    if (a.name == n) return &a;
  return nullptr;
}

int64_t Node::get_int(std::string_view n, int64_t def) const {
  const Attribute* a = attr(n);
  return a && a->type == AttrType::kInt ? a->i : def;
}
float Node::get_float(std::string_view n, float def) const {
  const Attribute* a = attr(n);
  return a && a->type == AttrType::kFloat ? a->f : def;
}
std::string Node::get_string(std::string_view n, std::string_view def) const {
  const Attribute* a = attr(n);
  return a && a->type == AttrType::kString ? a->s : std::string(def);
}
std::vector<int64_t> Node::get_ints(std::string_view n, std::vector<int64_t> def) const {
  const Attribute* a = attr(n);
  return a && a->type == AttrType::kInts ? a->ints : def;
}
std::vector<float> Node::get_floats(std::string_view n, std::vector<float> def) const {
  const Attribute* a = attr(n);
  return a && a->type == AttrType::kFloats ? a->floats : def;
}
const Tensor* Node::get_tensor(std::string_view n) const {
  const Attribute* a = attr(n);
  return a && a->type == AttrType::kTensor ? &a->t : nullptr;
}
const Graph* Node::get_graph(std::string_view n) const {
  const Attribute* a = attr(n);
  return a && a->type == AttrType::kGraph ? a->g.get() : nullptr;
}

void Node::set_attr(Attribute a) {
  for (auto& x : attrs)
    if (x.name == a.name) {
      x = std::move(a);
      return;
    }
  attrs.push_back(std::move(a));
}

void Node::remove_attr(std::string_view n) {
  std::erase_if(attrs, [&](const Attribute& a) { return a.name == n; });
}

std::string Node::label(NodeId id) const {
  const std::string_view type = op_type.empty() ? op_name(op) : std::string_view(op_type);
  if (!name.empty()) return fmt::format("node '{}' ({})", name, type);
  if (id >= 0) return fmt::format("node #{} ({})", id, type);
  return fmt::format("node ({})", type);
}

ValueId Graph::add_value(std::string n, bool uniquify) {
  if (uniquify && by_name_.count(n)) {
    for (int k = 1;; ++k) {
      std::string c = fmt::format("{}_{}", n, k);
      if (!by_name_.count(c)) {
        n = std::move(c);
        break;
      }
    }
  }
  const auto id = static_cast<ValueId>(values.size());
  if (!n.empty()) by_name_.emplace(n, id);
  values.push_back(Value{std::move(n), {}, nullptr, -1, false});
  return id;
}

ValueId Graph::add_constant(std::string n, Tensor t) {
  ValueId id = add_value(std::move(n), true);
  Value& v = values[static_cast<size_t>(id)];
  v.type.dtype = t.dtype();
  v.type.has_shape = true;
  for (int64_t d : t.shape()) v.type.dims.push_back(Dim{d, {}});
  v.constant = std::make_shared<const Tensor>(std::move(t));
  return id;
}

NodeId Graph::add_node(Node n) {
  const auto id = static_cast<NodeId>(nodes.size());
  for (ValueId o : n.outputs)
    if (o != kNoValue) values[static_cast<size_t>(o)].producer = id;
  nodes.push_back(std::move(n));
  return id;
}

ValueId Graph::find(std::string_view n) const {
  auto it = by_name_.find(std::string(n));
  return it == by_name_.end() ? kNoValue : it->second;
}

Status Graph::reindex() {
  by_name_.clear();
  for (size_t i = 0; i < values.size(); ++i) {
    values[i].producer = -1;
    if (!values[i].name.empty()) by_name_.emplace(values[i].name, static_cast<ValueId>(i));
  }
  for (size_t n = 0; n < nodes.size(); ++n) {
    for (ValueId o : nodes[n].outputs) {
      if (o == kNoValue) continue;
      Value& v = values[static_cast<size_t>(o)];
      if (v.producer >= 0 || v.constant)
        return Status::invalid_model(fmt::format("value '{}' is produced more than once (by {})", v.name,
                                                 nodes[n].label(static_cast<NodeId>(n))));
      v.producer = static_cast<NodeId>(n);
    }
  }
  return Status::ok();
}

Status Graph::topological_sort() {
  VERGE_RETURN_IF_ERROR(reindex());
  const size_t n = nodes.size();
  std::vector<int> missing(n, 0);
  std::vector<std::vector<NodeId>> users(n);
  for (size_t i = 0; i < n; ++i) {
    auto count = [&](ValueId in) {
      if (in == kNoValue) return;
      const NodeId p = values[static_cast<size_t>(in)].producer;
      if (p >= 0) {
        ++missing[i];
        users[static_cast<size_t>(p)].push_back(static_cast<NodeId>(i));
      }
    };
    for (ValueId in : nodes[i].inputs) count(in);
    for (ValueId in : nodes[i].implicit_inputs) count(in);
  }
  // Kahn's algorithm with a min-heap on the original index keeps already-sorted graphs unchanged.
  std::priority_queue<NodeId, std::vector<NodeId>, std::greater<>> ready;
  for (size_t i = 0; i < n; ++i)
    if (missing[i] == 0) ready.push(static_cast<NodeId>(i));
  std::vector<NodeId> order;
  order.reserve(n);
  while (!ready.empty()) {
    NodeId id = ready.top();
    ready.pop();
    order.push_back(id);
    for (NodeId u : users[static_cast<size_t>(id)])
      if (--missing[static_cast<size_t>(u)] == 0) ready.push(u);
  }
  if (order.size() != n) {
    for (size_t i = 0; i < n; ++i)
      if (missing[i] > 0)
        return Status::invalid_model(
            fmt::format("the graph has a cycle through {}", nodes[i].label(static_cast<NodeId>(i))));
  }
  bool sorted = true;
  for (size_t i = 0; i < n; ++i) sorted = sorted && order[i] == static_cast<NodeId>(i);
  if (sorted) return Status::ok();
  std::vector<Node> reordered;
  reordered.reserve(n);
  for (NodeId id : order) reordered.push_back(std::move(nodes[static_cast<size_t>(id)]));
  nodes = std::move(reordered);
  return reindex();
}

void Graph::remove_dead() {
  std::vector<char> live_value(values.size(), 0);
  for (ValueId o : outputs) live_value[static_cast<size_t>(o)] = 1;
  std::vector<char> live_node(nodes.size(), 0);
  for (size_t k = nodes.size(); k-- > 0;) {
    const Node& node = nodes[k];
    bool live = false;
    for (ValueId o : node.outputs) live = live || (o != kNoValue && live_value[static_cast<size_t>(o)]);
    if (!live) continue;
    live_node[k] = 1;
    for (ValueId in : node.inputs)
      if (in != kNoValue) live_value[static_cast<size_t>(in)] = 1;
    for (ValueId in : node.implicit_inputs) live_value[static_cast<size_t>(in)] = 1;
  }
  std::vector<Node> kept;
  for (size_t k = 0; k < nodes.size(); ++k)
    if (live_node[k]) kept.push_back(std::move(nodes[k]));
  nodes = std::move(kept);
  // Values are kept (ids stay stable); unreferenced initializers are dropped.
  for (size_t v = 0; v < values.size(); ++v)
    if (!live_value[v] && values[v].constant) values[v].constant.reset();
  (void)reindex();
}

GraphStats graph_stats(const Graph& g) {
  GraphStats s;
  for (const Value& v : g.values) {
    if (!v.constant) continue;
    s.parameters += v.constant->numel();
    s.parameter_bytes += static_cast<int64_t>(v.constant->nbytes());
  }
  for (const Node& n : g.nodes) {
    ++s.op_counts[n.op_type.empty() ? std::string(op_name(n.op)) : n.op_type];
    for (const Attribute& a : n.attrs) {
      std::vector<const Graph*> subs;
      if (a.g) subs.push_back(a.g.get());
      for (const auto& sg : a.graphs) subs.push_back(sg.get());
      for (const Graph* sg : subs) {
        GraphStats inner = graph_stats(*sg);
        s.parameters += inner.parameters;
        s.parameter_bytes += inner.parameter_bytes;
        for (auto& [k, c] : inner.op_counts) s.op_counts[k] += c;
      }
    }
  }
  return s;
}

}  // namespace verge::ir
