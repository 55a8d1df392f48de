// QDQ -> integer ops (level extended): see passes.h (fuse_qdq) and docs/optimizer.md.
//
// A QDQ model states "compute this op in float on dequantized values, then quantize". The rewrites here
// compute the same thing on the quantized tensors:
//   Q(act(Conv(DQ(x), DQ(w), bias)))        -> QLinearConv (act = Relu / Clip when the output's
//                                               saturation already implements it)
//   Q(act(Gemm/MatMul(DQ(a), DQ(w), bias))) -> Reshape -> 1x1 QLinearConv -> Reshape (2-D A, constant W)
//   Q(op(DQ(x)...)) with equal parameters   -> op on the quantized tensors (MaxPool, GlobalMaxPool,
//                                               Reshape, Flatten, Transpose, Squeeze, Unsqueeze, Concat,
//                                               nearest Resize, Slice, Gather)
//   Q(Concat(DQ(a), DQ(b), ...))            -> Concat of the quantized tensors, each input whose parameters
//                                               differ from the output's first through a requantizing
//                                               verge.QLut (exact)
//   Q([Relu](Add/Mul(DQ(a), DQ(b))))        -> verge.QAdd / verge.QMul (same shape, or b per leading
//                                               index such as an SE gate [N, C, 1, 1]; exact)
//   Q(f(DQ(x))), f elementwise (Sigmoid, HardSigmoid, HardSwish, Tanh, ...) -> verge.QLut (exact)
//   QAdd / QMul(a, QLut(a)) (SiLU, x * HardSigmoid(x), ...)                   -> verge.QLut (exact)
//   Q(GlobalAveragePool(DQ(x)))             -> verge.QGlobalAveragePool (integer sum, float32 scale)
//   Q(AveragePool(DQ(x))), 4-D x            -> verge.QAveragePool (integer window sums, float32 scale)
//   Q(DQ(x)) with equal parameters          -> x
// Convolutions differ from the float QDQ graph only in rounding: the integer path sums exactly and
// requantizes with one double multiply, the float path sums in float; outputs differ by at most one
// quantization step where the real value lies next to a rounding boundary (tests/unit/test_quantized.cpp).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <utility>

#include "kernels/activation.h"
#include "kernels/ref/quant_math.h"
#include "optimize/graph_edit.h"
#include "optimize/passes.h"
#include "runtime/plan.h"

namespace verge::opt {
namespace {

// Quantization parameters of a QuantizeLinear / DequantizeLinear node, all constant.
struct QParams {
  const Tensor* scale = nullptr;
  const Tensor* zp = nullptr;  // nullptr = absent (uint8 0)
  int64_t axis = 1;
  DType qtype = DType::kUInt8;

  bool per_tensor() const { return scale->numel() == 1 && (!zp || zp->numel() == 1); }
  float scale0() const { return scale->data<float>()[0]; }
  int64_t zp0() const { return zp ? zp->get_as_int64(0) : 0; }
};

std::optional<QParams> qparams(const ir::Graph& g, const ir::Node& n) {
  QParams p;
  p.scale = constant_of(g, n.input(1));
  if (!p.scale || p.scale->dtype() != DType::kFloat32) return std::nullopt;
  if (n.input(2) != ir::kNoValue) {
    p.zp = constant_of(g, n.input(2));
    if (!p.zp) return std::nullopt;
    p.qtype = p.zp->dtype();
  }
  p.axis = n.get_int("axis", 1);
  return p;
}

bool same_params(const QParams& a, const QParams& b) {
  return a.per_tensor() && b.per_tensor() && a.qtype == b.qtype && a.scale0() == b.scale0() &&
         a.zp0() == b.zp0();
}

bool is_int8(DType t) { return t == DType::kInt8 || t == DType::kUInt8; }

// A verge.QLut table of `qtype`: entry b is f(b) quantized with QuantizeLinear's arithmetic.
template <class F>
Tensor quantized_table(DType qtype, float scale, int32_t zp, F&& f) {
  Tensor t = Tensor::allocate(qtype, {256}).value();
  for (int b = 0; b < 256; ++b)
    static_cast<uint8_t*>(t.raw())[b] = ref::quant::quantize_byte(f(b), scale, zp, qtype == DType::kInt8);
  return t;
}

class Rewriter {
 public:
  explicit Rewriter(ir::Graph& g)
      : g_(g), uses_(compute_uses(g)), types_(infer_value_types(g)), dead_(g.nodes.size(), 0) {}

