// Blocked (NCHWc) layout pass.
//
// Walks nodes in topological order. 2-D float32 convolutions (group 1 or depthwise) become
// verge.BlockedConv, and from there the blocked layout spreads to every consumer that can run on it:
// pools (verge.BlockedPool), channel concatenation (verge.BlockedConcat) and elementwise ops whose
// operands are blocked tensors, scalars or per-channel constants (those constants are re-laid out once,
// here). Elementwise ops keep their standard ONNX op: on [N, C/c, H, W, c] tensors numpy broadcasting
// does the right thing. Values still needed in NCHW (by other ops or as graph outputs) get a
// verge.FromBlocked; planar inputs of blocked ops get a verge.ToBlocked, shared per value.
// Division is only allowed by non-zero constants: padding lanes must stay finite.
#include <fmt/format.h>

#include "kernels/blocked.h"
#include "optimize/graph_edit.h"
#include "optimize/passes.h"

namespace verge::opt {
namespace {

class LayoutRewriter {
 public:
  LayoutRewriter(ir::Graph& g, int block) : g_(g), block_(block), types_(infer_value_types(g)) {
    blocked_of_.assign(g.values.size(), ir::kNoValue);
    to_blocked_cache_.assign(g.values.size(), ir::kNoValue);
    channels_.assign(g.values.size(), -1);
  }

  Result<int> run() {
    const size_t n_nodes = g_.nodes.size();
    std::vector<char> converted(n_nodes, 0);
    int changes = 0;
    for (size_t k = 0; k < n_nodes; ++k) {
      VERGE_ASSIGN_OR_RETURN(bool done, convert(k));
      converted[k] = done;
      changes += done;
    }
    if (!changes) return 0;
    // Planar copies of blocked values that unconverted nodes or graph outputs still read.
    const Uses uses = compute_uses(g_);
    for (size_t v = 0; v < blocked_of_.size(); ++v) {
      if (blocked_of_[v] == ir::kNoValue) continue;
      bool needed = uses.graph_output[v] != 0;
      for (ir::NodeId u : uses.users[v]) needed = needed || !converted[static_cast<size_t>(u)];
      if (!needed) continue;
      ir::Node from{.op = OpId::FromBlocked, .op_type = "FromBlocked", .domain = "verge",
                    .name = g_.value(static_cast<ir::ValueId>(v)).name + "_to_nchw", .since_version = 1,
                    .inputs = {blocked_of_[v]}, .outputs = {static_cast<ir::ValueId>(v)}};
      from.set_attr(ir::Attribute{.name = "channels", .type = ir::AttrType::kInt, .i = channels_[v]});
      added_.push_back(std::move(from));
    }
    for (auto& n : added_) g_.add_node(std::move(n));
    VERGE_RETURN_IF_ERROR(g_.topological_sort());
    g_.remove_dead();
    return changes;
  }

 private:
  const TensorType* type(ir::ValueId v) const {
    return v == ir::kNoValue || !types_[static_cast<size_t>(v)] ? nullptr : &*types_[static_cast<size_t>(v)];
  }
  bool is_planar_4d(ir::ValueId v) const {
    const TensorType* t = type(v);
    return t && t->dtype == DType::kFloat32 && t->shape.size() == 4;
  }
  bool is_blocked(ir::ValueId v) const { return v != ir::kNoValue && blocked_of_[static_cast<size_t>(v)] != ir::kNoValue; }

  ir::ValueId new_value(ir::ValueId like, std::string_view suffix) {
    const std::string name = fmt::format("{}_{}{}", g_.value(like).name, suffix, block_);
    const ir::ValueId id = g_.add_value(name, true);
    blocked_of_.push_back(ir::kNoValue);
    to_blocked_cache_.push_back(ir::kNoValue);
    channels_.push_back(-1);
    types_.emplace_back();
    return id;
  }

  // The blocked version of v: the value a blocked node produced, or a shared ToBlocked of planar v.
  ir::ValueId blocked_input(ir::ValueId v) {
    if (is_blocked(v)) return blocked_of_[static_cast<size_t>(v)];
    if (to_blocked_cache_[static_cast<size_t>(v)] != ir::kNoValue) return to_blocked_cache_[static_cast<size_t>(v)];
    const ir::ValueId b = new_value(v, "nchw");
    ir::Node to{.op = OpId::ToBlocked, .op_type = "ToBlocked", .domain = "verge", .name = g_.value(v).name + "_to_blocked",
                .since_version = 1, .inputs = {v}, .outputs = {b}};
    to.set_attr(ir::Attribute{.name = "block", .type = ir::AttrType::kInt, .i = block_});
    added_.push_back(std::move(to));
    to_blocked_cache_[static_cast<size_t>(v)] = b;
    return b;
  }

