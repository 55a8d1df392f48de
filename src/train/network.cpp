#include "train/network.h"

#include <fmt/format.h>

#include "train/grad_ops.h"

namespace verge::train {

template <class T>
Result<std::unique_ptr<Network<T>>> Network<T>::create(const ir::Model& model, Options options) {
  std::unique_ptr<Network> net(new Network());
  net->graph_ = model.graph;
  net->options_ = options;
  const ir::Graph& g = net->graph_;
  net->values_.resize(g.values.size());
  net->grads_.resize(g.values.size());
  net->requires_grad_.assign(g.values.size(), false);
  net->is_state_.assign(g.values.size(), false);
  net->saved_.resize(g.nodes.size());
  for (size_t v = 0; v < g.values.size(); ++v) {
    const auto& c = g.values[v].constant;
    if (!c || c->dtype() != DType::kFloat32) continue;
    net->values_[v].shape = c->shape();
    net->values_[v].v.assign(c->data<float>(), c->data<float>() + c->numel());
  }
  for (ir::ValueId in : g.inputs) {
    if (g.value(in).type.dtype != DType::kFloat32)
      return Status::unsupported(fmt::format("training needs float32 inputs; '{}' is {}", g.value(in).name,
                                             dtype_name(g.value(in).type.dtype)));
    net->requires_grad_[static_cast<size_t>(in)] = options.input_grads;
  }
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    const ir::Node& n = g.nodes[k];
    if (!grad_rule<T>(n.op))
      return Status::unsupported(
          fmt::format("{}: training does not support this op yet", n.label(static_cast<ir::NodeId>(k))));
    if (n.output(0) == ir::kNoValue)
      return Status::invalid_model(fmt::format("{} has no output", n.label(static_cast<ir::NodeId>(k))));
    const auto float_constant = [&](size_t i) {
      const ir::ValueId v = n.input(i);
      return v != ir::kNoValue && g.is_constant(v) && g.value(v).constant->dtype() == DType::kFloat32;
    };
    const auto mark = [&](size_t i, bool state) {
      if (!float_constant(i)) return;
      const auto v = static_cast<size_t>(n.input(i));
      if (state && !net->is_state_[v]) net->state_.push_back(n.input(i));
      if (!state && !net->requires_grad_[v]) net->params_.push_back(n.input(i));
      (state ? net->is_state_ : net->requires_grad_)[v] = true;
    };
    if (n.op == OpId::Conv || n.op == OpId::ConvTranspose || n.op == OpId::Gemm ||
        n.op == OpId::BatchNormalization)
      mark(1, false), mark(2, false);
    if (n.op == OpId::MatMul) mark(0, false), mark(1, false);
    if (n.op == OpId::BatchNormalization) mark(3, true), mark(4, true);
    bool any = false;
    for (ir::ValueId v : n.inputs)
      any = any || (v != ir::kNoValue && net->requires_grad_[static_cast<size_t>(v)]);
    for (ir::ValueId v : n.outputs)
      if (v != ir::kNoValue) net->requires_grad_[static_cast<size_t>(v)] = any;
  }
  return net;
}

template <class T>
Status Network<T>::forward(std::span<const Buf<T>> inputs) {
  if (inputs.size() != graph_.inputs.size())
    return Status::invalid_argument(
        fmt::format("expected {} inputs, got {}", graph_.inputs.size(), inputs.size()));
  for (size_t i = 0; i < inputs.size(); ++i) values_[static_cast<size_t>(graph_.inputs[i])] = inputs[i];
  std::vector<const Buf<T>*> in;
  std::vector<Buf<T>*> out, state;
  ++forward_calls_;
  for (size_t k = 0; k < graph_.nodes.size(); ++k) {
    const ir::Node& n = graph_.nodes[k];
    in.clear();
    out.clear();
    for (ir::ValueId v : n.inputs) {
      const bool is_float = v != ir::kNoValue &&
                            (!graph_.is_constant(v) || graph_.value(v).constant->dtype() == DType::kFloat32);
      in.push_back(is_float ? &values_[static_cast<size_t>(v)] : nullptr);
    }
    for (ir::ValueId v : n.outputs)
      out.push_back(v == ir::kNoValue ? nullptr : &values_[static_cast<size_t>(v)]);
    state.clear();
    for (ir::ValueId v : n.inputs)
      state.push_back(v != ir::kNoValue && is_state_[static_cast<size_t>(v)]
                          ? &values_[static_cast<size_t>(v)]
                          : nullptr);
    OpCtx<T> ctx{graph_, n, in, out, saved_[k], options_.pool};
    ctx.training = training_;
    ctx.state = state;
    ctx.seed = options_.seed ^ (forward_calls_ * 0x9E3779B97F4A7C15ull + k * 0xD1B54A32D192ED03ull);
    Status st = grad_rule<T>(n.op)->forward(ctx);
    if (!st.is_ok()) return st.with_context(n.label(static_cast<ir::NodeId>(k)));
  }
  return Status::ok();
}