  int run() {
    int changes = 0;
    for (size_t k = 0; k < g_.nodes.size(); ++k) {
      if (dead_[k]) continue;
      const OpId op = g_.nodes[k].op;
      if (op == OpId::Conv || op == OpId::Gemm || op == OpId::MatMul)
        changes += rewrite_linear(k);
      else if (op == OpId::Add || op == OpId::Mul)
        changes += rewrite_binary(k);
      else if (op == OpId::QAdd || op == OpId::QMul)
        changes += fold_lut_operand(k);
      else if (op == OpId::GlobalAveragePool || op == OpId::AveragePool)
        changes += rewrite_average_pool(k);
      else if (lut_op(op))
        changes += rewrite_lut(k);
      else if (op == OpId::QuantizeLinear)
        changes += cancel_pair(k);
      else
        changes += passthrough(k);
    }
    if (!pending_.empty()) {
      for (ir::Node& n : pending_) g_.add_node(std::move(n));
      dead_.resize(g_.nodes.size(), 0);
    }
    if (changes) {
      erase_nodes(g_, dead_);
      (void)g_.topological_sort();
    }
    return changes;
  }

 private:
  // The DequantizeLinear producing v (int8 data), or nullptr.
  const ir::Node* dq_of(ir::ValueId v) const {
    if (v == ir::kNoValue) return nullptr;
    const ir::NodeId p = g_.value(v).producer;
    if (p < 0 || dead_[static_cast<size_t>(p)]) return nullptr;
    const ir::Node& n = g_.nodes[static_cast<size_t>(p)];
    if (n.op != OpId::DequantizeLinear) return nullptr;
    const auto& t = types_[static_cast<size_t>(n.input(0))];
    if (!t || !is_int8(t->dtype)) return nullptr;
    return &n;
  }
  // The sole QuantizeLinear consuming v, or -1.
  ir::NodeId q_user(ir::ValueId v) const {
    const ir::NodeId u = uses_.sole_user(v);
    if (u < 0 || dead_[static_cast<size_t>(u)] || g_.nodes[static_cast<size_t>(u)].op != OpId::QuantizeLinear)
      return -1;
    return u;
  }
  // The sole QuantizeLinear consuming v when its parameters are constant, per tensor and 8-bit, with
  // those parameters; {-1, nullopt} otherwise.
  std::pair<ir::NodeId, std::optional<QParams>> int8_q_user(ir::ValueId v) const {
    const ir::NodeId qi = q_user(v);
    if (qi < 0) return {-1, std::nullopt};
    auto p = qparams(g_, g_.nodes[static_cast<size_t>(qi)]);
    if (!p || !p->per_tensor() || !is_int8(p->qtype)) return {-1, std::nullopt};
    return {qi, p};
  }
  ir::ValueId constant(const std::string& base, Tensor t) {
    return g_.add_constant(fresh(base), std::move(t));
  }
  std::string fresh(const std::string& base) {
    std::string n = base;
    for (int k = 1; g_.find(n) != ir::kNoValue; ++k) n = fmt::format("{}_{}", base, k);
    return n;
  }
  // The zero point input of a Q/DQ node as a value (a new constant 0 of the node's type when absent).
  ir::ValueId zp_value(const ir::Node& n, DType qtype) {
    if (n.input(2) != ir::kNoValue) return n.input(2);
    Tensor z = Tensor::allocate(qtype, {}).value();
    std::memset(z.raw(), 0, z.nbytes());
    return constant(n.name + "_zero_point", std::move(z));
  }

  // Q(DQ(x)) with the same parameters: the Q output is x.
  int cancel_pair(size_t k) {
    const ir::Node& q = g_.nodes[k];
    const ir::Node* dq = dq_of(q.input(0));
    if (!dq || uses_.graph_output[static_cast<size_t>(q.outputs[0])]) return 0;
    auto pq = qparams(g_, q), pd = qparams(g_, *dq);
    if (!pq || !pd || !same_params(*pq, *pd)) return 0;
    replace_uses(g_, q.outputs[0], dq->input(0));
    dead_[k] = 1;
    return 1;
  }