  // Re-lays out a constant operand of a blocked elementwise op: scalars stay, per-channel [C,1,1] /
  // [1,C,1,1] / [C] become [1, C/c, 1, 1, c]. Returns kNoValue when the constant does not fit.
  ir::ValueId blocked_constant(ir::ValueId v, int64_t channels) {
    const Tensor& t = *g_.value(v).constant;
    if (t.dtype() != DType::kFloat32) return ir::kNoValue;
    if (t.numel() == 1) return v;
    const Shape& s = t.shape();
    const bool per_channel = t.numel() == channels &&
                             (s == Shape{channels, 1, 1} || s == Shape{1, channels, 1, 1});
    if (!per_channel) return ir::kNoValue;
    const int64_t cb = blocks_of(channels, block_);
    Tensor b = Tensor::allocate(DType::kFloat32, {1, cb, 1, 1, block_}).value();
    for (int64_t c = 0; c < channels; ++c) b.data<float>()[c] = t.data<float>()[c];
    return g_.add_constant(fmt::format("{}_nchw{}c", g_.value(v).name, block_), std::move(b));
  }

  void set_blocked_output(ir::Node& n, size_t o, int64_t channels) {
    const ir::ValueId orig = n.outputs[o];
    const ir::ValueId b = new_value(orig, "nchw");
    blocked_of_[static_cast<size_t>(orig)] = b;
    channels_[static_cast<size_t>(orig)] = channels;
    n.outputs[o] = b;
  }

  Result<bool> convert(size_t k) {
    ir::Node& n = g_.nodes[k];
    switch (n.op) {
      case OpId::Conv:
      case OpId::FusedConv: return convert_conv(n);
      case OpId::MaxPool:
      case OpId::AveragePool:
      case OpId::GlobalMaxPool:
      case OpId::GlobalAveragePool: return convert_pool(n);
      case OpId::Concat: return convert_concat(n);
      case OpId::Relu:
      case OpId::LeakyRelu:
      case OpId::Sigmoid:
      case OpId::HardSigmoid:
      case OpId::HardSwish:
      case OpId::Tanh:
      case OpId::Clip:
      case OpId::Add:
      case OpId::Sub:
      case OpId::Mul:
      case OpId::Div:
      case OpId::Max:
      case OpId::Min: return convert_elementwise(n);
      default: return false;
    }
  }

  bool convert_conv(ir::Node& n) {
    if (!is_planar_4d(n.input(0))) return false;
    const Tensor* w = constant_of(g_, n.input(1));
    if (!w || w->dtype() != DType::kFloat32 || w->rank() != 4) return false;
    const int64_t group = n.get_int("group", 1);
    const int64_t c_in = w->dim(1) * group, m = w->dim(0);
    if (group != 1 && !(group == c_in && group == m)) return false;  // group 1 or depthwise only
    if (n.input(2) != ir::kNoValue && !constant_of(g_, n.input(2))) return false;
    n.inputs[0] = blocked_input(n.input(0));
    if (n.input(3) != ir::kNoValue) n.inputs[3] = blocked_input(n.input(3));
    n.op = OpId::BlockedConv;
    n.op_type = "BlockedConv";
    n.domain = "verge";
    n.since_version = 1;
    n.set_attr(ir::Attribute{.name = "block", .type = ir::AttrType::kInt, .i = block_});
    set_blocked_output(n, 0, m);
    return true;
  }

  bool convert_pool(ir::Node& n) {
    const ir::ValueId x = n.input(0);
    if (!is_blocked(x) || (n.outputs.size() > 1 && n.output(1) != ir::kNoValue)) return false;
    const bool global = n.op == OpId::GlobalMaxPool || n.op == OpId::GlobalAveragePool;
    const bool max = n.op == OpId::MaxPool || n.op == OpId::GlobalMaxPool;
    if (!global && n.get_ints("kernel_shape").size() != 2) return false;
    const int64_t channels = channels_[static_cast<size_t>(x)];
    n.inputs = {blocked_input(x)};
    n.outputs.resize(1);
    n.op = OpId::BlockedPool;
    n.op_type = "BlockedPool";
    n.domain = "verge";
    n.since_version = 1;
    n.remove_attr("storage_order");
    n.set_attr(ir::Attribute{.name = "mode", .type = ir::AttrType::kString, .s = max ? "max" : "average"});
    n.set_attr(ir::Attribute{.name = "global", .type = ir::AttrType::kInt, .i = global ? 1 : 0});
    n.set_attr(ir::Attribute{.name = "block", .type = ir::AttrType::kInt, .i = block_});
    set_blocked_output(n, 0, channels);
    return true;
  }

