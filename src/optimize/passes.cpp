// The basic and extended optimizer passes. Each returns the number of rewrites it made.
#include "optimize/passes.h"

#include <fmt/format.h>

#include <cmath>

#include "kernels/activation.h"
#include "optimize/graph_edit.h"
#include "runtime/plan.h"

namespace verge::opt {
namespace {

bool is_float32_constant(const ir::Graph& g, ir::ValueId v) {
  const Tensor* t = constant_of(g, v);
  return t && t->dtype() == DType::kFloat32;
}

std::string fresh_name(const ir::Graph& g, const std::string& base) {
  if (g.find(base) == ir::kNoValue) return base;
  for (int k = 1;; ++k) {
    std::string n = fmt::format("{}_{}", base, k);
    if (g.find(n) == ir::kNoValue) return n;
  }
}

}  // namespace

int eliminate_identities(ir::Graph& g) {
  const Uses uses = compute_uses(g);
  std::vector<char> dead(g.nodes.size(), 0);
  int changes = 0;
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    const ir::Node& n = g.nodes[k];
    bool identity = n.op == OpId::Identity;
    if (n.op == OpId::Dropout) {
      // Inference-mode Dropout: no training_mode input (or a constant false one), mask unused.
      const Tensor* tm = constant_of(g, n.input(2));
      const bool inference = n.input(2) == ir::kNoValue || (tm && tm->numel() == 1 && tm->get_as_int64(0) == 0);
      const ir::ValueId mask = n.output(1);
      identity = inference && (mask == ir::kNoValue || uses.count(mask) == 0);
    }
    if (!identity || n.inputs.empty() || n.input(0) == ir::kNoValue) continue;
    const ir::ValueId out = n.outputs[0], in = n.inputs[0];
    // A graph output keeps its name; values read by subgraphs are referenced by name.
    if (uses.graph_output[static_cast<size_t>(out)] || uses.outer_read[static_cast<size_t>(out)]) continue;
    replace_uses(g, out, in);
    dead[k] = 1;
    ++changes;
  }
  if (changes) erase_nodes(g, dead);
  return changes;
}

Result<int> fold_constants(ir::Graph& g, const std::map<std::string, Shape>& input_shapes, bool keep_dequantize) {
  // Inputs with fully known shapes let Shape/Size (and what depends on them) fold too.
  bool all_static = true;
  std::vector<ValueBinding> bindings;
  for (ir::ValueId id : g.inputs) {
    const ir::Value& v = g.value(id);
    Shape shape;
    if (auto it = input_shapes.find(v.name); it != input_shapes.end()) {
      shape = it->second;
    } else {
      for (const ir::Dim& d : v.type.dims) {
        all_static = all_static && d.is_fixed();
        shape.push_back(d.is_fixed() ? d.value : 1);
      }
      all_static = all_static && v.type.has_shape;
    }
    bindings.push_back({id, TensorType{v.type.dtype, shape}, nullptr});
  }
  ExecOptions eo;
  eo.kernels = KernelPolicy::kReference;
  eo.infer_only = true;
  eo.fold_shapes = all_static;
  VERGE_ASSIGN_OR_RETURN(std::unique_ptr<Plan> plan, Plan::build(g, bindings, eo));
  constexpr int64_t kMaxFoldedElements = int64_t{1} << 22;  // don't bloat the model with huge constants
  std::vector<char> dead(g.nodes.size(), 0);
  std::vector<std::pair<ir::ValueId, std::shared_ptr<const Tensor>>> folded;
  int changes = 0;
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    const ir::Node& n = g.nodes[k];
    if (keep_dequantize && n.op == OpId::DequantizeLinear && g.is_constant(n.input(0)) &&
        g.value(n.input(0)).constant->dtype() != DType::kFloat32)
      continue;
    bool all = !n.outputs.empty();
    for (ir::ValueId o : n.outputs) {
      if (o == ir::kNoValue) continue;
      const Tensor* t = plan->value_constant(o);
      all = all && t && t->numel() <= kMaxFoldedElements;
    }
    if (!all) continue;
    for (ir::ValueId o : n.outputs) {
      if (o == ir::kNoValue) continue;
      VERGE_ASSIGN_OR_RETURN(Tensor copy, plan->value_constant(o)->clone());
      folded.emplace_back(o, std::make_shared<const Tensor>(std::move(copy)));
    }
    dead[k] = 1;
    ++changes;
  }
  plan.reset();
  for (auto& [v, t] : folded) {
    ir::Value& val = g.value(v);
    val.type.dtype = t->dtype();
    val.type.has_shape = true;
    val.type.dims.clear();
    for (int64_t d : t->shape()) val.type.dims.push_back(ir::Dim{d, {}});
    val.constant = std::move(t);
  }
  if (changes) erase_nodes(g, dead);
  return changes;
}