  // Ops that commute with (monotone, per-tensor) quantization run on the quantized tensors: they select,
  // move or take the maximum of values (Resize only in nearest mode).
  int passthrough(size_t k) {
    ir::Node& n = g_.nodes[k];
    static constexpr OpId kOps[] = {OpId::MaxPool,   OpId::GlobalMaxPool, OpId::Reshape,   OpId::Flatten,
                                    OpId::Transpose, OpId::Squeeze,       OpId::Unsqueeze, OpId::Concat,
                                    OpId::Resize,    OpId::Slice,         OpId::Gather};
    if (std::find(std::begin(kOps), std::end(kOps), n.op) == std::end(kOps)) return 0;
    if (n.op == OpId::MaxPool && n.output(1) != ir::kNoValue) return 0;
    if (n.op == OpId::Resize && n.get_string("mode", "nearest") != "nearest") return 0;
    const ir::NodeId qi = q_user(n.outputs[0]);
    if (qi < 0) return 0;
    const ir::Node& q = g_.nodes[static_cast<size_t>(qi)];
    auto pq = qparams(g_, q);
    if (!pq) return 0;
    const bool concat = n.op == OpId::Concat;
    const size_t data_inputs = concat ? n.inputs.size() : 1;
    std::vector<ir::ValueId> raw;
    std::vector<std::optional<QParams>> requant(data_inputs);  // Concat inputs with other parameters
    for (size_t i = 0; i < data_inputs; ++i) {
      const ir::Node* dq = dq_of(n.input(i));
      if (!dq) return 0;
      auto pd = qparams(g_, *dq);
      if (!pd) return 0;
      if (!same_params(*pd, *pq)) {
        if (!concat || !pd->per_tensor() || !pq->per_tensor() || !is_int8(pq->qtype)) return 0;
        requant[i] = pd;
      }
      raw.push_back(dq->input(0));
    }
    for (size_t i = 0; i < data_inputs; ++i) {
      if (requant[i]) raw[i] = requantize(raw[i], *requant[i], *pq, fmt::format("{}_in{}", n.name, i));
      n.inputs[i] = raw[i];
    }
    n.outputs[0] = q.outputs[0];
    dead_[static_cast<size_t>(qi)] = 1;
    return 1;
  }

  // A new verge.QLut node computing Q_to(DQ_from(x)) for every byte of x (exact: QuantizeLinear of
  // DequantizeLinear is a function of the byte); returns its output.
  ir::ValueId requantize(ir::ValueId x, const QParams& from, const QParams& to, const std::string& name) {
    const DType xtype = types_[static_cast<size_t>(x)]->dtype;
    Tensor table = quantized_table(to.qtype, to.scale0(), static_cast<int32_t>(to.zp0()), [&](int b) {
      return ref::quant::dequantize(ref::quant::byte_value(static_cast<uint8_t>(b), xtype == DType::kInt8),
                                    from.zp0(), from.scale0());
    });
    ir::Node lut{
        .op = OpId::QLut, .op_type = "QLut", .domain = "verge", .name = fresh(name), .since_version = 1};
    const ir::ValueId y = g_.add_value(fresh(name + "_requantized"));
    lut.inputs = {x, constant(name + "_lut", std::move(table))};
    lut.outputs = {y};
    pending_.push_back(std::move(lut));
    return y;
  }

  static bool lut_op(OpId op) {
    static constexpr OpId kOps[] = {OpId::Sigmoid,   OpId::HardSigmoid, OpId::HardSwish, OpId::Tanh,
                                    OpId::LeakyRelu, OpId::Elu,         OpId::Softplus,  OpId::Clip,
                                    OpId::Relu,      OpId::Exp,         OpId::Neg,       OpId::Abs};
    return std::find(std::begin(kOps), std::end(kOps), op) != std::end(kOps);
  }

