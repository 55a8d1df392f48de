// Learning-rate schedules of the training loop, with the semantics of torch.optim.lr_scheduler when its
// step() is called once per epoch (docs/training.md):
//   none:   lr_e = lr
//   step:   StepLR(step_size, gamma):                 lr_e = lr * gamma^floor(e / step_size)
//   cosine: CosineAnnealingLR(T_max = epochs, eta_min): lr_e = eta_min + (lr - eta_min) * (1 +
//   cos(pi*e/T_max)) / 2
// where e is the 0-based epoch.
#pragma once

#include <cstdint>
#include <string>

#include "verge/status.h"

namespace verge::train {

struct LrSchedule {
  std::string kind = "none";  // none | step | cosine
  int64_t step_size = 0;      // step: epochs per decay (>= 1)
  float gamma = 0.1f;         // step: decay factor (torch's default)
  float eta_min = 0.f;        // cosine: final learning rate
};

// InvalidArgument for an unknown kind, step without step_size >= 1, gamma <= 0 or eta_min < 0.
Status validate(const LrSchedule& s);

// Learning rate for 0-based `epoch` of `epochs` from base rate `lr`.
float scheduled_lr(const LrSchedule& s, float lr, int64_t epoch, int64_t epochs);

}  // namespace verge::train