  bool convert_concat(ir::Node& n) {
    if (n.get_int("axis", 0) != 1 && n.get_int("axis", 0) != -3) return false;
    // At least one blocked input; planar 4-D float inputs are re-laid out (shared ToBlocked).
    std::vector<int64_t> ch;
    bool any_blocked = false;
    for (ir::ValueId in : n.inputs) {
      if (!is_planar_4d(in) || constant_of(g_, in)) return false;
      any_blocked = any_blocked || is_blocked(in);
      ch.push_back(type(in)->shape[1]);
    }
    if (!any_blocked) return false;
    int64_t total = 0;
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      total += ch[i];
      n.inputs[i] = blocked_input(n.inputs[i]);
    }
    n.attrs.clear();
    n.op = OpId::BlockedConcat;
    n.op_type = "BlockedConcat";
    n.domain = "verge";
    n.since_version = 1;
    n.set_attr(ir::Attribute{.name = "channels", .type = ir::AttrType::kInts, .ints = ch});
    n.set_attr(ir::Attribute{.name = "block", .type = ir::AttrType::kInt, .i = block_});
    set_blocked_output(n, 0, total);
    return true;
  }

  bool convert_elementwise(ir::Node& n) {
    // At least one blocked operand; the rest blocked, planar with the same channel count, or suitable
    // constants. The output must have the blocked operand's channel count.
    const size_t n_in = n.op == OpId::Clip ? 1 : n.inputs.size();
    if (n.op == OpId::Clip)
      for (size_t i = 1; i < n.inputs.size(); ++i)
        if (n.input(i) != ir::kNoValue && !constant_of(g_, n.input(i))) return false;
    int64_t channels = -1;
    for (size_t i = 0; i < n_in; ++i)
      if (is_blocked(n.input(i))) channels = channels_[static_cast<size_t>(n.input(i))];
    const TensorType* out = type(n.outputs[0]);
    if (channels < 0 || !out || out->dtype != DType::kFloat32 || out->shape.size() != 4 || out->shape[1] != channels)
      return false;
    std::vector<ir::ValueId> ins(n.inputs);
    for (size_t i = 0; i < n_in; ++i) {
      const ir::ValueId v = n.input(i);
      if (is_blocked(v)) continue;
      if (const Tensor* c = constant_of(g_, v)) {
        if (n.op == OpId::Div && i == 1)
          for (int64_t e = 0; e < c->numel(); ++e)
            if (c->get_as_double(e) == 0.0) return false;
        const ir::ValueId bc = blocked_constant(v, channels);
        if (bc == ir::kNoValue) return false;
        ins[i] = bc;
        continue;
      }
      if (n.op == OpId::Div) return false;  // runtime divisors could be zero in padding lanes
      const TensorType* t = type(v);
      if (!t || t->dtype != DType::kFloat32 || t->shape.size() != 4 || (t->shape[1] != channels && t->shape[1] != 1))
        return false;
      if (t->shape[1] == 1) return false;  // a [N,1,H,W] operand would broadcast across the wrong axis
    }
    for (size_t i = 0; i < n_in; ++i) {
      const ir::ValueId v = n.input(i);
      if (ins[i] != v) continue;  // constant already re-laid out
      if (constant_of(g_, v)) continue;  // scalar constant: stays
      ins[i] = blocked_input(v);
    }
    n.inputs = ins;
    set_blocked_output(n, 0, channels);
    return true;
  }

  ir::Graph& g_;
  int64_t block_;
  std::vector<std::optional<TensorType>> types_;
  std::vector<ir::ValueId> blocked_of_;        // original value -> its blocked replacement
  std::vector<ir::ValueId> to_blocked_cache_;  // planar value -> its ToBlocked output
  std::vector<int64_t> channels_;              // real channel count of blocked values (by original id)
  std::vector<ir::Node> added_;
};

}  // namespace

Result<int> blocked_layout(ir::Graph& g, int block) {
  LayoutRewriter r(g, block);
  return r.run();
}

}  // namespace verge::opt
