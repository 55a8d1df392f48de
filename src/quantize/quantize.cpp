#include "quantize/quantize.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <set>

#include "import/onnx/importer.h"
#include "optimize/graph_edit.h"
#include "optimize/optimize.h"
#include "quantize/rewrite.h"
#include "runtime/session_impl.h"
#include "verge/session.h"

namespace verge::quant {
namespace {

using ir::kNoValue;
using ir::NodeId;
using ir::ValueId;

// How a node takes part in QDQ quantization (see quantize.h).
enum class Role : uint8_t { kNone, kCompute, kFold, kShared, kGeneric };

Role role_of(OpId op) {
  switch (op) {
    case OpId::Conv:
    case OpId::ConvTranspose:
    case OpId::Gemm:
    case OpId::MatMul:
      return Role::kCompute;
    case OpId::Relu:
    case OpId::Clip:
      return Role::kFold;
    case OpId::MaxPool:
    case OpId::AveragePool:
    case OpId::Reshape:
    case OpId::Flatten:
    case OpId::Transpose:
    case OpId::Squeeze:
    case OpId::Unsqueeze:
    case OpId::Resize:
    case OpId::Slice:
    case OpId::Gather:
      return Role::kShared;
    case OpId::Add:
    case OpId::Mul:
    case OpId::Concat:
    case OpId::GlobalAveragePool:
    case OpId::Sigmoid:
    case OpId::HardSigmoid:
    case OpId::HardSwish:
    case OpId::LeakyRelu:
    case OpId::Tanh:
    case OpId::Softmax:
      return Role::kGeneric;
    default:
      return Role::kNone;
  }
}

struct BiasPlan {
  NodeId node;
  size_t slot;
  ValueId x, w;
  float beta;
};

// Which tensors get which treatment, decided on the fp32 graph (before any edit).
struct Marking {
  std::vector<ValueId> acts;          // own calibrated parameters, in marking order
  std::map<ValueId, ValueId> shared;  // value -> provider whose parameters it reuses
  std::map<ValueId, int> weights;     // constant -> per-channel axis (-1: per tensor), int8 symmetric
  std::vector<ValueId> consts;        // float constants of generic ops: uint8 from their min/max
  std::vector<BiasPlan> biases;
  std::vector<char> quantized;  // per node
  std::vector<char> excluded;   // per node: kept float on request, reads float inputs
  std::vector<NodeId> folded;   // Relu/Clip nodes removed into the producer's quantized range
  std::vector<std::string> float_nodes;

  bool is_quantized(ValueId v) const {
    return std::find(acts.begin(), acts.end(), v) != acts.end() || shared.count(v) || weights.count(v);
  }
  void add_act(ValueId v) {
    if (std::find(acts.begin(), acts.end(), v) == acts.end() && !shared.count(v)) acts.push_back(v);
  }
};

class Quantizer {
 public:
  Quantizer(ir::Graph& g, const QuantizeOptions& o) : g_(g), o_(o), types_(opt::infer_value_types(g)) {}

  bool is_float(ValueId v) const {
    if (v == kNoValue) return false;
    if (g_.is_constant(v)) return g_.value(v).constant->dtype() == DType::kFloat32;
    const auto& t = types_[static_cast<size_t>(v)];
    return t && t->dtype == DType::kFloat32;
  }
  const Tensor* constant(ValueId v) const { return opt::constant_of(g_, v); }