  // Q(f(DQ(x))) for an elementwise f with constant extra inputs -> verge.QLut: the table is f's reference
  // kernel run on the 256 dequantized values, quantized as QuantizeLinear does (exact).
  int rewrite_lut(size_t k) {
    const ir::Node n = g_.nodes[k];
    const ir::Node* dq = dq_of(n.input(0));
    if (!dq) return 0;
    auto px = qparams(g_, *dq);
    if (!px || !px->per_tensor()) return 0;
    for (size_t i = 1; i < n.inputs.size(); ++i)
      if (n.input(i) != ir::kNoValue && !constant_of(g_, n.input(i))) return 0;
    const auto [qi, py] = int8_q_user(n.outputs[0]);
    if (qi < 0) return 0;
    const ir::Node& q = g_.nodes[static_cast<size_t>(qi)];
    const DType xtype = types_[static_cast<size_t>(dq->input(0))]->dtype;
    // f on every input byte, through a one-node graph folded by the planner with reference kernels.
    ir::Graph tg;
    Tensor xs = Tensor::allocate(DType::kFloat32, {256}).value();
    for (int b = 0; b < 256; ++b)
      xs.data<float>()[b] = ref::quant::dequantize(
          ref::quant::byte_value(static_cast<uint8_t>(b), xtype == DType::kInt8), px->zp0(), px->scale0());
    ir::Node f = n;
    f.inputs[0] = tg.add_constant("x", std::move(xs));
    for (size_t i = 1; i < f.inputs.size(); ++i)
      if (n.input(i) != ir::kNoValue)
        f.inputs[i] = tg.add_constant(fmt::format("c{}", i), *constant_of(g_, n.input(i)));
    f.outputs = {tg.add_value("y")};
    const ir::ValueId fy = f.outputs[0];
    tg.add_node(std::move(f));
    tg.outputs = {fy};
    ExecOptions eo;
    eo.kernels = KernelPolicy::kReference;
    eo.infer_only = true;
    auto plan = Plan::build(tg, {}, eo);
    if (!plan.is_ok()) return 0;
    const Tensor* fx = (*plan)->value_constant(fy);
    if (!fx || fx->dtype() != DType::kFloat32 || fx->numel() != 256) return 0;
    Tensor table = quantized_table(py->qtype, py->scale0(), static_cast<int32_t>(py->zp0()),
                                   [&](int b) { return fx->data<float>()[b]; });
    ir::Node lut{.op = OpId::QLut, .op_type = "QLut", .domain = "verge", .name = n.name, .since_version = 1};
    lut.inputs = {dq->input(0), constant(n.name + "_lut", std::move(table))};
    lut.outputs = {q.outputs[0]};
    dead_[k] = 1;
    dead_[static_cast<size_t>(qi)] = 1;
    pending_.push_back(std::move(lut));
    return 1;
  }

