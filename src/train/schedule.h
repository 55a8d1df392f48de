// Learning-rate schedules of the training loop. By default a schedule is stepped once per epoch, with the
// semantics of torch.optim.lr_scheduler when its step() is called once per epoch (docs/training.md):
//   none:   lr_e = lr
//   step:   StepLR(step_size, gamma):                 lr_e = lr * gamma^floor(e / step_size)
//   cosine: CosineAnnealingLR(T_max = epochs, eta_min): lr_e = eta_min + (lr - eta_min) * (1 +
//   cos(pi*e/T_max)) / 2
// where e is the 0-based epoch.
//
// With per_step the schedule advances at every optimizer step instead: e is the 0-based step of the run
// and T_max the run's number of steps (epochs * ceil(samples / batch)), so a cosine decays within a single
// epoch; step_size and warmup then count steps. A warmup of W > 0 units ramps linearly,
// lr_e = lr * (e + 1) / W for e < W (the first unit already moves), and the schedule above then runs over
// the remaining units with e - W and T_max - W (the common "linear warmup + cosine" recipe).
#pragma once

#include <cstdint>
#include <string>

#include "verge/status.h"

namespace verge::train {

struct LrSchedule {
  std::string kind = "none";  // none | step | cosine
  int64_t step_size = 0;      // step: epochs (steps with per_step) per decay (>= 1)
  float gamma = 0.1f;         // step: decay factor (torch's default)
  float eta_min = 0.f;        // cosine: final learning rate
  bool per_step = false;      // advance at every optimizer step instead of every epoch
  int64_t warmup = 0;         // linear warmup length in epochs (steps with per_step), >= 0
};

// InvalidArgument for an unknown kind, step without step_size >= 1, gamma <= 0, eta_min < 0 or
// warmup < 0.
Status validate(const LrSchedule& s);

// Learning rate at 0-based position `t` of `total` (epochs, or steps with per_step) from base rate `lr`.
float scheduled_lr(const LrSchedule& s, float lr, int64_t t, int64_t total);

}  // namespace verge::train