  Result<Marking> mark(const std::set<std::string>& exclude) {
    Marking m;
    m.quantized.assign(g_.nodes.size(), 0);
    m.excluded.assign(g_.nodes.size(), 0);
    const opt::Uses uses = opt::compute_uses(g_);
    std::vector<char> is_input(g_.values.size(), 0);
    for (ValueId v : g_.inputs) is_input[static_cast<size_t>(v)] = 1;
    auto act = [&](ValueId v) {
      if (is_float(v)) {
        if (g_.is_constant(v)) {
          if (std::find(m.consts.begin(), m.consts.end(), v) == m.consts.end() && !m.weights.count(v))
            m.consts.push_back(v);
        } else {
          m.add_act(v);
        }
      }
    };
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      const ir::Node& n = g_.nodes[i];
      const auto id = static_cast<NodeId>(i);
      const Role role = n.domain.empty() ? role_of(n.op) : Role::kNone;
      if (role == Role::kNone) continue;
      if (exclude.count(n.name)) {
        m.excluded[i] = 1;
        if (role == Role::kCompute || role == Role::kGeneric)
          m.float_nodes.push_back(n.label(id) + ": excluded");
        continue;
      }
      if (role == Role::kCompute) {
        if (!is_float(n.input(0)) || !is_float(n.input(1)) || !is_float(n.output(0))) {
          m.float_nodes.push_back(n.label(id) + ": not float32");
          continue;
        }
        m.quantized[i] = 1;
        if (n.op == OpId::MatMul) {
          for (size_t s = 0; s < 2; ++s) {
            const ValueId v = n.input(s);
            if (constant(v) && s == 1 && constant(v)->rank() >= 2)
              m.weights.emplace(v, o_.per_channel ? constant(v)->rank() - 1 : -1);
            else if (constant(v) && constant(v)->rank() >= 1)
              m.weights.emplace(v, -1);
            else
              act(v);
          }
          act(n.output(0));
          continue;
        }
        act(n.input(0));
        act(n.output(0));
        const ValueId w = n.input(1);
        if (!constant(w)) {
          act(w);
          continue;
        }
        int axis = 0;
        if (n.op == OpId::ConvTranspose) axis = n.get_int("group", 1) == 1 ? 1 : -1;
        if (n.op == OpId::Gemm) axis = n.get_int("transB", 0) ? 0 : 1;
        if (!o_.per_channel || constant(w)->rank() < 2) axis = -1;
        m.weights.emplace(w, axis);
        const ValueId b = n.input(2);
        if (b != kNoValue && constant(b) && is_float(b)) {
          const float beta = n.op == OpId::Gemm ? n.get_float("beta", 1.0f) : 1.0f;
          const bool alpha_one = n.op != OpId::Gemm || n.get_float("alpha", 1.0f) == 1.0f;
          const int64_t channels = axis >= 0 ? constant(w)->dim(axis) : 1;
          const bool shape_ok = axis < 0 || (constant(b)->rank() == 1 && constant(b)->dim(0) == channels);
          if (alpha_one && shape_ok) m.biases.push_back({id, 2, n.input(0), w, beta});
        }
      } else if (role == Role::kFold) {
        const ValueId up = n.input(0), out = n.output(0);
        if (!m.is_quantized(up) || !is_float(out)) continue;
        bool min_zero = n.op == OpId::Relu;
        if (n.op == OpId::Clip) {
          const Tensor* lo = constant(n.input(1));
          min_zero = lo && lo->numel() == 1 && lo->get_as_double(0) == 0.0;
        }
        // A consumer kept float reads the tensor itself, so the clamp must stay a node.
        bool float_reader = false;
        for (NodeId u : uses.users[static_cast<size_t>(out)])
          float_reader = float_reader || exclude.count(g_.nodes[static_cast<size_t>(u)].name) > 0;
        const bool sole = !float_reader && uses.count(up) == 1 && !is_input[static_cast<size_t>(up)] &&
                          !m.shared.count(up) && g_.value(up).producer >= 0 &&
                          m.quantized[static_cast<size_t>(g_.value(up).producer)];
        m.quantized[i] = 1;
        if (min_zero && sole) {
          m.acts.erase(std::find(m.acts.begin(), m.acts.end(), up));
          m.folded.push_back(id);
        } else {
          act(up);
        }
        act(out);
      } else if (role == Role::kShared) {
        if (!m.is_quantized(n.input(0)) || !is_float(n.output(0))) continue;
        m.quantized[i] = 1;
        if (!m.is_quantized(n.output(0))) m.shared.emplace(n.output(0), n.input(0));
      } else {  // generic: every float input and output
        bool any = false;
        for (ValueId v : n.inputs) any = any || is_float(v);
        if (!any || !is_float(n.output(0))) continue;
        m.quantized[i] = 1;
        for (ValueId v : n.inputs) act(v);
        for (ValueId v : n.outputs) act(v);
      }
    }
    return m;
  }

