// Cross-entropy loss and the optimizers of the training engine.
//
// Optimizer semantics follow PyTorch's torch.optim (documented in docs/training.md):
//   SGD:   g += wd*w; v = momentum*v + g (v starts at g); w -= lr * (nesterov ? g + momentum*v : v)
//   Adam:  g += wd*w (L2); m = b1*m + (1-b1)*g; s = b2*s + (1-b2)*g^2;
//          w -= lr * (m / (1-b1^t)) / (sqrt(s / (1-b2^t)) + eps)
//   AdamW: as Adam without the L2 term, plus decoupled decay w -= lr*wd*w before the update.
// State is kept per parameter index; step() must always get the same parameters in the same order.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "train/buffer.h"

namespace verge::train {

// Mean over the batch of -log softmax(logits[i])[labels[i]] for logits [N, C]. When `dlogits` is non-null
// it receives d(loss)/d(logits) = (softmax - onehot) / N. `correct` (optional) counts argmax == label.
// Labels outside [0, C) are an InvalidArgument error.
template <class T>
Result<double> softmax_cross_entropy(const Buf<T>& logits, std::span<const int64_t> labels, Buf<T>* dlogits,
                                     int64_t* correct = nullptr);

struct OptimizerOptions {
  std::string kind = "sgd";  // sgd | adam | adamw
  float lr = 0.01f;
  float momentum = 0.9f;  // sgd
  bool nesterov = false;  // sgd
  float weight_decay = 0.f;
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;  // adam, adamw
};

class Optimizer {
 public:
  // InvalidArgument for an unknown kind or out-of-range hyperparameters (lr <= 0, momentum not in [0,1),
  // ...).
  static Result<std::unique_ptr<Optimizer>> create(const OptimizerOptions& options);
  virtual ~Optimizer() = default;
  // Updates params[i] in place from grads[i] (same shapes).
  virtual void step(std::span<Buf<float>* const> params, std::span<const Buf<float>* const> grads) = 0;
  // Zeroes the state (momentum, Adam moments) of parameter `param` where keep[i] == 0, so that masked
  // weights start again from rest; no-op before the first step of that parameter.
  void clear_state(size_t param, std::span<const uint8_t> keep);
  float lr() const { return options_.lr; }
  void set_lr(float lr) { options_.lr = lr; }

 protected:
  explicit Optimizer(const OptimizerOptions& options) : options_(options) {}
  OptimizerOptions options_;
  std::vector<std::vector<float>> state1_, state2_;
  int64_t steps_ = 0;
};

}  // namespace verge::train