int remove_dead_nodes(ir::Graph& g) {
  const size_t before = g.nodes.size();
  g.remove_dead();
  return static_cast<int>(before - g.nodes.size());
}

// Conv(X, W, B) -> BatchNormalization(scale, bias, mean, var) with constant parameters becomes
// Conv(X, W * s, (B - mean) * s + bias), s = scale / sqrt(var + epsilon), per output channel.
int fold_batch_norm(ir::Graph& g) {
  const Uses uses = compute_uses(g);
  std::vector<char> dead(g.nodes.size(), 0);
  int changes = 0;
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    ir::Node& conv = g.nodes[k];
    if (conv.op != OpId::Conv || !is_float32_constant(g, conv.input(1))) continue;
    if (conv.input(2) != ir::kNoValue && !is_float32_constant(g, conv.input(2))) continue;
    const ir::NodeId bn_id = uses.sole_user(conv.outputs[0]);
    if (bn_id < 0) continue;
    ir::Node& bn = g.nodes[static_cast<size_t>(bn_id)];
    if (bn.op != OpId::BatchNormalization || bn.get_int("training_mode", 0) != 0 || bn.input(0) != conv.outputs[0]) continue;
    if (bn.outputs.size() > 1 && (bn.output(1) != ir::kNoValue || bn.output(2) != ir::kNoValue)) continue;
    bool params_ok = true;
    for (size_t i = 1; i < 5; ++i) params_ok = params_ok && is_float32_constant(g, bn.input(i));
    if (!params_ok) continue;
    const Tensor& w = *constant_of(g, conv.input(1));
    const int64_t m = w.dim(0);
    const Tensor* scale = constant_of(g, bn.input(1));
    const Tensor* beta = constant_of(g, bn.input(2));
    const Tensor* mean = constant_of(g, bn.input(3));
    const Tensor* var = constant_of(g, bn.input(4));
    if (scale->numel() != m || beta->numel() != m || mean->numel() != m || var->numel() != m) continue;
    const double eps = bn.get_float("epsilon", 1e-5f);
    Tensor nw = w.clone().value();
    Tensor nb = Tensor::allocate(DType::kFloat32, {m}).value();
    const Tensor* b = constant_of(g, conv.input(2));
    const int64_t per = w.numel() / m;
    for (int64_t o = 0; o < m; ++o) {
      const double s = static_cast<double>(scale->data<float>()[o]) / std::sqrt(static_cast<double>(var->data<float>()[o]) + eps);
      for (int64_t i = 0; i < per; ++i) nw.data<float>()[o * per + i] = static_cast<float>(w.data<float>()[o * per + i] * s);
      const double bias = b ? b->data<float>()[o] : 0.0;
      nb.data<float>()[o] = static_cast<float>((bias - mean->data<float>()[o]) * s + beta->data<float>()[o]);
    }
    const std::string base = conv.name.empty() ? g.value(conv.outputs[0]).name : conv.name;
    const ir::ValueId wv = g.add_constant(fresh_name(g, base + "_W_bn"), std::move(nw));
    const ir::ValueId bv = g.add_constant(fresh_name(g, base + "_B_bn"), std::move(nb));
    ir::Node& c2 = g.nodes[k];  // add_constant may not move nodes, but re-take the reference anyway
    c2.inputs.resize(3, ir::kNoValue);
    c2.inputs[1] = wv;
    c2.inputs[2] = bv;
    c2.outputs[0] = g.nodes[static_cast<size_t>(bn_id)].outputs[0];
    dead[static_cast<size_t>(bn_id)] = 1;
    ++changes;
  }
  if (changes) {
    erase_nodes(g, dead);
    g.remove_dead();
  }
  return changes;
}

