// Verge IR: a Model owns a Graph of Nodes connected by Values.
//
// - Values are addressed by ValueId (index into Graph::values); kNoValue marks an omitted optional
//   input or output. Names are unique within a graph (Graph::find).
// - A Value is one of: graph input, initializer (constant != nullptr), node output, or — inside a
//   subgraph — an outer-scope reference (is_outer) bound by name to a value of an enclosing graph.
// - Nodes are kept in topological order (the importer sorts and rejects cycles).
// - Semantics are those of ONNX opset 17 ("canonical form"): the importer rewrites older opset forms
//   (attributes that later became inputs, Upsample, legacy Softmax axis coercion, ...) so kernels and
//   passes see one form per op. Node::op identifies the op-table row.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ir/op_table.h"
#include "verge/tensor.h"

namespace verge::ir {

using ValueId = int32_t;
using NodeId = int32_t;
inline constexpr ValueId kNoValue = -1;

// One dimension of a declared shape: a fixed size, a symbol ("batch"), or unknown (value < 0, no symbol).
struct Dim {
  int64_t value = -1;
  std::string symbol;
  bool is_fixed() const { return value >= 0; }
};

struct ValueType {
  DType dtype = DType::kUndefined;
  bool has_shape = false;  // false = rank unknown
  std::vector<Dim> dims;
  std::string to_string() const;  // "float32[batch,3,224,224]"
};

struct Value {
  std::string name;
  ValueType type;                          // as declared in the model (may be partial)
  std::shared_ptr<const Tensor> constant;  // initializer data
  NodeId producer = -1;
  bool is_outer = false;
};

class Graph;

enum class AttrType : uint8_t { kFloat, kInt, kString, kTensor, kGraph, kFloats, kInts, kStrings, kTensors, kGraphs };
std::string_view attr_type_name(AttrType t);

struct Attribute {
  std::string name;
  AttrType type = AttrType::kInt;
  float f = 0;
  int64_t i = 0;
  std::string s;
  Tensor t;
  std::shared_ptr<Graph> g;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  std::vector<Tensor> tensors;
  std::vector<std::shared_ptr<Graph>> graphs;
};

struct Node {
  OpId op = OpId::kUnknown;
  std::string op_type;  // as in the file (kept for unknown ops and messages)
  std::string domain;   // "" = ai.onnx
  std::string name;
  int since_version = 0;  // ONNX schema version the node was imported as
  std::vector<ValueId> inputs;
  std::vector<ValueId> outputs;
  // Outer-scope values read by this node's subgraphs (If); executed like extra inputs.
  std::vector<ValueId> implicit_inputs;
  std::vector<Attribute> attrs;

  ValueId input(size_t i) const { return i < inputs.size() ? inputs[i] : kNoValue; }
  ValueId output(size_t i) const { return i < outputs.size() ? outputs[i] : kNoValue; }

  const Attribute* attr(std::string_view name) const;
  bool has_attr(std::string_view name) const { return attr(name) != nullptr; }
  // Typed getters return the default when the attribute is absent. Attribute types were checked
  // against the ONNX schema at import, so a type mismatch here is a Verge bug (returns the default).
  int64_t get_int(std::string_view name, int64_t def) const;
  float get_float(std::string_view name, float def) const;
  std::string get_string(std::string_view name, std::string_view def) const;
  std::vector<int64_t> get_ints(std::string_view name, std::vector<int64_t> def = {}) const;
  std::vector<float> get_floats(std::string_view name, std::vector<float> def = {}) const;
  const Tensor* get_tensor(std::string_view name) const;
  const Graph* get_graph(std::string_view name) const;

  void set_attr(Attribute a);  // replaces an attribute of the same name
  void remove_attr(std::string_view name);
  // "'conv1' (Conv)" or "#12 (Conv)" for unnamed nodes; used to prefix errors.
  std::string label(NodeId id = -1) const;
};

class Graph {
 public:
  std::string name;
  std::string doc;
  std::vector<Value> values;
  std::vector<Node> nodes;
  std::vector<ValueId> inputs;   // runtime inputs (initializers excluded)
  std::vector<ValueId> outputs;
  // Declared shapes of intermediate values (value_info); kept for export and inspect.
  std::vector<ValueId> value_infos;

  // Adds a value with a unique name (a suffix is appended on collision when `uniquify`).
  ValueId add_value(std::string name, bool uniquify = false);
  ValueId add_constant(std::string name, Tensor t);
  NodeId add_node(Node n);  // sets producers of its outputs; appends (caller keeps topological order)
  ValueId find(std::string_view name) const;
  const Value& value(ValueId id) const { return values[static_cast<size_t>(id)]; }
  Value& value(ValueId id) { return values[static_cast<size_t>(id)]; }
  bool is_constant(ValueId id) const { return id >= 0 && values[static_cast<size_t>(id)].constant != nullptr; }

  // Rebuilds name index and producers after bulk edits; returns an error on duplicate producers.
  Status reindex();
  // Reorders nodes topologically (stable); error naming a node on a cycle or an undefined input.
  Status topological_sort();
  // Removes nodes whose outputs are unused and values nobody references (keeps graph I/O).
  void remove_dead();

 private:
  std::unordered_map<std::string, ValueId> by_name_;
};

struct Model {
  Graph graph;
  int64_t ir_version = 8;
  int64_t opset = 17;  // ai.onnx opset the model was imported with
  std::vector<std::pair<std::string, int64_t>> other_opsets;
  std::string producer_name;
  std::string producer_version;
  std::string domain;
  int64_t model_version = 0;
  std::string doc;
  std::vector<std::pair<std::string, std::string>> metadata;
  std::string source_path;  // file the model was loaded from ("" if built in memory)
};

// Parameter count / bytes over initializers, and an op histogram, for `verge inspect`.
struct GraphStats {
  int64_t parameters = 0;
  int64_t parameter_bytes = 0;
  std::map<std::string, int> op_counts;
};
GraphStats graph_stats(const Graph& g);

}  // namespace verge::ir