 private:
  ir::Graph& g_;
  const QuantizeOptions& o_;
  std::vector<std::optional<TensorType>> types_;
};

// ---------------------------------------------------------------------------------------------------
// Graph emission.

struct WeightQuant {
  Tensor q;  // int8
  std::vector<float> scales;
  int axis;
  double sqnr;
  float lo, hi;
};

WeightQuant quantize_weight(const Tensor& w, int axis) {
  const int64_t channels = axis >= 0 ? w.dim(axis) : 1;
  int64_t inner = 1;
  if (axis >= 0) {
    for (int d = axis + 1; d < w.rank(); ++d) inner *= w.dim(d);
  } else {
    inner = w.numel();
  }
  auto channel_of = [&](int64_t i) { return axis >= 0 ? (i / inner) % channels : 0; };
  const float* x = w.data<float>();
  std::vector<float> absmax(static_cast<size_t>(channels), 0.f);
  WeightQuant r{Tensor::allocate(DType::kInt8, w.shape()).value(), {}, axis, 0, 0, 0};
  for (int64_t i = 0; i < w.numel(); ++i) {
    float& a = absmax[static_cast<size_t>(channel_of(i))];
    a = std::max(a, std::fabs(x[i]));
    r.lo = std::min(r.lo, x[i]);
    r.hi = std::max(r.hi, x[i]);
  }
  for (float a : absmax) r.scales.push_back(int8_symmetric_params(a).scale);
  auto* q = r.q.data<int8_t>();
  SqnrAccumulator acc;
  for (int64_t i = 0; i < w.numel(); ++i) {
    const float s = r.scales[static_cast<size_t>(channel_of(i))];
    q[i] = static_cast<int8_t>(std::clamp(std::nearbyint(x[i] / s), -127.f, 127.f));
    const float back = static_cast<float>(q[i]) * s;
    acc.add({x + i, 1}, {&back, 1});
  }
  r.sqnr = acc.db();
  return r;
}

Tensor scalar_or_vector(const std::vector<float>& v, bool vector) {
  return vector ? Tensor::from_vector<float>({static_cast<int64_t>(v.size())}, v)
                : Tensor::scalar<float>(v[0]);
}

ValueId add_dq(ir::Graph& g, std::vector<ir::Node>& added, const std::string& base, ValueId data,
               ValueId scale, ValueId zp, int axis) {
  ir::Node dq;
  dq.op = OpId::DequantizeLinear;
  dq.op_type = "DequantizeLinear";
  dq.since_version = 13;
  dq.name = base + "_DequantizeLinear";
  dq.inputs = {data, scale, zp};
  const ValueId out = g.add_value(base + "_DequantizeLinear_Output", true);
  g.value(out).type.dtype = DType::kFloat32;
  dq.outputs = {out};
  if (axis >= 0) {
    ir::Attribute a;
    a.name = "axis";
    a.type = ir::AttrType::kInt;
    a.i = axis;
    dq.attrs.push_back(a);
  }
  added.push_back(std::move(dq));
  return out;
}

struct ActParams {
  ValueId scale, zp;
  QParams qp;
  Range range;
};

}  // namespace

void SqnrAccumulator::add(std::span<const float> reference, std::span<const float> approx) {
  for (size_t i = 0; i < reference.size() && i < approx.size(); ++i) {
    const double r = reference[i], d = r - static_cast<double>(approx[i]);
    signal += r * r;
    noise += d * d;
  }
}

double SqnrAccumulator::db() const {
  if (noise <= 0) return 200.0;
  if (signal <= 0) return 0.0;
  return std::min(200.0, 10.0 * std::log10(signal / noise));
}

