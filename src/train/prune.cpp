#include "train/prune.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "train/network.h"

namespace verge::train {

Status PolynomialDecay::validate() const {
  if (!(initial_sparsity >= 0 && initial_sparsity < 1))
    return Status::invalid_argument(fmt::format("initial sparsity {} must be in [0, 1)", initial_sparsity));
  if (!(final_sparsity >= 0 && final_sparsity < 1))
    return Status::invalid_argument(fmt::format("final sparsity {} must be in [0, 1)", final_sparsity));
  if (begin_step < 0 || end_step < begin_step)
    return Status::invalid_argument(
        fmt::format("pruning steps need 0 <= begin ({}) <= end ({})", begin_step, end_step));
  if (frequency <= 0) return Status::invalid_argument("pruning frequency must be > 0");
  if (!(power > 0) || !std::isfinite(power)) return Status::invalid_argument("pruning power must be > 0");
  return Status::ok();
}

bool PolynomialDecay::should_prune(int64_t step) const {
  return step >= begin_step && step <= end_step && (step - begin_step) % frequency == 0;
}

double PolynomialDecay::sparsity(int64_t step) const {
  const double span = static_cast<double>(end_step - begin_step);
  const double p = span > 0 ? std::clamp(static_cast<double>(step - begin_step) / span, 0.0, 1.0)
                            : (step >= begin_step ? 1.0 : 0.0);
  return final_sparsity + (initial_sparsity - final_sparsity) * std::pow(1.0 - p, power);
}

std::vector<std::vector<uint8_t>> magnitude_masks(std::span<const std::span<const float>> weights,
                                                  double sparsity, Allocation allocation) {
  std::vector<std::vector<uint8_t>> keep(weights.size());
  for (size_t t = 0; t < weights.size(); ++t) keep[t].assign(weights[t].size(), 0);
  // Keeps the max(round(n * (1 - sparsity)), 1) largest |w| among the (tensor, index) pairs of `group`.
  auto select = [&](std::vector<std::pair<uint32_t, uint32_t>>& group) {
    if (group.empty()) return;
    const auto n = static_cast<int64_t>(group.size());
    const int64_t kept = std::clamp<int64_t>(std::llround(static_cast<double>(n) * (1.0 - sparsity)), 1, n);
    auto larger = [&](const auto& a, const auto& b) {
      const float x = std::fabs(weights[a.first][a.second]), y = std::fabs(weights[b.first][b.second]);
      return x != y ? x > y : a < b;
    };
    std::nth_element(group.begin(), group.begin() + (kept - 1), group.end(), larger);
    for (int64_t i = 0; i < kept; ++i) keep[group[i].first][group[i].second] = 1;
  };
  std::vector<std::pair<uint32_t, uint32_t>> group;
  for (size_t t = 0; t < weights.size(); ++t) {
    if (allocation == Allocation::kUniform) group.clear();
    for (size_t i = 0; i < weights[t].size(); ++i)
      group.emplace_back(static_cast<uint32_t>(t), static_cast<uint32_t>(i));
    if (allocation == Allocation::kUniform) select(group);
  }
  if (allocation == Allocation::kGlobal) select(group);
  return keep;
}

std::vector<PrunableWeight> prunable_weights(const ir::Graph& g) {
  std::vector<PrunableWeight> out;
  std::vector<char> seen(g.values.size(), 0);
  auto add = [&](const ir::Node& n, ir::NodeId id, ir::ValueId v) {
    if (v == ir::kNoValue || !g.is_constant(v) || seen[static_cast<size_t>(v)]) return;
    const Tensor& t = *g.value(v).constant;
    if (t.dtype() != DType::kFloat32 || t.shape().size() < 2) return;
    seen[static_cast<size_t>(v)] = 1;
    out.push_back({n.label(id), g.value(v).name});
  };
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    const ir::Node& n = g.nodes[k];
    const auto id = static_cast<ir::NodeId>(k);
    if (n.op == OpId::Conv || n.op == OpId::Gemm) add(n, id, n.input(1));
    if (n.op == OpId::MatMul) add(n, id, g.is_constant(n.input(1)) ? n.input(1) : n.input(0));
  }
  return out;
}

Result<MagnitudePruner> MagnitudePruner::create(const ir::Model& model, const PolynomialDecay& schedule,
                                                Allocation allocation) {
  VERGE_RETURN_IF_ERROR(schedule.validate());
  MagnitudePruner p;
  p.schedule_ = schedule;
  p.allocation_ = allocation;
  p.weights_ = prunable_weights(model.graph);
  if (p.weights_.empty()) return Status::invalid_argument("model has no Conv/Gemm/MatMul weights to prune");
  return p;
}

Status MagnitudePruner::bind(Network<float>& net) {
  param_index_.clear();
  for (const PrunableWeight& w : weights_) {
    size_t i = 0;
    while (i < net.num_params() && net.param_name(i) != w.weight) ++i;
    if (i == net.num_params())
      return Status::unsupported(
          fmt::format("{}: weight '{}' is not trainable, so it cannot be pruned during "
                      "fine-tuning",
                      w.node, w.weight));
    param_index_.push_back(i);
  }
  return Status::ok();
}

void MagnitudePruner::apply(Network<float>& net, Optimizer* optimizer) const {
  for (size_t t = 0; t < keep_.size(); ++t) {
    std::vector<float>& w = net.param(param_index_[t]).v;
    for (size_t i = 0; i < w.size(); ++i)
      if (!keep_[t][i]) w[i] = 0.f;
    if (optimizer) optimizer->clear_state(param_index_[t], keep_[t]);
  }
}

StepHooks MagnitudePruner::hooks() {
  StepHooks h;
  h.before_step = [this](int64_t step, Network<float>& net, Optimizer&) -> Status {
    if (step == 0 || param_index_.empty()) VERGE_RETURN_IF_ERROR(bind(net));
    if (schedule_.should_prune(step)) {
      std::vector<std::span<const float>> w;
      for (size_t i : param_index_) w.emplace_back(net.param(i).v);
      last_sparsity_ = schedule_.sparsity(step);
      keep_ = magnitude_masks(w, last_sparsity_, allocation_);
      ++updates_;
    }
    apply(net, nullptr);
    return Status::ok();
  };
  h.after_step = [this](int64_t, Network<float>& net, Optimizer& optimizer) -> Status {
    apply(net, &optimizer);
    return Status::ok();
  };
  return h;
}

std::vector<LayerSparsity> sparsity_report(const ir::Model& model) {
  std::vector<LayerSparsity> out;
  for (const PrunableWeight& w : prunable_weights(model.graph)) {
    const Tensor& t = *model.graph.value(model.graph.find(w.weight)).constant;
    LayerSparsity s{w.node, w.weight, t.shape(), t.numel(), 0};
    const float* d = t.data<float>();
    s.zeros = std::count(d, d + t.numel(), 0.f);
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace verge::train
