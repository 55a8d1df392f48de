#include "train/distill.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace verge::train {
namespace {

// softmax(z / t) of one row into p (double).
template <class T>
void softmax_row(const T* z, int64_t c, double t, double* p) {
  double mx = -INFINITY, sum = 0;
  for (int64_t k = 0; k < c; ++k) mx = std::max(mx, static_cast<double>(z[k]) / t);
  for (int64_t k = 0; k < c; ++k) sum += p[k] = std::exp(static_cast<double>(z[k]) / t - mx);
  for (int64_t k = 0; k < c; ++k) p[k] /= sum;
}

}  // namespace

template <class T>
Result<double> distillation_loss(const Buf<T>& student, const Buf<T>& teacher,
                                 std::span<const int64_t> labels, double temperature, double alpha,
                                 Buf<T>* dlogits, int64_t* correct) {
  if (student.shape.size() != 2 || student.shape != teacher.shape ||
      student.shape[0] != static_cast<int64_t>(labels.size()))
    return Status::invalid_argument(
        fmt::format("student logits {}, teacher logits {}, {} labels do not match",
                    shape_to_string(student.shape), shape_to_string(teacher.shape), labels.size()));
  if (!(temperature > 0) || !(alpha >= 0 && alpha <= 1))
    return Status::invalid_argument(
        fmt::format("temperature {} must be > 0 and alpha {} in [0, 1]", temperature, alpha));
  const int64_t n = student.shape[0], c = student.shape[1];
  int64_t labeled = 0;
  for (int64_t y : labels) {
    if (y >= c) return Status::invalid_argument(fmt::format("label {} is outside [0, {})", y, c));
    labeled += y >= 0;
  }
  if (dlogits) dlogits->resize(student.shape);
  const double soft_w = alpha * temperature * temperature / static_cast<double>(std::max<int64_t>(n, 1));
  const double hard_w = labeled > 0 ? (1 - alpha) / static_cast<double>(labeled) : 0.0;
  std::vector<double> p(static_cast<size_t>(c)), q(static_cast<size_t>(c)), h(static_cast<size_t>(c));
  double total = 0;
  for (int64_t i = 0; i < n; ++i) {
    const T* s = student.data() + i * c;
    const T* t = teacher.data() + i * c;
    softmax_row(t, c, temperature, p.data());
    softmax_row(s, c, temperature, q.data());
    double kl = 0;
    for (int64_t k = 0; k < c; ++k)
      if (p[k] > 0) kl += p[k] * (std::log(p[k]) - std::log(std::max(q[k], 1e-300)));
    total += soft_w * kl;
    const int64_t y = labels[static_cast<size_t>(i)];
    const int64_t arg_s = std::max_element(s, s + c) - s;
    const int64_t target = y >= 0 ? y : std::max_element(t, t + c) - t;
    if (correct) *correct += arg_s == target;
    if (y >= 0) {
      softmax_row(s, c, 1.0, h.data());
      total += hard_w * -std::log(std::max(h[static_cast<size_t>(y)], 1e-300));
    }
    if (!dlogits) continue;
    T* d = dlogits->data() + i * c;
    for (int64_t k = 0; k < c; ++k) {
      double g = soft_w / temperature * (q[k] - p[k]);
      if (y >= 0) g += hard_w * (h[k] - (k == y ? 1.0 : 0.0));
      d[k] = static_cast<T>(g);
    }
  }
  return total;
}
template Result<double> distillation_loss<float>(const Buf<float>&, const Buf<float>&,
                                                 std::span<const int64_t>, double, double, Buf<float>*,
                                                 int64_t*);
template Result<double> distillation_loss<double>(const Buf<double>&, const Buf<double>&,
                                                  std::span<const int64_t>, double, double, Buf<double>*,
                                                  int64_t*);

