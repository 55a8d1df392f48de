#include "train/trainer.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <numeric>

#include "core/thread_pool.h"
#include "train/inference_form.h"
#include "train/losses.h"
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
    return Status::invalid_argument("training needs a model with one input and an output");
  const Shape& s = data.images.shape();
  if (s.size() < 2 || s[0] == 0 || data.images.dtype() != DType::kFloat32)
    return Status::invalid_argument("dataset is empty or its inputs are not a float32 [N, ...] batch");
  const bool has_labels = !data.labels.empty(), has_targets = data.targets.rank() > 0;
  if ((has_labels && static_cast<int64_t>(data.labels.size()) != s[0]) ||
      (has_targets && (data.targets.dim(0) != s[0] || data.targets.dtype() != DType::kFloat32)) ||
      (!has_labels && !has_targets))
    return Status::invalid_argument(
        "dataset inputs and labels (or float32 targets) differ in count, or it has neither");
  const ir::ValueType& t = net.input_type(0);
  const bool squeeze = s.size() == 4 && s[1] == 1 && t.has_shape && t.dims.size() == 3;
  bool fits = !t.has_shape || squeeze || t.dims.size() == s.size();
  for (size_t d = 1; fits && t.has_shape && !squeeze && d < s.size(); ++d)
    fits = !t.dims[d].is_fixed() || t.dims[d].value == s[d];
  if (!fits)
    return Status::invalid_argument(fmt::format("model input is {}; the data's samples are {}", t.to_string(),
                                                shape_to_string(Shape(s.begin() + 1, s.end()))));
  return Status::ok();
}

uint64_t splitmix_seed(uint64_t seed, int64_t epoch, int64_t position) {
  uint64_t state = seed * 0x9E3779B97F4A7C15ull ^ (static_cast<uint64_t>(epoch) << 32) ^
                   static_cast<uint64_t>(position) * 0xD1B54A32D192ED03ull;
  return splitmix64(state);
}

// Shifts/mirrors every [H, W] plane of sample `x` (`planes` planes) as `a` says, with draws from `state`.
void augment_sample(const Augment& a, float* x, int64_t planes, int64_t h, int64_t w, uint64_t state,
                    std::vector<float>& scratch) {
  int64_t dy = 0, dx = 0;
  if (a.crop_pad > 0) {
    const auto span = static_cast<uint64_t>(2 * a.crop_pad + 1);
    dy = static_cast<int64_t>(splitmix64(state) % span) - a.crop_pad;
    dx = static_cast<int64_t>(splitmix64(state) % span) - a.crop_pad;
  }
  const bool flip = a.flip && (splitmix64(state) >> 63) != 0;
  if (dy == 0 && dx == 0 && !flip) return;
  scratch.resize(static_cast<size_t>(h * w));
  for (int64_t p = 0; p < planes; ++p) {
    float* plane = x + p * h * w;
    std::copy_n(plane, h * w, scratch.data());
    for (int64_t y = 0; y < h; ++y)
      for (int64_t c = 0; c < w; ++c) {
        const int64_t sy = y + dy, sc = (flip ? w - 1 - c : c) + dx;  // crop window of the padded image
        plane[y * w + c] =
            sy >= 0 && sy < h && sc >= 0 && sc < w ? scratch[static_cast<size_t>(sy * w + sc)] : 0.f;
      }
  }
}

// Batch `idx[begin, end)` of `data` in the layout the model's input wants (labels and targets alike).
void gather(const Network<float>& net, const LabeledImages& data, const std::vector<int64_t>& idx,
            int64_t begin, int64_t end, Buf<float>& x, std::vector<int64_t>& labels, Buf<float>& targets) {
  const Shape& s = data.images.shape();
  const int64_t per = data.images.numel() / s[0], b = end - begin;
  const ir::ValueType& t = net.input_type(0);
  Shape xs = s;
  xs[0] = b;
  if (s.size() == 4 && s[1] == 1 && t.has_shape && t.dims.size() == 3) xs = {b, s[2], s[3]};
  x.resize(xs);
  labels.resize(data.labels.empty() ? 0 : static_cast<size_t>(b));
  const bool has_targets = data.targets.rank() > 0;
  const int64_t tper = has_targets ? data.targets.numel() / s[0] : 0;
  if (has_targets) {
    Shape ts = data.targets.shape();
    ts[0] = b;
    targets.resize(ts);
  }
  for (int64_t i = 0; i < b; ++i) {
    const int64_t k = idx[static_cast<size_t>(begin + i)];
    std::memcpy(x.data() + i * per, data.images.data<float>() + k * per,
                static_cast<size_t>(per) * sizeof(float));
    if (!labels.empty()) labels[static_cast<size_t>(i)] = data.labels[static_cast<size_t>(k)];
    if (has_targets)
      std::memcpy(targets.data() + i * tper, data.targets.data<float>() + k * tper,
                  static_cast<size_t>(tper) * sizeof(float));
  }
}

