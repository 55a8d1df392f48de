// Knowledge distillation (Hinton et al. 2015): a student classifier learns from a teacher's softened
// outputs, and from labels where it has them.
//
// Loss of a batch of B rows, L of which carry a label (the rest are unlabeled), temperature T, weight a:
//   loss = a * T^2 * (1/B) * sum_i KL(softmax(t_i/T) || softmax(s_i/T))
//        + (1 - a) * (1/L) * sum_{i labeled} CE(s_i, y_i)          (the second term is 0 when L = 0)
// i.e. the soft term is averaged over every row, the hard term over the labeled rows only, so a batch's
// hard term keeps weight (1 - a) however few labels it holds. d/ds_i of the soft term is
// a * T * (softmax(s_i/T) - softmax(t_i/T)) / B (the T^2 factor keeps its gradient scale independent of T).
//
// The teacher runs in the inference runtime (verge::Session, all optimizations: BatchNormalization is
// folded, fast kernels); with no data augmentation its logits are computed once for the whole dataset
// before training.
#pragma once

#include <span>

#include "train/buffer.h"
#include "train/trainer.h"
#include "verge/session.h"

namespace verge::train {

// The loss above; labels[i] < 0 marks an unlabeled row. teacher has the student's shape [B, classes].
// dlogits (optional) receives d(loss)/d(student). `correct` (optional) counts rows whose argmax equals the
// label, or the teacher's argmax for unlabeled rows. Errors: shape mismatch, label >= classes, T <= 0,
// alpha outside [0, 1].
template <class T>
Result<double> distillation_loss(const Buf<T>& student, const Buf<T>& teacher,
                                 std::span<const int64_t> labels, double temperature, double alpha,
                                 Buf<T>* dlogits, int64_t* correct = nullptr);

// Runs `teacher` (one image input, logits output 0) on every image of `images` ([N, 1, H, W], fed as
// [N, H, W] when the model's input has rank 3) in batches of `batch` (a fixed batch dimension wins;
// the last batch is zero-padded) and returns the logits [N, classes].
Result<Buf<float>> run_teacher(Session& teacher, const Tensor& images, int64_t batch = 256);

struct DistillOptions {
  TrainOptions train;
  double temperature = 4.0;
  double alpha = 0.7;
  int64_t labeled = -1;  // only the first N samples' labels are used; < 0: all
};

// The StepHooks::loss of distillation against `teacher_logits` [n, classes] (row i: dataset sample i,
// as run_teacher returns them; they must outlive the hook): distillation_loss with `temperature` and
// `alpha`, the labels of samples >= `labeled` dropped (< 0: all kept). Errors: logits that are not
// [n, classes], temperature <= 0, alpha outside [0, 1]; at a step, logits of another width.
Result<StepHooks::LossHook> distillation_hook(const Buf<float>& teacher_logits, int64_t n, double temperature,
                                              double alpha, int64_t labeled = -1);

// Trains `student` in place on `data` with the distillation loss, teacher logits from `teacher_logits`
// (run_teacher on the same data). Same loop, statistics and errors as train_classifier.
Result<std::vector<EpochStats>> distill_classifier(ir::Model& student, const Buf<float>& teacher_logits,
                                                   const LabeledImages& data, const DistillOptions& options,
                                                   const StepCallback& on_step = {});

}  // namespace verge::train