Result<Buf<float>> run_teacher(Session& teacher, const Tensor& images, int64_t batch) {
  if (teacher.inputs().size() != 1 || teacher.outputs().empty())
    return Status::invalid_argument("the teacher needs one image input and a logits output");
  const IoInfo& in = teacher.inputs()[0];
  if (in.dtype != DType::kFloat32)
    return Status::invalid_argument(
        fmt::format("teacher input '{}' is {}; expected float32 images", in.name, dtype_name(in.dtype)));
  const Shape& all = images.shape();  // [N, ...sample]; [N, 1, H, W] for a rank-3 input drops the 1
  const int64_t n = all[0], per = n > 0 ? images.numel() / n : 0;
  const bool drop_channel = in.has_shape && in.shape.size() == 3 && all.size() == 4;
  const bool fixed = in.has_shape && !in.shape.empty() && in.shape[0] > 0;
  const int64_t b = fixed ? in.shape[0] : std::max<int64_t>(batch, 1);
  Buf<float> logits;
  std::vector<float> padded;
  for (int64_t done = 0; done < n; done += b) {
    const int64_t take = std::min(b, n - done);
    const float* src = images.data<float>() + done * per;
    const int64_t run_b = fixed ? b : take;
    if (run_b != take) {
      padded.assign(static_cast<size_t>(run_b * per), 0.f);
      std::memcpy(padded.data(), src, static_cast<size_t>(take * per) * sizeof(float));
      src = padded.data();
    }
    Shape shape = drop_channel ? Shape{run_b, all[2], all[3]} : all;
    shape[0] = run_b;
    VERGE_ASSIGN_OR_RETURN(auto out, teacher.run({Tensor::wrap(DType::kFloat32, shape, src)}));
    const Tensor& y = out[0];
    if (y.dtype() != DType::kFloat32 || y.rank() != 2 || y.dim(0) != run_b)
      return Status::invalid_argument(
          fmt::format("teacher output '{}' is {} {}; expected float32 [batch, classes]",
                      teacher.outputs()[0].name, dtype_name(y.dtype()), shape_to_string(y.shape())));
    if (logits.v.empty()) logits.resize({n, y.dim(1)});
    if (y.dim(1) != logits.shape[1]) return Status::internal("teacher output width changed between batches");
    std::memcpy(logits.data() + done * y.dim(1), y.data<float>(),
                static_cast<size_t>(take * y.dim(1)) * sizeof(float));
  }
  return logits;
}

Result<StepHooks::LossHook> distillation_hook(const Buf<float>& teacher_logits, int64_t n, double temperature,
                                              double alpha, int64_t labeled) {
  if (teacher_logits.shape.size() != 2 || teacher_logits.shape[0] != n)
    return Status::invalid_argument(fmt::format("teacher logits {} do not cover the {} training samples",
                                                shape_to_string(teacher_logits.shape), n));
  if (!(temperature > 0) || !(alpha >= 0 && alpha <= 1))
    return Status::invalid_argument(
        fmt::format("temperature {} must be > 0 and alpha {} in [0, 1]", temperature, alpha));
  const int64_t c = teacher_logits.shape[1];
  if (labeled < 0 || labeled > n) labeled = n;
  return StepHooks::LossHook(
      [&teacher_logits, c, temperature, alpha, labeled, t = Buf<float>(), y = std::vector<int64_t>()](
          const Buf<float>& logits, std::span<const int64_t> samples, std::span<const int64_t> labels,
          Buf<float>& dlogits, int64_t& correct) mutable -> Result<double> {
        if (logits.shape.size() != 2 || logits.shape[1] != c)
          return Status::invalid_argument(fmt::format(
              "student logits {} do not match the teacher's {} classes", shape_to_string(logits.shape), c));
        t.resize(logits.shape);
        y.resize(samples.size());
        for (size_t i = 0; i < samples.size(); ++i) {
          std::memcpy(t.data() + static_cast<int64_t>(i) * c, teacher_logits.data() + samples[i] * c,
                      static_cast<size_t>(c) * sizeof(float));
          y[i] = samples[i] < labeled ? labels[i] : -1;
        }
        return distillation_loss(logits, t, y, temperature, alpha, &dlogits, &correct);
      });
}

Result<std::vector<EpochStats>> distill_classifier(ir::Model& student, const Buf<float>& teacher_logits,
                                                   const LabeledImages& data, const DistillOptions& options,
                                                   const StepCallback& on_step) {
  if (options.train.augment.crop_pad > 0 || options.train.augment.flip)
    return Status::invalid_argument(
        "distillation precomputes the teacher's logits on the unaugmented images; augmentation is not "
        "supported");
  if (options.train.hooks.loss) return Status::invalid_argument("distillation sets the training loss itself");
  const int64_t n = data.images.rank() > 0 ? data.images.dim(0) : 0;
  TrainOptions train = options.train;
  VERGE_ASSIGN_OR_RETURN(train.hooks.loss, distillation_hook(teacher_logits, n, options.temperature,
                                                             options.alpha, options.labeled));
  return train_classifier(student, data, train, on_step);
}

}  // namespace verge::train