int64_t count_correct(const Buf<float>& out, std::span<const int64_t> labels) {
  if (labels.empty() || out.shape.size() != 2 || out.shape[0] != static_cast<int64_t>(labels.size()))
    return 0;
  int64_t correct = 0;
  const int64_t c = out.shape[1];
  for (size_t i = 0; i < labels.size(); ++i) {
    const float* z = out.data() + static_cast<int64_t>(i) * c;
    correct += std::max_element(z, z + c) - z == labels[i];
  }
  return correct;
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

void augment_batch(const Augment& a, Buf<float>& x, uint64_t seed, int64_t epoch, int64_t first_position) {
  if ((a.crop_pad <= 0 && !a.flip) || x.shape.size() < 3 || x.numel() == 0) return;
  const int64_t b = x.shape[0], h = x.shape[x.shape.size() - 2], w = x.shape.back(),
                planes = x.numel() / b / (h * w);
  std::vector<float> scratch;
  for (int64_t i = 0; i < b; ++i)
    augment_sample(a, x.data() + i * planes * h * w, planes, h, w,
                   splitmix_seed(seed, epoch, first_position + i), scratch);
}

Result<Augment> parse_augment(const std::string& spec) {
  Augment a;
  size_t start = 0;
  while (start <= spec.size() && !spec.empty()) {
    const size_t comma = spec.find(',', start);
    const std::string part =
        spec.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (part == "flip") {
      a.flip = true;
    } else if (part.rfind("crop:", 0) == 0) {
      char* end = nullptr;
      const long long pad = std::strtoll(part.c_str() + 5, &end, 10);
      if (part.size() == 5 || *end != '\0' || pad < 1 || pad > 1024)
        return Status::invalid_argument(
            fmt::format("augmentation '{}': crop needs a padding in [1, 1024]", part));
      a.crop_pad = pad;
    } else {
      return Status::invalid_argument(
          fmt::format("unknown augmentation '{}' (expected crop:PAD or flip)", part));
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return a;
}

Result<std::vector<EpochStats>> train_classifier(ir::Model& model, const LabeledImages& data,
                                                 const TrainOptions& options, const StepCallback& on_step) {
  if (options.epochs < 1 || options.batch_size < 1 || options.threads < 1)
    return Status::invalid_argument("epochs, batch size and threads must be >= 1");
  if (options.loss != "ce" && options.loss != "mse")
    return Status::invalid_argument(fmt::format("loss must be ce or mse, got '{}'", options.loss));
  if (options.loss == "ce" && data.labels.empty())
    return Status::invalid_argument(
        "cross-entropy needs class labels; this data has float targets (use --loss mse)");
  VERGE_RETURN_IF_ERROR(validate(options.schedule));
  VERGE_ASSIGN_OR_RETURN(auto optimizer, Optimizer::create(options.optimizer));
  ThreadPool pool(options.threads);
  VERGE_ASSIGN_OR_RETURN(auto net, Network<float>::create(model, {.pool = &pool, .seed = options.seed}));
  VERGE_RETURN_IF_ERROR(check_data(*net, data));
  if (net->num_params() == 0)
    return Status::invalid_argument(
        "model has no trainable initializers (Conv, ConvTranspose, Gemm, MatMul weights, BatchNormalization "
        "scale/bias)");
  const Augment& aug = options.augment;
  if ((aug.crop_pad > 0 || aug.flip) && data.images.rank() < 3)
    return Status::invalid_argument("augmentation needs image inputs [N, ..., H, W]");
  const int64_t n = data.images.dim(0);
  const float base_lr = options.optimizer.lr;
  std::vector<EpochStats> stats;
  Buf<float> x, dout, targets;
  std::vector<int64_t> labels;
  std::vector<Buf<float>*> params;
  std::vector<const Buf<float>*> grads;
  std::vector<Buf<float>> output_grads(net->num_outputs());  // only output 0 gets a gradient
  for (size_t i = 0; i < net->num_params(); ++i)
    params.push_back(&net->param(i)), grads.push_back(&net->param_grad(i));
  const LrSchedule& sched = options.schedule;
  const int64_t total_steps = options.epochs * ((n + options.batch_size - 1) / options.batch_size);
  int64_t step = 0;
  for (int64_t epoch = 0; epoch < options.epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    const std::clock_t cpu_start = std::clock();
    const float lr = sched.per_step ? scheduled_lr(sched, base_lr, step, total_steps)
                                    : scheduled_lr(sched, base_lr, epoch, options.epochs);
    optimizer->set_lr(lr);
    const std::vector<int64_t> order = shuffled_order(n, options.seed, epoch);
    double loss_sum = 0;
    int64_t correct = 0;
    for (int64_t b0 = 0; b0 < n; b0 += options.batch_size) {
      const int64_t b1 = std::min(n, b0 + options.batch_size);
      gather(*net, data, order, b0, b1, x, labels, targets);
      augment_batch(aug, x, options.seed, epoch, b0);
      if (sched.per_step) optimizer->set_lr(scheduled_lr(sched, base_lr, step, total_steps));
      if (options.hooks.before_step) VERGE_RETURN_IF_ERROR(options.hooks.before_step(step, *net, *optimizer));
      VERGE_RETURN_IF_ERROR(net->forward(std::span<const Buf<float>>(&x, 1)));
      double loss = 0;
      if (options.hooks.loss) {
        const std::span<const int64_t> samples(order.data() + b0, static_cast<size_t>(b1 - b0));
        VERGE_ASSIGN_OR_RETURN(loss, options.hooks.loss(net->output(0), samples, labels, dout, correct));
      } else if (options.loss == "ce") {
        VERGE_ASSIGN_OR_RETURN(loss, softmax_cross_entropy(net->output(0), labels, &dout, &correct));
      } else {
        if (data.targets.rank() == 0) {
          const Shape& os = net->output(0).shape;
          if (os.size() != 2)
            return Status::invalid_argument(
                fmt::format("MSE against class labels needs an output [N, classes]; the output is {}",
                            shape_to_string(os)));
          VERGE_ASSIGN_OR_RETURN(targets, one_hot<float>(labels, os[1]));
        }
        VERGE_ASSIGN_OR_RETURN(loss, mse_loss(net->output(0), targets, &dout));
        correct += count_correct(net->output(0), labels);
      }
      if (!std::isfinite(loss))
        return Status::out_of_range(
            fmt::format("loss is {} at epoch {}, sample {}; lower the learning rate", loss, epoch + 1, b0));
      loss_sum += loss * static_cast<double>(b1 - b0);
      output_grads[0] = std::move(dout);
      VERGE_RETURN_IF_ERROR(net->backward(output_grads));
      dout = std::move(output_grads[0]);
      if (options.hooks.before_update) VERGE_RETURN_IF_ERROR(options.hooks.before_update(*net));
      optimizer->step(params, grads);
      if (options.hooks.after_step) VERGE_RETURN_IF_ERROR(options.hooks.after_step(step, *net, *optimizer));
      ++step;
      if (on_step)
        on_step(epoch, b1, loss_sum / static_cast<double>(b1),
                static_cast<double>(correct) / static_cast<double>(b1));
    }
    stats.push_back({loss_sum / static_cast<double>(n), static_cast<double>(correct) / static_cast<double>(n),
                     n, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
                     static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC, lr});
  }
  VERGE_RETURN_IF_ERROR(net->store_params(model));
  to_inference_form(model);
  return stats;
}

Result<EvalStats> evaluate_classifier(const ir::Model& model, const LabeledImages& data, int64_t batch_size,
                                      int threads) {
  ThreadPool pool(std::max(threads, 1));
  VERGE_ASSIGN_OR_RETURN(auto net, Network<float>::create(model, {.pool = &pool}));
  net->set_training(false);
  VERGE_RETURN_IF_ERROR(check_data(*net, data));
  const int64_t n = data.images.dim(0);
  std::vector<int64_t> order(static_cast<size_t>(n)), labels;
  std::iota(order.begin(), order.end(), 0);
  Buf<float> x, targets;
  double loss_sum = 0;
  int64_t correct = 0;
  if (data.labels.empty()) return Status::invalid_argument("evaluation needs class labels");
  for (int64_t b0 = 0; b0 < n; b0 += std::max<int64_t>(batch_size, 1)) {
    const int64_t b1 = std::min(n, b0 + std::max<int64_t>(batch_size, 1));
    gather(*net, data, order, b0, b1, x, labels, targets);
    VERGE_RETURN_IF_ERROR(net->forward(std::span<const Buf<float>>(&x, 1)));
    VERGE_ASSIGN_OR_RETURN(double loss,
                           softmax_cross_entropy<float>(net->output(0), labels, nullptr, &correct));
    loss_sum += loss * static_cast<double>(b1 - b0);
  }
  return EvalStats{loss_sum / static_cast<double>(n), static_cast<double>(correct) / static_cast<double>(n),
                   n};
}

}  // namespace verge::train