// MatMul(A[M,K], B[K,N] constant) -> Add(C constant, [N] or [1,N]) becomes Gemm(A, B, C).
int matmul_add_to_gemm(ir::Graph& g) {
  const Uses uses = compute_uses(g);
  const auto types = infer_value_types(g);
  std::vector<char> dead(g.nodes.size(), 0);
  int changes = 0;
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    ir::Node& mm = g.nodes[k];
    if (mm.op != OpId::MatMul) continue;
    const auto& ta = types[static_cast<size_t>(mm.input(0))];
    const Tensor* b = constant_of(g, mm.input(1));
    if (!ta || ta->shape.size() != 2 || ta->dtype != DType::kFloat32 || !b || b->rank() != 2) continue;
    const ir::NodeId add_id = uses.sole_user(mm.outputs[0]);
    if (add_id < 0) continue;
    ir::Node& add = g.nodes[static_cast<size_t>(add_id)];
    if (add.op != OpId::Add) continue;
    const ir::ValueId other = add.input(0) == mm.outputs[0] ? add.input(1) : add.input(0);
    const Tensor* c = constant_of(g, other);
    const int64_t n = b->dim(1);
    if (!c || c->dtype() != DType::kFloat32 || c->numel() != n || (c->rank() == 2 && c->dim(0) != 1) || c->rank() > 2) continue;
    ir::Node gemm{.op = OpId::Gemm, .op_type = "Gemm", .name = mm.name.empty() ? add.name : mm.name, .since_version = 13,
                  .inputs = {mm.input(0), mm.input(1), other}, .outputs = {add.outputs[0]}};
    g.nodes[k] = std::move(gemm);
    dead[static_cast<size_t>(add_id)] = 1;
    ++changes;
  }
  if (changes) erase_nodes(g, dead);
  return changes;
}

namespace {
// If `act_node` computes a fusable activation of `x` (directly, or as x * Sigmoid(x) / x * HardSigmoid(x)
// spanning two nodes), returns it with the node(s) it consumes and the value it produces.
struct ActMatch {
  Activation act;
  std::vector<ir::NodeId> nodes;
  ir::ValueId output = ir::kNoValue;
};

bool clip_bounds(const ir::Graph& g, const ir::Node& n, float* lo, float* hi) {
  *lo = -INFINITY;
  *hi = INFINITY;
  for (size_t i = 1; i < 3; ++i) {
    if (n.input(i) == ir::kNoValue) continue;
    const Tensor* t = constant_of(g, n.input(i));
    if (!t || t->numel() != 1) return false;
    (i == 1 ? *lo : *hi) = static_cast<float>(t->get_as_double(0));
  }
  return true;
}

std::optional<ActMatch> match_activation(const ir::Graph& g, const Uses& uses, ir::ValueId x) {
  const auto& users = uses.users[static_cast<size_t>(x)];
  if (uses.graph_output[static_cast<size_t>(x)] || uses.outer_read[static_cast<size_t>(x)]) return std::nullopt;
  if (users.size() == 1) {
    const ir::Node& n = g.nodes[static_cast<size_t>(users[0])];
    float lo = 0, hi = 0;
    if (n.op == OpId::Clip && !clip_bounds(g, n, &lo, &hi)) return std::nullopt;
    ActMatch m;
    if (n.input(0) == x && activation_of(n, lo, hi, &m.act)) {
      m.nodes = {users[0]};
      m.output = n.outputs[0];
      return m;
    }
    return std::nullopt;
  }
  if (users.size() != 2) return std::nullopt;
  // x * gate(x): one user is the gate (Sigmoid or HardSigmoid(1/6, 1/2)), the other Mul(x, gate).
  for (int order = 0; order < 2; ++order) {
    const ir::NodeId gate_id = users[static_cast<size_t>(order)], mul_id = users[static_cast<size_t>(1 - order)];
    const ir::Node& gate = g.nodes[static_cast<size_t>(gate_id)];
    const ir::Node& mul = g.nodes[static_cast<size_t>(mul_id)];
    if (mul.op != OpId::Mul || gate.input(0) != x) continue;
    const ir::ValueId gv = gate.outputs[0];
    if (uses.sole_user(gv) != mul_id) continue;
    if (!((mul.input(0) == x && mul.input(1) == gv) || (mul.input(1) == x && mul.input(0) == gv))) continue;
    ActMatch m;
    if (gate.op == OpId::Sigmoid) {
      m.act.kind = ActKind::kSiLU;
    } else if (gate.op == OpId::HardSigmoid && std::fabs(gate.get_float("alpha", 0.2f) - 1.f / 6) < 1e-6f &&
               gate.get_float("beta", 0.5f) == 0.5f) {
      m.act.kind = ActKind::kHardSwish;
    } else {
      continue;
    }
    m.nodes = {gate_id, mul_id};
    m.output = mul.outputs[0];
    return m;
  }
  return std::nullopt;
}
}  // namespace