  // Q([Relu](Add / Mul(DQ(a), DQ(b)))) of one shape, per-tensor parameters -> verge.QAdd / QMul (exact: the
  // fused kernel performs the same float32 operations).
  int rewrite_binary(size_t k) {
    const ir::Node n = g_.nodes[k];
    const ir::Node* da = dq_of(n.input(0));
    const ir::Node* db = dq_of(n.input(1));
    if (!da || !db) return 0;
    {  // B may broadcast over A's trailing dims (A's leading dims then 1s); Add and Mul commute
      const auto& t0 = types_[static_cast<size_t>(n.input(0))];
      const auto& t1 = types_[static_cast<size_t>(n.input(1))];
      if (t0 && t1 && shape_numel(t0->shape) < shape_numel(t1->shape)) std::swap(da, db);
    }
    auto pa = qparams(g_, *da), pb = qparams(g_, *db);
    if (!pa || !pb || !pa->per_tensor() || !pb->per_tensor()) return 0;
    const auto& ta = types_[static_cast<size_t>(da->outputs[0])];
    const auto& tb = types_[static_cast<size_t>(db->outputs[0])];
    if (!ta || !tb || ta->shape.size() != tb->shape.size()) return 0;
    size_t lead = 0;
    while (lead < ta->shape.size() && tb->shape[lead] == ta->shape[lead]) ++lead;
    for (size_t d = lead; d < tb->shape.size(); ++d)
      if (tb->shape[d] != 1) return 0;
    ir::ValueId y = n.outputs[0];
    const ir::NodeId relu_id = uses_.sole_user(y);
    const bool relu = relu_id >= 0 && !dead_[static_cast<size_t>(relu_id)] &&
                      g_.nodes[static_cast<size_t>(relu_id)].op == OpId::Relu;
    if (relu) y = g_.nodes[static_cast<size_t>(relu_id)].outputs[0];
    const auto [qi, py] = int8_q_user(y);
    if (qi < 0) return 0;
    const ir::Node& q = g_.nodes[static_cast<size_t>(qi)];
    const bool mul = n.op == OpId::Mul;
    ir::Node qb{.op = mul ? OpId::QMul : OpId::QAdd,
                .op_type = mul ? "QMul" : "QAdd",
                .domain = "verge",
                .name = n.name,
                .since_version = 1};
    qb.inputs = {
        da->input(0), da->input(1),          zp_value(*da, types_[static_cast<size_t>(da->input(0))]->dtype),
        db->input(0), db->input(1),          zp_value(*db, types_[static_cast<size_t>(db->input(0))]->dtype),
        q.input(1),   zp_value(q, py->qtype)};
    qb.outputs = {q.outputs[0]};
    if (relu) {
      qb.set_attr(ir::Attribute{.name = "activation", .type = ir::AttrType::kString, .s = "Relu"});
      dead_[static_cast<size_t>(relu_id)] = 1;
    }
    dead_[static_cast<size_t>(qi)] = 1;
    dead_[k] = 1;
    pending_.push_back(std::move(qb));
    return 1;
  }

  // QAdd / QMul(a, QLut(a)) of one shape, the QLut used only here (SiLU = x * Sigmoid(x), x * HardSigmoid
  // (x), ...) -> QLut(a): both operands are functions of a's byte, so the table is the QAdd / QMul reference
  // arithmetic on each byte and its table entry (exact).
  int fold_lut_operand(size_t k) {
    const ir::Node n = g_.nodes[k];
    const auto& ta = types_[static_cast<size_t>(n.input(0))];
    const auto& tb = types_[static_cast<size_t>(n.input(3))];
    if (!ta || !tb || ta->shape != tb->shape) return 0;
    for (int side = 0; side < 2; ++side) {
      const ir::ValueId plain = n.input(side == 0 ? 0 : 3), looked = n.input(side == 0 ? 3 : 0);
      const ir::NodeId li = g_.value(looked).producer;
      if (li < 0 || dead_[static_cast<size_t>(li)] || uses_.sole_user(looked) != static_cast<ir::NodeId>(k) ||
          uses_.graph_output[static_cast<size_t>(looked)])
        continue;
      const ir::Node& lut = g_.nodes[static_cast<size_t>(li)];
      const Tensor* table = constant_of(g_, lut.input(1));
      if (lut.op != OpId::QLut || lut.input(0) != plain || !table) continue;
      std::vector<const Tensor*> c(8, nullptr);
      for (size_t i : {1, 2, 4, 5, 6, 7})
        if (!(c[i] = constant_of(g_, n.input(i)))) return 0;
      const bool mul = n.op == OpId::QMul, relu = n.get_string("activation", "") == "Relu";
      const DType ytype = c[7]->dtype();
      auto byte_value = [](DType t, int b) {
        return ref::quant::byte_value(static_cast<uint8_t>(b), t == DType::kInt8);
      };
      const float ys = c[6]->data<float>()[0];
      const auto yz = static_cast<int32_t>(c[7]->get_as_int64(0));
      Tensor out = quantized_table(ytype, ys, yz, [&](int b) {
        const int lb = static_cast<const uint8_t*>(table->raw())[b];
        const int ab = side == 0 ? b : lb, bb = side == 0 ? lb : b;  // bytes of inputs 0 and 3
        const float fa = ref::quant::dequantize(byte_value(c[2]->dtype(), ab), c[2]->get_as_int64(0),
                                                c[1]->data<float>()[0]);
        const float fb = ref::quant::dequantize(byte_value(c[5]->dtype(), bb), c[5]->get_as_int64(0),
                                                c[4]->data<float>()[0]);
        float v = mul ? fa * fb : fa + fb;
        if (relu && !(v > 0.f)) v = 0.f;
        return v;
      });
      ir::Node folded{
          .op = OpId::QLut, .op_type = "QLut", .domain = "verge", .name = n.name, .since_version = 1};
      folded.inputs = {plain, constant(n.name + "_lut", std::move(out))};
      folded.outputs = {n.outputs[0]};
      dead_[k] = 1;
      dead_[static_cast<size_t>(li)] = 1;
      pending_.push_back(std::move(folded));
      return 1;
    }
    return 0;
  }

