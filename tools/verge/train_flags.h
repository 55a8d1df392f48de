// Training flags and the per-epoch progress bar shared by `verge distill` and `verge qat` (the same
// meaning as `verge train`'s flags of the same names).
#pragma once

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <memory>

#include "progress.h"
#include "train/trainer.h"

namespace verge::cli {

inline void add_training_flags(CLI::App* c, train::TrainOptions& t) {
  c->add_option("--epochs", t.epochs, "passes over the data")->check(CLI::Range(int64_t{1}, int64_t{100000}));
  c->add_option("--batch-size", t.batch_size, "samples per step")
      ->check(CLI::Range(int64_t{1}, int64_t{100000}));
  c->add_option("--optimizer", t.optimizer.kind, "sgd | adam | adamw")
      ->check(CLI::IsMember({"sgd", "adam", "adamw"}));
  c->add_option("--lr", t.optimizer.lr, "learning rate");
  c->add_option("--momentum", t.optimizer.momentum, "SGD momentum (default 0.9)");
  c->add_flag("--nesterov", t.optimizer.nesterov, "SGD with Nesterov momentum");
  c->add_option("--weight-decay", t.optimizer.weight_decay,
                "L2 (sgd, adam) or decoupled (adamw) weight decay");
  c->add_option("--seed", t.seed, "shuffling seed (default 0)");
  c->add_option("--threads,-t", t.threads, "threads")->check(CLI::Range(1, 256));
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
