// If: runs the chosen branch as a nested plan (cached per branch and outer-value types) and copies its
// outputs. Branches read outer-scope values, which the importer lists as the node's implicit inputs.
#include <cstring>

#include "kernels/ref/ref_common.h"
#include "runtime/plan.h"

namespace verge::ref {
namespace {

class IfKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    const ir::Node& n = c.node();
    const size_t n_regular = n.inputs.size();
    const char* names[2] = {"else_branch", "then_branch"};
    for (int b = 0; b < 2; ++b) {
      Branch& br = branches_[b];
      br.graph = n.get_graph(names[b]);
      br.bindings.clear();
      br.input_index.clear();
      for (size_t v = 0; v < br.graph->values.size(); ++v) {
        const ir::Value& val = br.graph->values[v];
        if (!val.is_outer) continue;
        size_t found = SIZE_MAX;
        for (size_t j = 0; j < n.implicit_inputs.size(); ++j)
          if (c.graph().value(n.implicit_inputs[j]).name == val.name) found = n_regular + j;
        if (found == SIZE_MAX) return c.invalid("{} reads '{}', which the enclosing graph does not define", names[b], val.name);
        br.bindings.push_back(ValueBinding{static_cast<ir::ValueId>(v), {}, nullptr});
        br.input_index.push_back(found);
      }
      br.plan.reset();
    }
    return Status::ok();
  }

  Status run(const RunContext& c) override {
    Branch& br = branches_[c.input(0).data<bool>()[0] ? 1 : 0];
    bool same = br.plan != nullptr;
    br.bound.resize(br.bindings.size());
    for (size_t k = 0; k < br.bindings.size(); ++k) {
      const Tensor& t = c.input(br.input_index[k]);
      TensorType type{t.dtype(), t.shape()};
      same = same && br.bindings[k].type == type;
      br.bindings[k].type = std::move(type);
      br.bound[k] = &t;
    }
    if (!same) {
      auto plan = Plan::build(*br.graph, br.bindings, *c.options);
      if (!plan.is_ok()) return plan.status();
      br.plan = std::move(plan).value();
    }
    VERGE_RETURN_IF_ERROR(br.plan->run(br.bound));
    std::span<const Tensor> outs = br.plan->outputs();
    for (size_t i = 0; i < outs.size(); ++i) {
      VERGE_ASSIGN_OR_RETURN(Tensor * dst, c.allocate_output(i, outs[i].dtype(), outs[i].shape()));
      if (dst && outs[i].nbytes()) std::memcpy(dst->raw(), outs[i].raw(), outs[i].nbytes());
    }
    return Status::ok();
  }

 private:
  struct Branch {
    const ir::Graph* graph = nullptr;
    std::vector<ValueBinding> bindings;
    std::vector<size_t> input_index;  // RunContext input feeding each binding
    std::vector<const Tensor*> bound;
    std::unique_ptr<Plan> plan;
  };
  Branch branches_[2];
};

}  // namespace

std::unique_ptr<Kernel> make_If(const ir::Node&) { return std::make_unique<IfKernel>(); }

}  // namespace verge::ref