template <class T>
Status Network<T>::backward(std::span<const Buf<T>> output_grads) {
  if (output_grads.size() != graph_.outputs.size())
    return Status::invalid_argument(
        fmt::format("expected {} output gradients, got {}", graph_.outputs.size(), output_grads.size()));
  for (size_t v = 0; v < values_.size(); ++v) {
    if (requires_grad_[v])
      grads_[v].resize(values_[v].shape);
    else
      grads_[v] = {};
  }
  for (size_t i = 0; i < output_grads.size(); ++i) {
    Buf<T>& g = grads_[static_cast<size_t>(graph_.outputs[i])];
    if (!requires_grad_[static_cast<size_t>(graph_.outputs[i])] || output_grads[i].v.empty()) continue;
    if (output_grads[i].shape != g.shape)
      return Status::invalid_argument(fmt::format("gradient of output {} has shape {}, output has {}", i,
                                                  shape_to_string(output_grads[i].shape),
                                                  shape_to_string(g.shape)));
    for (int64_t k = 0; k < g.numel(); ++k) g.v[k] += output_grads[i].v[k];
  }
  std::vector<const Buf<T>*> in, dout;
  std::vector<Buf<T>*> out, din;
  for (size_t k = graph_.nodes.size(); k-- > 0;) {
    const ir::Node& n = graph_.nodes[k];
    if (!requires_grad_[static_cast<size_t>(n.output(0))]) continue;
    in.clear(), out.clear(), dout.clear(), din.clear();
    for (ir::ValueId v : n.inputs) {
      const bool is_float = v != ir::kNoValue &&
                            (!graph_.is_constant(v) || graph_.value(v).constant->dtype() == DType::kFloat32);
      in.push_back(is_float ? &values_[static_cast<size_t>(v)] : nullptr);
      din.push_back(v != ir::kNoValue && requires_grad_[static_cast<size_t>(v)]
                        ? &grads_[static_cast<size_t>(v)]
                        : nullptr);
    }
    for (ir::ValueId v : n.outputs) {
      out.push_back(v == ir::kNoValue ? nullptr : &values_[static_cast<size_t>(v)]);
      dout.push_back(v == ir::kNoValue ? nullptr : &grads_[static_cast<size_t>(v)]);
    }
    OpCtx<T> ctx{graph_, n, in, out, saved_[k], options_.pool, dout, din};
    ctx.training = training_;
    grad_rule<T>(n.op)->backward(ctx);
  }
  return Status::ok();
}

template <class T>
Status Network<T>::store_params(ir::Model& model) const {
  std::vector<ir::ValueId> written = params_;
  written.insert(written.end(), state_.begin(), state_.end());
  for (ir::ValueId p : written) {
    const std::string& name = graph_.value(p).name;
    const ir::ValueId dst = model.graph.find(name);
    if (dst == ir::kNoValue || !model.graph.is_constant(dst))
      return Status::invalid_argument(fmt::format("model has no initializer '{}'", name));
    const Buf<T>& b = values_[static_cast<size_t>(p)];
    VERGE_ASSIGN_OR_RETURN(Tensor t, Tensor::allocate(DType::kFloat32, b.shape));
    for (int64_t i = 0; i < b.numel(); ++i)
      t.data<float>()[i] = static_cast<float>(b.v[static_cast<size_t>(i)]);
    model.graph.value(dst).constant = std::make_shared<const Tensor>(std::move(t));
  }
  return Status::ok();
}

template class Network<float>;
template class Network<double>;

}  // namespace verge::train