  // Q(GlobalAveragePool(DQ(x))) / Q(AveragePool(DQ(x))) on 4-D x, per-tensor parameters ->
  // verge.QGlobalAveragePool / verge.QAveragePool (integer sums, one float32 scale; differ from the float
  // graph by rounding only, at most one step).
  int rewrite_average_pool(size_t k) {
    const ir::Node n = g_.nodes[k];
    const bool global = n.op == OpId::GlobalAveragePool;
    const ir::Node* dq = dq_of(n.input(0));
    if (!dq) return 0;
    auto px = qparams(g_, *dq);
    if (!px || !px->per_tensor()) return 0;
    const auto& xt = types_[static_cast<size_t>(dq->input(0))];
    if (!xt || (!global && xt->shape.size() != 4)) return 0;
    const auto [qi, py] = int8_q_user(n.outputs[0]);
    if (qi < 0) return 0;
    const ir::Node& q = g_.nodes[static_cast<size_t>(qi)];
    ir::Node pool = n;  // AveragePool's attributes stay
    pool.op = global ? OpId::QGlobalAveragePool : OpId::QAveragePool;
    pool.op_type = global ? "QGlobalAveragePool" : "QAveragePool";
    pool.domain = "verge";
    pool.since_version = 1;
    pool.inputs = {dq->input(0), dq->input(1), zp_value(*dq, xt->dtype), q.input(1), zp_value(q, py->qtype)};
    pool.outputs = {q.outputs[0]};
    dead_[k] = 1;
    dead_[static_cast<size_t>(qi)] = 1;
    pending_.push_back(std::move(pool));
    return 1;
  }