int fuse_conv_activation(ir::Graph& g) {
  const auto types = infer_value_types(g);
  int changes = 0;
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    if (g.nodes[k].op != OpId::Conv) continue;
    const auto& tx = types[static_cast<size_t>(g.nodes[k].input(0))];
    if (!tx || tx->dtype != DType::kFloat32) continue;
    const Uses uses = compute_uses(g);
    std::vector<char> dead(g.nodes.size(), 0);
    ir::Node fused = g.nodes[k];
    fused.op = OpId::FusedConv;
    fused.op_type = "FusedConv";
    fused.domain = "verge";
    fused.since_version = 1;
    fused.inputs.resize(3, ir::kNoValue);
    ir::ValueId out = fused.outputs[0];
    // Residual: Add(conv, other) with `other` of exactly the conv's output shape.
    const ir::NodeId add_id = uses.sole_user(out);
    if (add_id >= 0 && g.nodes[static_cast<size_t>(add_id)].op == OpId::Add) {
      const ir::Node& add = g.nodes[static_cast<size_t>(add_id)];
      const ir::ValueId other = add.input(0) == out ? add.input(1) : add.input(0);
      const auto& to = types[static_cast<size_t>(other)];
      const auto& tout = types[static_cast<size_t>(out)];
      if (other != out && to && tout && to->shape == tout->shape && to->dtype == DType::kFloat32) {
        fused.inputs.push_back(other);
        out = add.outputs[0];
        dead[static_cast<size_t>(add_id)] = 1;
      }
    }
    Uses uses2 = compute_uses(g);
    if (auto m = match_activation(g, uses2, out)) {
      set_activation_attrs(fused, m->act);
      for (ir::NodeId id : m->nodes) dead[static_cast<size_t>(id)] = 1;
      out = m->output;
    }
    fused.outputs[0] = out;
    g.nodes[k] = std::move(fused);
    erase_nodes(g, dead);
    ++changes;
  }
  // A residual operand may be produced after the convolution: restore topological order.
  if (changes) (void)g.topological_sort();
  return changes;
}

int fuse_gemm_activation(ir::Graph& g) {
  int changes = 0;
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    if (g.nodes[k].op != OpId::Gemm) continue;
    const Uses uses = compute_uses(g);
    auto m = match_activation(g, uses, g.nodes[k].outputs[0]);
    if (!m) continue;
    std::vector<char> dead(g.nodes.size(), 0);
    ir::Node& n = g.nodes[k];
    n.op = OpId::FusedGemm;
    n.op_type = "FusedGemm";
    n.domain = "verge";
    n.since_version = 1;
    set_activation_attrs(n, m->act);
    n.outputs[0] = m->output;
    for (ir::NodeId id : m->nodes) dead[static_cast<size_t>(id)] = 1;
    erase_nodes(g, dead);
    ++changes;
  }
  return changes;
}

}  // namespace verge::opt
