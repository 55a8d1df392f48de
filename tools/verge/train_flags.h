// Training flags and the per-epoch progress bar shared by `verge train`, `verge prune`, `verge distill`
// and `verge qat`.
#pragma once

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <memory>

#include "progress.h"
#include "train/trainer.h"

namespace verge::cli {

// --epochs (at least `min_epochs`), --batch-size, --optimizer, --lr, --momentum, --nesterov,
// --weight-decay, --seed, --lr-schedule, --step-size, --gamma, --lr-per-step, --warmup, --threads: the
// flags every training command shares, bound to `t`.
inline void add_training_flags(CLI::App* c, train::TrainOptions& t, int64_t min_epochs = 1) {
  c->add_option("--epochs", t.epochs,
                min_epochs == 0 ? "passes over the data (0: none)" : "passes over the data")
      ->check(CLI::Range(min_epochs, int64_t{100000}));
  c->add_option("--batch-size", t.batch_size, "samples per step")
      ->check(CLI::Range(int64_t{1}, int64_t{100000}));
  c->add_option("--optimizer", t.optimizer.kind, "sgd | adam | adamw")
      ->check(CLI::IsMember({"sgd", "adam", "adamw"}));
  c->add_option("--lr", t.optimizer.lr, fmt::format("learning rate (default {})", t.optimizer.lr));
  c->add_option("--momentum", t.optimizer.momentum, "SGD momentum (default 0.9)");
  c->add_flag("--nesterov", t.optimizer.nesterov, "SGD with Nesterov momentum");
  c->add_option("--weight-decay", t.optimizer.weight_decay,
                "L2 (sgd, adam) or decoupled (adamw) weight decay");
  c->add_option("--seed", t.seed, "seed of shuffling, Dropout masks and augmentation (default 0)");
  c->add_option(
       "--lr-schedule", t.schedule.kind,
       fmt::format("learning-rate schedule: none | step (StepLR) | cosine (CosineAnnealingLR) (default {})",
                   t.schedule.kind))
      ->check(CLI::IsMember({"none", "step", "cosine"}));
  c->add_option("--step-size", t.schedule.step_size,
                "step schedule: epochs (steps with --lr-per-step) between decays");
  c->add_option("--gamma", t.schedule.gamma, "step schedule: decay factor (default 0.1)");
  c->add_flag("--lr-per-step,!--lr-per-epoch", t.schedule.per_step,
              fmt::format("advance the schedule at every optimizer step (a cosine decays within one epoch; "
                          "--step-size and --warmup count steps) instead of every epoch (default: {})",
                          t.schedule.per_step ? "per step" : "per epoch"));
  c->add_option("--warmup", t.schedule.warmup,
                fmt::format("linear warmup over the first N epochs (steps with --lr-per-step), then the "
                            "schedule (default {})",
                            t.schedule.warmup))
      ->check(CLI::NonNegativeNumber);
  c->add_option("--threads,-t", t.threads, "threads")->check(CLI::Range(1, 256));
}

// --temperature and --alpha of the distillation loss (train/distill.h), bound to `temperature` and `alpha`
// (their current values are the defaults shown).
inline void add_distillation_flags(CLI::App* c, double& temperature, double& alpha) {
  c->add_option("--temperature", temperature, fmt::format("softmax temperature T (default {})", temperature))
      ->check(CLI::PositiveNumber);
  c->add_option(
       "--alpha", alpha,
       fmt::format("weight of the soft (KL) term; 1 - alpha weighs cross-entropy (default {})", alpha))
      ->check(CLI::Range(0.0, 1.0));
}

// A progress bar per epoch over `n` samples with the running loss and accuracy.
class EpochProgress {
 public:
  EpochProgress(int64_t epochs, int64_t n) : epochs_(epochs), n_(n) {}
  void operator()(int64_t epoch, int64_t done, double loss, double acc) {
    if (epoch != epoch_) {
      bar_ = std::make_unique<Progress>(fmt::format("epoch {}/{}", epoch + 1, epochs_), n_);
      epoch_ = epoch;
    }
    const std::string extra = fmt::format("loss {:.4f} acc {:.4f}", loss, acc);
    if (done == n_)
      bar_->finish(extra);
    else
      bar_->update(done, extra);
  }

 private:
  int64_t epochs_, n_, epoch_ = -1;
  std::unique_ptr<Progress> bar_;
};

}  // namespace verge::cli