  // Conv / Gemm / MatMul between DQ inputs and a Q output (optionally through Relu / Clip).
  int rewrite_linear(size_t k) {
    const ir::Node n = g_.nodes[k];
    const bool conv = n.op == OpId::Conv;
    const ir::Node* dx = dq_of(n.input(0));
    const ir::Node* dw = dq_of(n.input(1));
    if (!dx || !dw || !constant_of(g_, dw->input(0))) return 0;
    auto px = qparams(g_, *dx), pw = qparams(g_, *dw);
    if (!px || !pw || !px->per_tensor()) return 0;
    px->qtype = types_[static_cast<size_t>(dx->input(0))]->dtype;
    pw->qtype = types_[static_cast<size_t>(dw->input(0))]->dtype;
    // Output side: [Relu | Clip] -> Q.
    ir::ValueId y = n.outputs[0];
    ir::NodeId act_id = uses_.sole_user(y);
    const ir::Node* act = nullptr;
    if (act_id >= 0 && !dead_[static_cast<size_t>(act_id)] &&
        (g_.nodes[static_cast<size_t>(act_id)].op == OpId::Relu ||
         g_.nodes[static_cast<size_t>(act_id)].op == OpId::Clip)) {
      act = &g_.nodes[static_cast<size_t>(act_id)];
      y = act->outputs[0];
    }
    const auto [qi, py] = int8_q_user(y);
    if (qi < 0) return 0;
    const ir::Node& q = g_.nodes[static_cast<size_t>(qi)];
    if (act && !activation_is_saturation(*act, *py)) return 0;

    const Tensor& wq = *constant_of(g_, dw->input(0));
    Tensor w;        // [M, C/group, kh, kw] for the convolution
    Tensor w_zp;     // [M] or scalar
    Tensor w_scale;  // [M] or scalar
    int64_t m = 0;
    ir::Node qc{.op = OpId::QLinearConv, .op_type = "QLinearConv", .name = n.name, .since_version = 10};
    if (conv) {
      if (wq.rank() != 4 || !types_[static_cast<size_t>(n.input(0))] ||
          types_[static_cast<size_t>(n.input(0))]->shape.size() != 4)
        return 0;
      m = wq.dim(0);
      if (!pw->per_tensor() && ((pw->axis + 4) % 4 != 0 || pw->scale->numel() != m)) return 0;
      w = wq;
      qc.attrs = n.attrs;
    } else {
      // 2-D A and constant 2-D W; Gemm without transA / alpha / beta scaling.
      const auto& ta = types_[static_cast<size_t>(n.input(0))];
      if (!ta || ta->shape.size() != 2 || wq.rank() != 2) return 0;
      const bool tb = n.op == OpId::Gemm && n.get_int("transB", 0) != 0;
      if (n.op == OpId::Gemm && (n.get_int("transA", 0) != 0 || n.get_float("alpha", 1.f) != 1.f ||
                                 (n.input(2) != ir::kNoValue && n.get_float("beta", 1.f) != 1.f)))
        return 0;
      const int64_t kdim = tb ? wq.dim(1) : wq.dim(0);
      m = tb ? wq.dim(0) : wq.dim(1);
      const int64_t channel_axis = tb ? 0 : 1;
      if (!pw->per_tensor() && ((pw->axis + 2) % 2 != channel_axis || pw->scale->numel() != m)) return 0;
      w = Tensor::allocate(wq.dtype(), {m, kdim, 1, 1}).value();
      const auto* src = static_cast<const uint8_t*>(wq.raw());
      auto* dst = static_cast<uint8_t*>(w.raw());
      for (int64_t i = 0; i < m; ++i)
        for (int64_t kk = 0; kk < kdim; ++kk) dst[i * kdim + kk] = tb ? src[i * kdim + kk] : src[kk * m + i];
    }
    // Bias in units of x_scale * w_scale[m] (int32), from DQ(int32) or a float constant.
    ir::ValueId bias_v = ir::kNoValue;
    if (n.input(2) != ir::kNoValue) {
      auto bias = int32_bias(n.input(2), *px, *pw, m);
      if (!bias) return 0;
      bias_v = constant(n.name + "_bias_q", std::move(*bias));
    }
    // Gemm's C may be a row broadcast of any rank <= 2 (checked by int32_bias through numel == m).
    qc.inputs = {dx->input(0),
                 dx->input(1),
                 zp_value(*dx, px->qtype),
                 conv ? dw->input(0) : ir::kNoValue,
                 dw->input(1),
                 zp_value(*dw, pw->qtype),
                 q.input(1),
                 zp_value(q, py->qtype),
                 bias_v};
    if (bias_v == ir::kNoValue) qc.inputs.pop_back();
    dead_[k] = 1;
    if (act) dead_[static_cast<size_t>(act_id)] = 1;
    dead_[static_cast<size_t>(qi)] = 1;
    if (conv) {
      qc.outputs = {q.outputs[0]};
      pending_.push_back(std::move(qc));
      return 1;
    }
    // [B, K] -> [B, K, 1, 1] -> QLinearConv 1x1 -> [B, M, 1, 1] -> [B, M].
    qc.inputs[3] = constant(n.name + "_weight_q", std::move(w));
    const ir::ValueId shape4 = constant(n.name + "_shape4", Tensor::from_vector<int64_t>({4}, {0, 0, 1, 1}));
    const ir::ValueId shape2 = constant(n.name + "_shape2", Tensor::from_vector<int64_t>({2}, {0, 0}));
    const ir::ValueId a4 = g_.add_value(fresh(n.name + "_a4"));
    const ir::ValueId y4 = g_.add_value(fresh(n.name + "_y4"));
    qc.inputs[0] = a4;
    qc.outputs = {y4};
    qc.attrs.clear();
    pending_.push_back(ir::Node{.op = OpId::Reshape,
                                .op_type = "Reshape",
                                .name = n.name + "_to4d",
                                .since_version = 14,
                                .inputs = {dx->input(0), shape4},
                                .outputs = {a4}});
    pending_.push_back(std::move(qc));
    pending_.push_back(ir::Node{.op = OpId::Reshape,
                                .op_type = "Reshape",
                                .name = n.name + "_to2d",
                                .since_version = 14,
                                .inputs = {y4, shape2},
                                .outputs = {q.outputs[0]}});
    return 1;
  }

