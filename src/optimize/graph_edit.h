// Small graph-editing helpers shared by the optimizer passes.
#pragma once

#include <optional>
#include <vector>

#include "ir/graph.h"
#include "ir/infer.h"

namespace verge::opt {

struct Uses {
  std::vector<std::vector<ir::NodeId>> users;  // consuming nodes per value (a node appears once per input slot)
  std::vector<char> graph_output;              // value is a graph output
  std::vector<char> outer_read;                // value is read by a subgraph (implicit input): keep its name
  int count(ir::ValueId v) const {
    return static_cast<int>(users[static_cast<size_t>(v)].size()) + graph_output[static_cast<size_t>(v)];
  }
  // The single consuming node of v, or -1 (also -1 when v is a graph output or read by a subgraph).
  ir::NodeId sole_user(ir::ValueId v) const;
};

Uses compute_uses(const ir::Graph& g);
// Rewires every node input and graph output reading `from` to read `to`.
void replace_uses(ir::Graph& g, ir::ValueId from, ir::ValueId to);
// Removes the nodes flagged in `dead` (indexed by NodeId) and rebuilds producer links.
void erase_nodes(ir::Graph& g, const std::vector<char>& dead);

// Concrete types of every value with symbolic input dims taken as 1 — for decisions that depend on
// ranks and channel counts only, never on batch-dependent sizes. nullopt where unknown (dynamic).
std::vector<std::optional<TensorType>> infer_value_types(const ir::Graph& g);

// Constant tensor of a value (initializer), or nullptr.
inline const Tensor* constant_of(const ir::Graph& g, ir::ValueId v) {
  return v == ir::kNoValue ? nullptr : g.value(v).constant.get();
}

}  // namespace verge::opt
