#include "train/qat.h"

#include <fmt/format.h>

#include "quantize/rewrite.h"
#include "train/distill.h"
#include "train/fake_quant.h"
#include "train/network.h"

namespace verge::train {
namespace {

// Makes `name` a float constant of `g` holding `t` (reusing the value of that name if there is one).
ir::ValueId put_constant(ir::Graph& g, const std::string& name, const std::shared_ptr<const Tensor>& t) {
  ir::ValueId v = g.find(name);
  if (v == ir::kNoValue) return g.add_constant(name, *t);
  ir::Value& val = g.value(v);
  val.constant = t;
  val.type = {};
  val.type.dtype = t->dtype();
  val.type.has_shape = true;
  for (int64_t d : t->shape()) val.type.dims.push_back(ir::Dim{d, {}});
  return v;
}

const ir::Node* find_node(const ir::Graph& g, const std::string& name) {
  for (const ir::Node& n : g.nodes)
    if (n.name == name) return &n;
  return nullptr;
}

}  // namespace

Result<QatGraph> build_qat_graph(const ir::Model& fp32, const Tensor& calibration,
                                 const quant::QuantizeOptions& options) {
  QatGraph q;
  quant::QuantizeOptions o = options;
  o.fixed_ranges = nullptr;
  VERGE_ASSIGN_OR_RETURN(quant::QuantizeResult ptq, quant::quantize_static(fp32, calibration, o));
  q.basic = fp32;
  VERGE_RETURN_IF_ERROR(quant::prepare_for_quantization(q.basic));
  q.ptq_report = ptq.report;
  const ir::Graph& basic = q.basic.graph;
  // DequantizeLinear outputs of the quantized weights and biases (names as quantize_static writes them).
  std::map<std::string, const quant::TensorQuantInfo*> dq_of;
  for (const quant::TensorQuantInfo& t : q.ptq_report.tensors) {
    if (t.kind == "activation") q.ranges[t.tensor] = {t.range_lo, t.range_hi};
    if (t.kind == "weight") dq_of[t.tensor + "_DequantizeLinear_Output"] = &t;
    if (t.kind == "bias") dq_of[t.tensor + "_" + t.node + "_DequantizeLinear_Output"] = &t;
  }
  q.train_model = std::move(ptq.model);
  ir::Graph& g = q.train_model.graph;
  for (ir::Node& n : g.nodes) {
    for (size_t slot = 0; slot < n.inputs.size(); ++slot) {
      if (n.inputs[slot] == ir::kNoValue) continue;
      const auto it = dq_of.find(g.value(n.inputs[slot]).name);
      if (it == dq_of.end()) continue;
      const quant::TensorQuantInfo& t = *it->second;
      const ir::ValueId src = basic.find(t.tensor);
      if (src == ir::kNoValue || !basic.is_constant(src))
        return Status::invalid_model(
            fmt::format("quantized tensor '{}' is not a constant of the model", t.tensor));
      n.inputs[slot] = put_constant(g, t.tensor, basic.value(src).constant);
      QatGraph::Param p;
      if (t.kind == "weight") {
        p.axis = t.axis;
      } else {
        p.bias = true;
        // The node's input 0 is the DequantizeLinear of its quantized input: its scale scales the bias.
        const ir::NodeId dq = g.value(n.input(0)).producer;
        const Tensor* sx = dq >= 0 && g.nodes[static_cast<size_t>(dq)].op == OpId::DequantizeLinear
                               ? g.value(g.nodes[static_cast<size_t>(dq)].input(1)).constant.get()
                               : nullptr;
        if (!sx || sx->numel() != 1)
          return Status::invalid_model(fmt::format("{}: input is not dequantized per tensor", n.label()));
        p.input_scale = sx->data<float>()[0];
        const ir::Node* orig = find_node(basic, n.name);
        if (!orig) return Status::invalid_model(fmt::format("{} is not in the model", n.label()));
        p.weight = basic.value(orig->input(1)).name;
        if (n.op == OpId::Gemm) {
          p.beta = orig->get_float("beta", 1.0f);
          n.attrs = orig->attrs;  // the quantizer folded beta into the bias; training keeps it separate
        }
      }
      q.params[t.tensor] = p;
    }
  }
  std::vector<ir::Node> none;
  VERGE_RETURN_IF_ERROR(quant::insert_and_prune(g, none));
  return q;
}

Status WeightFakeQuantizer::quantize(Network<float>& net) {
  master_.resize(net.num_params());
  std::map<std::string, std::vector<float>> scales;
  for (int pass = 0; pass < 2; ++pass)  // weights first: their scales scale the biases
    for (size_t i = 0; i < net.num_params(); ++i) {
      const auto it = g_.params.find(net.param_name(i));
      if (it == g_.params.end() || it->second.bias != (pass == 1)) continue;
      const QatGraph::Param& p = it->second;
      Buf<float>& w = net.param(i);
      master_[i] = w.v;
      if (!p.bias) {
        scales[it->first] = fake_quantize_weight(w.v, w.shape, p.axis);
        continue;
      }
      const auto s = scales.find(p.weight);
      if (s == scales.end())
        return Status::internal(
            fmt::format("bias '{}': weight '{}' is not a quantized parameter", it->first, p.weight));
      fake_quantize_bias(w.v, p.input_scale, s->second, p.beta);
    }
  return Status::ok();
}

Status WeightFakeQuantizer::restore(Network<float>& net) {
  for (size_t i = 0; i < net.num_params() && i < master_.size(); ++i)
    if (!master_[i].empty()) net.param(i).v.swap(master_[i]);
  for (std::vector<float>& m : master_) m.clear();
  return Status::ok();
}

Result<quant::QuantizeResult> export_qat(const QatGraph& g, const ir::Model& trained,
                                         const Tensor& calibration, quant::QuantizeOptions options) {
  ir::Model m = g.basic;
  for (const ir::Node& n : trained.graph.nodes) {
    if (n.op != OpId::Conv && n.op != OpId::Gemm) continue;
    for (size_t slot = 1; slot < 3; ++slot) {
      const ir::ValueId v = n.input(slot);
      if (v == ir::kNoValue || !trained.graph.is_constant(v)) continue;
      const std::string& name = trained.graph.value(v).name;
      const ir::ValueId dst = m.graph.find(name);
      if (dst == ir::kNoValue || !m.graph.is_constant(dst))
        return Status::invalid_model(fmt::format("trained parameter '{}' is not in the model", name));
      m.graph.value(dst).constant = trained.graph.value(v).constant;
    }
  }
  options.fixed_ranges = &g.ranges;
  return quant::quantize_static(m, calibration, options);
}

Result<QatResult> quantization_aware_training(const ir::Model& fp32, const LabeledImages& data,
                                              const Tensor& calibration, const QatOptions& options,
                                              const StepCallback& on_step) {
  VERGE_ASSIGN_OR_RETURN(QatGraph g, build_qat_graph(fp32, calibration, options.quant));
  ir::Model trained = g.train_model;
  WeightFakeQuantizer fq(g);
  TrainOptions train = options.train;
  if (options.teacher_logits) {
    if (train.hooks.loss) return Status::invalid_argument("self-distillation sets the training loss itself");
    if (train.augment.crop_pad > 0 || train.augment.flip)
      return Status::invalid_argument(
          "self-distillation uses the teacher's logits of the unaugmented images; augmentation is not "
          "supported");
    VERGE_ASSIGN_OR_RETURN(
        train.hooks.loss,
        distillation_hook(*options.teacher_logits, data.images.rank() > 0 ? data.images.dim(0) : 0,
                          options.temperature, options.alpha));
  }
  train.hooks.before_step = [&](int64_t, Network<float>& net, Optimizer&) { return fq.quantize(net); };
  train.hooks.before_update = [&](Network<float>& net) { return fq.restore(net); };
  QatResult r;
  VERGE_ASSIGN_OR_RETURN(r.epochs, train_classifier(trained, data, train, on_step));
  VERGE_ASSIGN_OR_RETURN(r.quantized, export_qat(g, trained, calibration, options.quant));
  r.ptq_report = std::move(g.ptq_report);
  return r;
}

}  // namespace verge::train
