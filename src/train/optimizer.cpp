#include "train/optimizer.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace verge::train {

template <class T>
Result<double> softmax_cross_entropy(const Buf<T>& logits, std::span<const int64_t> labels, Buf<T>* dlogits,
                                     int64_t* correct) {
  if (logits.shape.size() != 2 || logits.shape[0] != static_cast<int64_t>(labels.size()))
    return Status::invalid_argument(fmt::format("logits have shape {}; expected [{}, classes]",
                                                shape_to_string(logits.shape), labels.size()));
  const int64_t n = logits.shape[0], c = logits.shape[1];
  if (dlogits) dlogits->resize(logits.shape);
  double total = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t label = labels[static_cast<size_t>(i)];
    if (label < 0 || label >= c)
      return Status::invalid_argument(fmt::format("label {} is outside [0, {})", label, c));
    const T* z = logits.data() + i * c;
    const int64_t arg = std::max_element(z, z + c) - z;
    if (correct) *correct += arg == label;
    double sum = 0;
    for (int64_t k = 0; k < c; ++k) sum += std::exp(static_cast<double>(z[k] - z[arg]));
    total += std::log(sum) - static_cast<double>(z[label] - z[arg]);
    if (dlogits)
      for (int64_t k = 0; k < c; ++k) {
        const double p = std::exp(static_cast<double>(z[k] - z[arg])) / sum;
        dlogits->v[static_cast<size_t>(i * c + k)] =
            static_cast<T>((p - (k == label ? 1.0 : 0.0)) / static_cast<double>(n));
      }
  }
  return total / static_cast<double>(std::max<int64_t>(n, 1));
}
template Result<double> softmax_cross_entropy<float>(const Buf<float>&, std::span<const int64_t>, Buf<float>*,
                                                     int64_t*);
template Result<double> softmax_cross_entropy<double>(const Buf<double>&, std::span<const int64_t>,
                                                      Buf<double>*, int64_t*);

namespace {

class Sgd final : public Optimizer {
 public:
  explicit Sgd(const OptimizerOptions& o) : Optimizer(o) {}
  void step(std::span<Buf<float>* const> params, std::span<const Buf<float>* const> grads) override {
    state1_.resize(params.size());
    const float lr = options_.lr, mu = options_.momentum, wd = options_.weight_decay;
    for (size_t p = 0; p < params.size(); ++p) {
      std::vector<float>& w = params[p]->v;
      const std::vector<float>& g = grads[p]->v;
      std::vector<float>& v = state1_[p];
      const bool first = v.empty();
      if (first && mu != 0.f) v.resize(w.size());
      for (size_t i = 0; i < w.size(); ++i) {
        float d = g[i] + wd * w[i];
        if (mu != 0.f) {
          v[i] = first ? d : mu * v[i] + d;
          d = options_.nesterov ? d + mu * v[i] : v[i];
        }
        w[i] -= lr * d;
      }
    }
  }
};

class Adam final : public Optimizer {
 public:
  Adam(const OptimizerOptions& o, bool decoupled) : Optimizer(o), decoupled_(decoupled) {}
  void step(std::span<Buf<float>* const> params, std::span<const Buf<float>* const> grads) override {
    state1_.resize(params.size());
    state2_.resize(params.size());
    ++steps_;
    const float lr = options_.lr, b1 = options_.beta1, b2 = options_.beta2, wd = options_.weight_decay;
    const double c1 = 1.0 - std::pow(static_cast<double>(b1), static_cast<double>(steps_));
    const double c2 = 1.0 - std::pow(static_cast<double>(b2), static_cast<double>(steps_));
    // torch.optim.Adam's float formulation: w -= (lr / c1) * m / (sqrt(s) / sqrt(c2) + eps) (vectorizes).
    const auto step_size = static_cast<float>(lr / c1), inv_sqrt_c2 = static_cast<float>(1.0 / std::sqrt(c2));
    const float eps = options_.eps;
    for (size_t p = 0; p < params.size(); ++p) {
      std::vector<float>& w = params[p]->v;
      const std::vector<float>& g = grads[p]->v;
      std::vector<float>&m = state1_[p], &s = state2_[p];
      if (m.empty()) m.resize(w.size()), s.resize(w.size());
      const float decay = decoupled_ ? 1.f - lr * wd : 1.f, l2 = decoupled_ ? 0.f : wd;
      float *wp = w.data(), *mp = m.data(), *sp = s.data();
      const float* gp = g.data();
      for (size_t i = 0; i < w.size(); ++i) {
        const float d = gp[i] + l2 * wp[i];
        mp[i] = b1 * mp[i] + (1.f - b1) * d;
        sp[i] = b2 * sp[i] + (1.f - b2) * d * d;
        wp[i] = decay * wp[i] - step_size * mp[i] / (std::sqrt(sp[i]) * inv_sqrt_c2 + eps);
      }
    }
  }

 private:
  bool decoupled_;
};

}  // namespace

void Optimizer::clear_state(size_t param, std::span<const uint8_t> keep) {
  for (auto* state : {&state1_, &state2_}) {
    if (param >= state->size()) continue;
    std::vector<float>& s = (*state)[param];
    for (size_t i = 0; i < s.size() && i < keep.size(); ++i)
      if (!keep[i]) s[i] = 0.f;
  }
}

Result<std::unique_ptr<Optimizer>> Optimizer::create(const OptimizerOptions& o) {
  if (!(o.lr > 0.f) || !std::isfinite(o.lr))
    return Status::invalid_argument(fmt::format("learning rate {} must be > 0", o.lr));
  if (!(o.weight_decay >= 0.f)) return Status::invalid_argument("weight decay must be >= 0");
  if (o.kind == "sgd") {
    if (!(o.momentum >= 0.f && o.momentum < 1.f))
      return Status::invalid_argument("momentum must be in [0, 1)");
    if (o.nesterov && o.momentum == 0.f) return Status::invalid_argument("Nesterov needs momentum > 0");
    return std::unique_ptr<Optimizer>(new Sgd(o));
  }
  if (o.kind == "adam" || o.kind == "adamw") {
    if (!(o.beta1 >= 0.f && o.beta1 < 1.f && o.beta2 >= 0.f && o.beta2 < 1.f && o.eps > 0.f))
      return Status::invalid_argument("Adam needs betas in [0, 1) and eps > 0");
    return std::unique_ptr<Optimizer>(new Adam(o, o.kind == "adamw"));
  }
  return Status::invalid_argument(fmt::format("unknown optimizer '{}' (sgd, adam, adamw)", o.kind));
}

}  // namespace verge::train
