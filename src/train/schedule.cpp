#include "train/schedule.h"

#include <cmath>
#include <numbers>

namespace verge::train {

Status validate(const LrSchedule& s) {
  if (s.kind != "none" && s.kind != "step" && s.kind != "cosine")
    return Status::invalid_argument("schedule must be none, step or cosine, got '" + s.kind + "'");
  if (s.kind == "step" && s.step_size < 1)
    return Status::invalid_argument("the step schedule needs --step-size >= 1");
  if (!(s.gamma > 0.f)) return Status::invalid_argument("schedule gamma must be > 0");
  if (!(s.eta_min >= 0.f)) return Status::invalid_argument("schedule eta_min must be >= 0");
  if (s.warmup < 0) return Status::invalid_argument("schedule warmup must be >= 0");
  return Status::ok();
}

float scheduled_lr(const LrSchedule& s, float lr, int64_t t, int64_t total) {
  if (t < s.warmup) return lr * static_cast<float>(t + 1) / static_cast<float>(s.warmup);
  t -= s.warmup;
  total -= s.warmup;
  if (s.kind == "step") return lr * std::pow(s.gamma, static_cast<float>(t / s.step_size));
  if (s.kind == "cosine" && total > 0)
    return static_cast<float>(
        s.eta_min +
        (lr - s.eta_min) *
            (1.0 + std::cos(std::numbers::pi * static_cast<double>(t) / static_cast<double>(total))) / 2.0);
  return lr;
}

}  // namespace verge::train