namespace {

// Runs `model` with the extra outputs `names` exposed; callbacks get each batch's tensors by name.
class ExposedRunner {
 public:
  // `ranks` (parallel to names, optional): the rank of each exposed tensor when shape inference on this
  // graph cannot tell (values downstream of run-time shapes).
  static Result<ExposedRunner> create(const ir::Model& model, const std::vector<std::string>& names,
                                      int threads, const std::vector<int>& ranks = {}) {
    ir::Model aug = model;
    ExposedRunner r;
    const auto types = opt::infer_value_types(aug.graph);
    for (size_t i = 0; i < names.size(); ++i) {
      const std::string& name = names[i];
      const ValueId v = aug.graph.find(name);
      if (v < 0) return Status::internal(fmt::format("tensor '{}' not found", name));
      if (std::find(aug.graph.outputs.begin(), aug.graph.outputs.end(), v) != aug.graph.outputs.end())
        continue;
      aug.graph.outputs.push_back(v);
      // A graph output needs a type with a rank: unknown dims of the inferred rank.
      ir::ValueType& t = aug.graph.value(v).type;
      if (!t.has_shape) {
        const auto& inferred = types[static_cast<size_t>(v)];
        const int rank = inferred           ? static_cast<int>(inferred->shape.size())
                         : i < ranks.size() ? ranks[i]
                                            : -1;
        if (rank < 0) return Status::internal(fmt::format("tensor '{}' has no inferred type", name));
        t.dtype = DType::kFloat32;
        t.has_shape = true;
        t.dims.assign(static_cast<size_t>(rank), ir::Dim{});
      }
    }
    VERGE_ASSIGN_OR_RETURN(std::string bytes, onnx_io::save_model_to_bytes(aug));
    SessionOptions so;
    so.threads = threads;
    so.optimization = OptLevel::kAll;  // exposed outputs keep their names and values; fast kernels
    VERGE_ASSIGN_OR_RETURN(r.session_, Session::load_from_memory(bytes, so));
    for (size_t i = 0; i < r.session_->outputs().size(); ++i) r.index_[r.session_->outputs()[i].name] = i;
    return r;
  }
  Result<std::span<const Tensor>> run(const Tensor& x) { return session_->run({x}); }
  size_t index(const std::string& name) const { return index_.at(name); }

 private:
  std::unique_ptr<Session> session_;
  std::map<std::string, size_t> index_;
};

// Calls fn(batch tensor) over the calibration samples in batches.
template <class Fn>
Status for_each_batch(const Tensor& data, const IoInfo& input, int64_t batch, const QuantizeOptions& o,
                      Fn&& fn) {
  const int64_t n = data.dim(0);
  const int64_t per = n > 0 ? data.numel() / n : 0;
  const bool fixed = input.has_shape && !input.shape.empty() && input.shape[0] > 0;
  const int64_t b = fixed ? input.shape[0] : batch;
  for (int64_t done = 0; done < n; done += b) {
    const int64_t take = std::min(b, n - done);
    if (fixed && take < b) break;  // a fixed batch dimension: the remainder is not used
    Shape s = data.shape();
    s[0] = take;
    VERGE_RETURN_IF_ERROR(fn(Tensor::wrap(DType::kFloat32, s, data.data<float>() + done * per)));
    if (o.progress) o.progress(done + take, n);
  }
  return Status::ok();
}

}  // namespace