  // Relu / Clip before Q is implied by Q's saturation when quantize(lower bound) <= the type's minimum
  // and quantize(upper bound) >= its maximum (quantization is monotone).
  bool activation_is_saturation(const ir::Node& act, const QParams& py) const {
    float lo = 0.f, hi = INFINITY;
    if (act.op == OpId::Clip) {
      lo = -INFINITY;
      for (size_t i = 1; i < 3; ++i) {
        if (act.input(i) == ir::kNoValue) continue;
        const Tensor* t = constant_of(g_, act.input(i));
        if (!t || t->numel() != 1) return false;
        (i == 1 ? lo : hi) = static_cast<float>(t->get_as_double(0));
      }
    }
    const double qmin = py.qtype == DType::kInt8 ? -128 : 0, qmax = py.qtype == DType::kInt8 ? 127 : 255;
    auto quant = [&](float v) {
      return std::nearbyint(static_cast<double>(v / py.scale0())) + static_cast<double>(py.zp0());
    };
    return (lo == -INFINITY || quant(lo) <= qmin) && (hi == INFINITY || quant(hi) >= qmax);
  }

  std::optional<Tensor> int32_bias(ir::ValueId b, const QParams& px, const QParams& pw, int64_t m) const {
    const ir::Node* db = nullptr;
    const Tensor* bq = nullptr;
    std::optional<QParams> pb;
    if (const ir::NodeId p = g_.value(b).producer;
        p >= 0 && g_.nodes[static_cast<size_t>(p)].op == OpId::DequantizeLinear) {
      db = &g_.nodes[static_cast<size_t>(p)];
      bq = constant_of(g_, db->input(0));
      pb = qparams(g_, *db);
      if (!bq || !pb || bq->dtype() != DType::kInt32 || (pb->zp && pb->zp->get_as_int64(0) != 0))
        return std::nullopt;
    }
    const Tensor* bf = db ? nullptr : constant_of(g_, b);
    if (!bq && (!bf || bf->dtype() != DType::kFloat32)) return std::nullopt;
    const Tensor& src = bq ? *bq : *bf;
    if (src.numel() != m) return std::nullopt;
    Tensor out = Tensor::allocate(DType::kInt32, {m}).value();
    for (int64_t i = 0; i < m; ++i) {
      const double ws = pw.scale->data<float>()[pw.scale->numel() == 1 ? 0 : i];
      const float acc_scale = px.scale0() * static_cast<float>(ws);  // what QDQ quantizers use
      if (bq) {
        const float bs = pb->scale->data<float>()[pb->scale->numel() == 1 ? 0 : i];
        const int32_t v = bq->data<int32_t>()[i];
        out.data<int32_t>()[i] =
            bs == acc_scale ? v
                            : static_cast<int32_t>(std::clamp(std::nearbyint(double(v) * bs / acc_scale),
                                                              -2147483648.0, 2147483647.0));
      } else {
        out.data<int32_t>()[i] = static_cast<int32_t>(std::clamp(
            std::nearbyint(double(bf->data<float>()[i]) / acc_scale), -2147483648.0, 2147483647.0));
      }
    }
    return out;
  }

  ir::Graph& g_;
  Uses uses_;
  std::vector<std::optional<TensorType>> types_;
  std::vector<char> dead_;
  std::vector<ir::Node> pending_;
};

}  // namespace

int fuse_qdq(ir::Graph& g) {
  // A second round folds what the first one made (e.g. QMul(a, QLut(a)) -> QLut).
  int total = 0;
  for (int round = 0, c = 1; round < 4 && c > 0; ++round) {
    total += c = Rewriter(g).run();
    remove_dead_nodes(g);  // the DequantizeLinear nodes the round bypassed, so that uses are counted right
  }
  return total;
}

}  // namespace verge::opt
