#include "train/inference_form.h"

#include <algorithm>

namespace verge::train {

std::vector<std::string> to_inference_form(ir::Model& model) {
  ir::Graph& g = model.graph;
  std::vector<bool> read(g.values.size(), false);
  for (const ir::Node& n : g.nodes)
    for (ir::ValueId v : n.inputs)
      if (v != ir::kNoValue) read[static_cast<size_t>(v)] = true;
  for (ir::ValueId v : g.outputs) read[static_cast<size_t>(v)] = true;
  std::vector<std::string> changed;
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    ir::Node& n = g.nodes[k];
    if (n.op == OpId::BatchNormalization && n.get_int("training_mode", 0) != 0) {
      const bool extra_read =
          std::any_of(n.outputs.begin() + std::min<size_t>(1, n.outputs.size()), n.outputs.end(),
                      [&](ir::ValueId v) { return v != ir::kNoValue && read[static_cast<size_t>(v)]; });
      if (extra_read) {
        changed.push_back(n.label(static_cast<ir::NodeId>(k)) +
                          " kept training_mode=1: its running statistics are read");
        continue;
      }
      ir::Attribute a = *n.attr("training_mode");
      a.i = 0;
      n.set_attr(std::move(a));
      n.outputs.resize(1);
      changed.push_back(n.label(static_cast<ir::NodeId>(k)));
    } else if (n.op == OpId::Dropout && n.input(2) != ir::kNoValue) {
      n.inputs.resize(2);
      changed.push_back(n.label(static_cast<ir::NodeId>(k)));
    }
  }
  if (!changed.empty()) g.remove_dead();
  return changed;
}

}  // namespace verge::train
