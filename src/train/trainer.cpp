#include "train/trainer.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <numeric>

#include "core/thread_pool.h"
#include "train/network.h"

namespace verge::train {
namespace {

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

Status check_data(const Network<float>& net, const LabeledImages& data) {
  if (net.num_inputs() != 1 || net.num_outputs() < 1)
    return Status::invalid_argument("training needs a model with one image input and a logits output");
  const Shape& s = data.images.shape();
  if (s.size() != 4 || static_cast<int64_t>(data.labels.size()) != s[0] || s[0] == 0)
    return Status::invalid_argument("dataset is empty or its images and labels differ in count");
  const ir::ValueType& t = net.input_type(0);
  if (t.has_shape && t.dims.size() != 3 && t.dims.size() != 4)
    return Status::invalid_argument(fmt::format("model input is {}; expected an image batch", t.to_string()));
  return Status::ok();
}

// Batch `idx[begin, end)` of `data` in the layout the model's input wants.
void gather(const Network<float>& net, const LabeledImages& data, const std::vector<int64_t>& idx,
            int64_t begin, int64_t end, Buf<float>& x, std::vector<int64_t>& labels) {
  const Shape& s = data.images.shape();
  const int64_t per = s[1] * s[2] * s[3], b = end - begin;
  const ir::ValueType& t = net.input_type(0);
  x.resize(t.has_shape && t.dims.size() == 3 ? Shape{b, s[2], s[3]} : Shape{b, s[1], s[2], s[3]});
  labels.resize(static_cast<size_t>(b));
  for (int64_t i = 0; i < b; ++i) {
    const int64_t k = idx[static_cast<size_t>(begin + i)];
    std::memcpy(x.data() + i * per, data.images.data<float>() + k * per,
                static_cast<size_t>(per) * sizeof(float));
    labels[static_cast<size_t>(i)] = data.labels[static_cast<size_t>(k)];
  }
}

}  // namespace

std::vector<int64_t> shuffled_order(int64_t n, uint64_t seed, int64_t epoch) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  uint64_t state = seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(epoch);
  for (int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(splitmix64(state) % static_cast<uint64_t>(i + 1));  // bias < 2^-40
    std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(j)]);
  }
  return order;
}

Result<std::vector<EpochStats>> train_classifier(ir::Model& model, const LabeledImages& data,
                                                 const TrainOptions& options, const StepCallback& on_step,
                                                 const TrainHooks& hooks) {
  if (options.epochs < 1 || options.batch_size < 1 || options.threads < 1)
    return Status::invalid_argument("epochs, batch size and threads must be >= 1");
  VERGE_ASSIGN_OR_RETURN(auto optimizer, Optimizer::create(options.optimizer));
  ThreadPool pool(options.threads);
  VERGE_ASSIGN_OR_RETURN(auto net, Network<float>::create(model, {.pool = &pool}));
  VERGE_RETURN_IF_ERROR(check_data(*net, data));
  if (net->num_params() == 0)
    return Status::invalid_argument("model has no trainable Conv/Gemm initializers");
  const int64_t n = data.images.dim(0);
  std::vector<EpochStats> stats;
  Buf<float> x, dlogits;
  std::vector<int64_t> labels;
  std::vector<Buf<float>*> params;
  std::vector<const Buf<float>*> grads;
  std::vector<Buf<float>> output_grads(net->num_outputs());  // only the logits (output 0) get a gradient
  for (size_t i = 0; i < net->num_params(); ++i)
    params.push_back(&net->param(i)), grads.push_back(&net->param_grad(i));
  for (int64_t epoch = 0; epoch < options.epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    const std::vector<int64_t> order = shuffled_order(n, options.seed, epoch);
    double loss_sum = 0;
    int64_t correct = 0;
    for (int64_t b0 = 0; b0 < n; b0 += options.batch_size) {
      const int64_t b1 = std::min(n, b0 + options.batch_size);
      gather(*net, data, order, b0, b1, x, labels);
      if (hooks.before_forward) VERGE_RETURN_IF_ERROR(hooks.before_forward(*net));
      VERGE_RETURN_IF_ERROR(net->forward(std::span<const Buf<float>>(&x, 1)));
      const std::span<const int64_t> samples(order.data() + b0, static_cast<size_t>(b1 - b0));
      VERGE_ASSIGN_OR_RETURN(double loss,
                             hooks.loss ? hooks.loss(net->output(0), samples, labels, dlogits, correct)
                                        : softmax_cross_entropy(net->output(0), labels, &dlogits, &correct));
      if (!std::isfinite(loss))
        return Status::out_of_range(
            fmt::format("loss is {} at epoch {}, sample {}; lower the learning rate", loss, epoch + 1, b0));
      loss_sum += loss * static_cast<double>(b1 - b0);
      output_grads[0] = std::move(dlogits);
      VERGE_RETURN_IF_ERROR(net->backward(output_grads));
      dlogits = std::move(output_grads[0]);
      if (hooks.before_step) VERGE_RETURN_IF_ERROR(hooks.before_step(*net));
      optimizer->step(params, grads);
      if (on_step)
        on_step(epoch, b1, loss_sum / static_cast<double>(b1),
                static_cast<double>(correct) / static_cast<double>(b1));
    }
    stats.push_back({loss_sum / static_cast<double>(n), static_cast<double>(correct) / static_cast<double>(n),
                     n, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()});
  }
  VERGE_RETURN_IF_ERROR(net->store_params(model));
  return stats;
}

Result<EvalStats> evaluate_classifier(const ir::Model& model, const LabeledImages& data, int64_t batch_size,
                                      int threads) {
  ThreadPool pool(std::max(threads, 1));
  VERGE_ASSIGN_OR_RETURN(auto net, Network<float>::create(model, {.pool = &pool}));
  VERGE_RETURN_IF_ERROR(check_data(*net, data));
  const int64_t n = data.images.dim(0);
  std::vector<int64_t> order(static_cast<size_t>(n)), labels;
  std::iota(order.begin(), order.end(), 0);
  Buf<float> x;
  double loss_sum = 0;
  int64_t correct = 0;
  for (int64_t b0 = 0; b0 < n; b0 += std::max<int64_t>(batch_size, 1)) {
    const int64_t b1 = std::min(n, b0 + std::max<int64_t>(batch_size, 1));
    gather(*net, data, order, b0, b1, x, labels);
    VERGE_RETURN_IF_ERROR(net->forward(std::span<const Buf<float>>(&x, 1)));
    VERGE_ASSIGN_OR_RETURN(double loss,
                           softmax_cross_entropy<float>(net->output(0), labels, nullptr, &correct));
    loss_sum += loss * static_cast<double>(b1 - b0);
  }
  return EvalStats{loss_sum / static_cast<double>(n), static_cast<double>(correct) / static_cast<double>(n),
                   n};
}

}  // namespace verge::train