Result<QuantizeResult> quantize_static(const ir::Model& fp32, const Tensor& calibration,
                                       const QuantizeOptions& o) {
  QuantizeResult result;
  ir::Model& model = result.model;
  model = fp32;
  VERGE_RETURN_IF_ERROR(prepare_for_quantization(model));
  ir::Graph& g = model.graph;
  if (g.inputs.size() != 1) return Status::invalid_argument("quantize needs a model with exactly one input");
  if (g.value(g.inputs[0]).type.dtype != DType::kFloat32)
    return Status::invalid_argument(
        fmt::format("input '{}' is {}; static quantization calibrates float32 inputs",
                    g.value(g.inputs[0]).name, dtype_name(g.value(g.inputs[0]).type.dtype)));
  if (calibration.dtype() != DType::kFloat32 || calibration.rank() < 1 || calibration.dim(0) == 0)
    return Status::invalid_argument("calibration data must be a non-empty float32 tensor [N, ...]");
  std::set<std::string> exclude(o.exclude.begin(), o.exclude.end());
  for (const std::string& name : exclude) {
    bool found = false;
    for (const ir::Node& n : g.nodes) found = found || n.name == name;
    if (!found) {
      std::string names;
      for (const ir::Node& n : g.nodes) names += (names.empty() ? "" : ", ") + n.name;
      return Status::invalid_argument(
          fmt::format("--exclude '{}': no node of that name (nodes: {})", name, names));
    }
  }

  Quantizer quantizer(g, o);
  VERGE_ASSIGN_OR_RETURN(Marking m, quantizer.mark(exclude));

  // Calibration: statistics of every tensor with its own parameters.
  std::vector<std::string> act_names;
  for (ValueId v : m.acts) act_names.push_back(g.value(v).name);
  const IoInfo input = io_info(g.value(g.inputs[0]));
  std::map<std::string, TensorStats> local_stats;
  std::map<std::string, TensorStats>& stats = o.stats_cache ? *o.stats_cache : local_stats;
  std::vector<std::string> missing;
  auto fixed = [&](const std::string& name) { return o.fixed_ranges && o.fixed_ranges->count(name) > 0; };
  for (const std::string& name : act_names)
    if (!stats.count(name) && !fixed(name)) missing.push_back(name);
  const int64_t samples = calibration.dim(0);
  if (!missing.empty()) {
    VERGE_ASSIGN_OR_RETURN(ExposedRunner fp32_runner, ExposedRunner::create(model, missing, o.threads));
    std::vector<TensorStats> fresh(missing.size());
    VERGE_RETURN_IF_ERROR(for_each_batch(calibration, input, o.batch, o, [&](const Tensor& x) -> Status {
      VERGE_ASSIGN_OR_RETURN(auto outs, fp32_runner.run(x));
      for (size_t i = 0; i < missing.size(); ++i)
        fresh[i].add(outs[fp32_runner.index(missing[i])].values<float>());
      return Status::ok();
    }));
    for (size_t i = 0; i < missing.size(); ++i) stats.emplace(missing[i], std::move(fresh[i]));
  }

  // Emission.
  QuantizeReport& rep = result.report;
  rep.method = std::string(calib_method_name(o.calib.method));
  rep.per_channel = o.per_channel;
  rep.calibration_samples = samples;
  VERGE_ASSIGN_OR_RETURN(std::string fp32_bytes, onnx_io::save_model_to_bytes(fp32));
  rep.size_fp32 = static_cast<int64_t>(fp32_bytes.size());

  const ir::Model basic = model;  // the fp32 reference for SQNR, with the tensor names of the report
  std::vector<ir::Node> added;
  std::vector<char> dead(g.nodes.size(), 0);
  for (NodeId r : m.folded) {
    const ir::Node& relu = g.nodes[static_cast<size_t>(r)];
    const ValueId up = relu.input(0), out = relu.output(0);
    ir::Node& producer = g.nodes[static_cast<size_t>(g.value(up).producer)];
    for (ValueId& o2 : producer.outputs)
      if (o2 == up) o2 = out;
    dead[static_cast<size_t>(r)] = 1;
    rep.folded_activations.push_back(relu.label(r));
    g.nodes[static_cast<size_t>(r)].outputs.clear();  // keeps reindex() consistent until the node is erased
    g.nodes[static_cast<size_t>(r)].inputs.clear();
  }
  // Rewires the inputs reading `from` of every node except excluded ones (as ONNX Runtime does, so a
  // quantized producer's output Q/DQ stays even when its consumers are float ops).
  auto rewire = [&](ValueId from, ValueId to) {
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      if (m.excluded[i] || dead[i]) continue;
      for (ValueId& in : g.nodes[i].inputs)
        if (in == from) in = to;
    }
  };
  auto producer_name = [&](ValueId v) {
    const NodeId p = g.value(v).producer;
    return p >= 0 ? g.nodes[static_cast<size_t>(p)].name : std::string();
  };
  std::map<ValueId, ActParams> params;
  std::map<ValueId, std::vector<float>> weight_scales;
  std::map<std::string, std::string> fake_quant_name;  // activation -> tensor holding its Q/DQ value
  auto emit_act = [&](ValueId v, const ActParams& p) {
    const std::string name = g.value(v).name;
    const bool is_output = std::find(g.outputs.begin(), g.outputs.end(), v) != g.outputs.end();
    ValueId q_in = v;
    ir::Node q;
    q.op = OpId::QuantizeLinear;
    q.op_type = "QuantizeLinear";
    q.since_version = 13;
    q.name = name + "_QuantizeLinear";
    const ValueId q_out = g.add_value(name + "_QuantizeLinear_Output", true);
    g.value(q_out).type.dtype = DType::kUInt8;
    q.outputs = {q_out};
    if (is_output) {
      // The producer writes <name>_QuantizeLinear_Input; the DequantizeLinear output takes the name.
      g.value(v).name = name + "_QuantizeLinear_Input";
      VERGE_RETURN_IF_ERROR(g.reindex());
      const ValueId dq_out = add_dq(g, added, name, q_out, p.scale, p.zp, -1);
      g.value(dq_out).name = name;
      g.value(dq_out).type = g.value(v).type;
      VERGE_RETURN_IF_ERROR(g.reindex());
      for (ValueId& o2 : g.outputs)
        if (o2 == v) o2 = dq_out;
      rewire(v, dq_out);
      fake_quant_name[name] = name;
    } else {
      const ValueId dq_out = add_dq(g, added, name, q_out, p.scale, p.zp, -1);
      rewire(v, dq_out);
      fake_quant_name[name] = g.value(dq_out).name;
    }
    q.inputs = {q_in, p.scale, p.zp};
    added.push_back(std::move(q));
    params[v] = p;
    return Status::ok();
  };
  auto make_params = [&](ValueId v, Range r) {
    ActParams p;
    p.range = r;
    p.qp = uint8_params(r);
    const std::string name = g.value(v).name;
    p.scale = g.add_constant(name + "_scale", Tensor::scalar<float>(p.qp.scale));
    p.zp =
        g.add_constant(name + "_zero_point", Tensor::scalar<uint8_t>(static_cast<uint8_t>(p.qp.zero_point)));
    return p;
  };
  for (ValueId v : m.acts) {
    const std::string name = g.value(v).name;
    Range r = fixed(name) ? o.fixed_ranges->at(name) : compute_range(stats.at(name), o.calib);
    const NodeId pr = g.value(v).producer;
    if (pr >= 0 && g.nodes[static_cast<size_t>(pr)].op == OpId::Softmax) r = {0.f, 1.f};
    const ActParams p = make_params(v, r);
    TensorQuantInfo info{name, "activation", producer_name(v), "uint8",           -1,
                         r.lo, r.hi,         {p.qp.scale},     {p.qp.zero_point}, 0};
    rep.tensors.push_back(info);
    VERGE_RETURN_IF_ERROR(emit_act(v, p));
  }
  for (auto pending = m.shared; !pending.empty();) {
    bool progressed = false;
    for (auto it = pending.begin(); it != pending.end();) {
      if (!params.count(it->second)) {
        ++it;
        continue;
      }
      const ActParams p = params.at(it->second);
      const std::string name = g.value(it->first).name;
      rep.tensors.push_back({name,
                             "activation",
                             producer_name(it->first),
                             "uint8",
                             -1,
                             p.range.lo,
                             p.range.hi,
                             {p.qp.scale},
                             {p.qp.zero_point},
                             0});
      VERGE_RETURN_IF_ERROR(emit_act(it->first, p));
      it = pending.erase(it);
      progressed = true;
    }
    if (!progressed) break;  // providers left float (e.g. not calibrated): these stay float too
  }
  for (ValueId v : m.consts) {
    const Tensor& c = *g.value(v).constant;
    Range r;
    for (float x : c.values<float>()) {
      r.lo = std::min(r.lo, x);
      r.hi = std::max(r.hi, x);
    }
    const QParams qp = uint8_params(r);
    Tensor q = Tensor::allocate(DType::kUInt8, c.shape()).value();
    SqnrAccumulator acc;
    for (int64_t i = 0; i < c.numel(); ++i) {
      const float x = c.data<float>()[i];
      q.data<uint8_t>()[i] =
          static_cast<uint8_t>(std::clamp(std::nearbyint(x / qp.scale) + qp.zero_point, 0.f, 255.f));
      const float back =
          (static_cast<float>(q.data<uint8_t>()[i]) - static_cast<float>(qp.zero_point)) * qp.scale;
      acc.add({&x, 1}, {&back, 1});
    }
    const std::string name = g.value(v).name;
    const ValueId qv = g.add_constant(name + "_quantized", std::move(q));
    const ValueId s = g.add_constant(name + "_scale", Tensor::scalar<float>(qp.scale));
    const ValueId z =
        g.add_constant(name + "_zero_point", Tensor::scalar<uint8_t>(static_cast<uint8_t>(qp.zero_point)));
    rewire(v, add_dq(g, added, name, qv, s, z, -1));
    rep.tensors.push_back(
        {name, "constant", "", "uint8", -1, r.lo, r.hi, {qp.scale}, {qp.zero_point}, acc.db()});
  }
  for (const auto& [v, axis] : m.weights) {
    const std::string name = g.value(v).name;
    WeightQuant wq = quantize_weight(*g.value(v).constant, axis);
    const bool vec = axis >= 0;
    const ValueId qv = g.add_constant(name + "_quantized", wq.q);
    const ValueId s = g.add_constant(name + "_scale", scalar_or_vector(wq.scales, vec));
    const std::vector<int8_t> zeros(wq.scales.size(), 0);
    const ValueId z = g.add_constant(
        name + "_zero_point", vec ? Tensor::from_vector<int8_t>({static_cast<int64_t>(zeros.size())}, zeros)
                                  : Tensor::scalar<int8_t>(0));
    rewire(v, add_dq(g, added, name, qv, s, z, axis));
    weight_scales[v] = wq.scales;
    std::string consumer;
    for (size_t i = 0; i < g.nodes.size() && consumer.empty(); ++i)
      for (ValueId in : g.nodes[i].inputs)
        if (in == g.find(name + "_DequantizeLinear_Output") || in == v) consumer = g.nodes[i].name;
    rep.tensors.push_back({name, "weight", consumer, "int8", axis, wq.lo, wq.hi, wq.scales,
                           std::vector<int32_t>(wq.scales.size(), 0), wq.sqnr});
  }
  for (const BiasPlan& b : m.biases) {
    ir::Node& node = g.nodes[static_cast<size_t>(b.node)];
    const ValueId bias = node.inputs[b.slot];
    if (!params.count(b.x) || !weight_scales.count(b.w)) continue;  // input or weight left float
    const float sx = params.at(b.x).qp.scale;
    const std::vector<float>& sw = weight_scales.at(b.w);
    const Tensor& c = *g.value(bias).constant;
    Tensor q = Tensor::allocate(DType::kInt32, c.shape()).value();
    std::vector<float> scales;
    for (float s : sw) scales.push_back(sx * s);
    SqnrAccumulator acc;
    for (int64_t i = 0; i < c.numel(); ++i) {
      const float x = c.data<float>()[i] * b.beta;
      const float s = scales[sw.size() == 1 ? 0 : static_cast<size_t>(i)];
      const double r = std::nearbyint(static_cast<double>(x) / s);
      q.data<int32_t>()[i] = static_cast<int32_t>(std::clamp(r, -2147483648.0, 2147483647.0));
      const float back = static_cast<float>(q.data<int32_t>()[i]) * s;
      acc.add({&x, 1}, {&back, 1});
    }
    const std::string base = g.value(bias).name + "_" + node.name;
    const bool vec = sw.size() > 1;
    const ValueId qv = g.add_constant(base + "_quantized", std::move(q));
    const ValueId s = g.add_constant(base + "_quantized_scale", scalar_or_vector(scales, vec));
    const std::vector<int32_t> zeros(scales.size(), 0);
    const ValueId z =
        g.add_constant(base + "_quantized_zero_point",
                       vec ? Tensor::from_vector<int32_t>({static_cast<int64_t>(zeros.size())}, zeros)
                           : Tensor::scalar<int32_t>(0));
    node.inputs[b.slot] = add_dq(g, added, base, qv, s, z, vec ? 0 : -1);
    if (node.op == OpId::Gemm && b.beta != 1.0f) node.remove_attr("beta");
    rep.tensors.push_back({g.value(bias).name, "bias", node.name, "int32", vec ? 0 : -1, 0, 0, scales,
                           std::vector<int32_t>(scales.size(), 0), acc.db()});
  }
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const ir::Node& n = g.nodes[i];
    if (m.quantized[i] && !dead[i] && (role_of(n.op) == Role::kCompute || role_of(n.op) == Role::kGeneric)) {
      rep.quantized_nodes.push_back(n.label(static_cast<NodeId>(i)));
      rep.candidate_layers.push_back(n.name);
    }
  }
  rep.float_nodes = m.float_nodes;
  opt::erase_nodes(g, dead);
  VERGE_RETURN_IF_ERROR(insert_and_prune(g, added));
  // Q/DQ pairs whose only readers were excluded nodes are gone with remove_dead(): drop them from the report.
  std::erase_if(rep.tensors, [&](const TensorQuantInfo& t) {
    if (t.kind != "activation") return false;
    const ValueId v = g.find(fake_quant_name[t.tensor]);
    return v < 0 || g.value(v).producer < 0;
  });
  if (model.opset < 13) model.opset = 13;  // per-axis DequantizeLinear
  VERGE_RETURN_IF_ERROR(finish_quantized_model(model, rep));

  if (o.report_sqnr) {
    // End-to-end SQNR of each activation: QDQ model's fake-quantized tensor vs the fp32 tensor.
    std::vector<std::string> fp_names, q_names;
    for (const TensorQuantInfo& t : rep.tensors)
      if (t.kind == "activation" && fake_quant_name.count(t.tensor)) {
        fp_names.push_back(t.tensor);
        q_names.push_back(fake_quant_name.at(t.tensor));
      }
    const size_t outputs = g.outputs.size();
    for (ValueId v : g.outputs) {  // graph outputs keep their names in the QDQ model
      fp_names.push_back(g.value(v).name);
      q_names.push_back(g.value(v).name);
    }
    VERGE_ASSIGN_OR_RETURN(ExposedRunner ref, ExposedRunner::create(basic, fp_names, o.threads));
    std::vector<int> ranks;
    const auto basic_types = opt::infer_value_types(basic.graph);
    for (const std::string& name : fp_names) {
      const ValueId v = basic.graph.find(name);
      const auto& t = basic_types[static_cast<size_t>(v)];
      ranks.push_back(t ? static_cast<int>(t->shape.size()) : -1);
    }
    VERGE_ASSIGN_OR_RETURN(ExposedRunner qdq, ExposedRunner::create(model, q_names, o.threads, ranks));
    std::vector<SqnrAccumulator> acc(fp_names.size());
    QuantizeOptions quiet = o;
    quiet.progress = nullptr;
    VERGE_RETURN_IF_ERROR(for_each_batch(calibration, input, o.batch, quiet, [&](const Tensor& x) -> Status {
      std::vector<Tensor> ref_out;
      {
        VERGE_ASSIGN_OR_RETURN(auto outs, ref.run(x));
        for (const std::string& name : fp_names) ref_out.push_back(outs[ref.index(name)]);
      }
      VERGE_ASSIGN_OR_RETURN(auto outs, qdq.run(x));
      for (size_t i = 0; i < q_names.size(); ++i)
        acc[i].add(ref_out[i].values<float>(), outs[qdq.index(q_names[i])].values<float>());
      return Status::ok();
    }));
    SqnrAccumulator out_acc;
    for (size_t i = fp_names.size() - outputs; i < fp_names.size(); ++i) {
      out_acc.signal += acc[i].signal;
      out_acc.noise += acc[i].noise;
    }
    rep.output_sqnr_db = out_acc.db();
    for (TensorQuantInfo& t : rep.tensors)
      for (size_t i = 0; i + outputs < fp_names.size(); ++i)
        if (t.kind == "activation" && t.tensor == fp_names[i]) t.sqnr_db = acc[i].db();
  }
  return result;
}

}  // namespace verge::quant
