#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "import/onnx/importer.h"
#include "io/idx.h"
#include "optimize/passes.h"
#include "progress.h"
#include "train/channel_prune.h"
#include "train/prune.h"
#include "train/trainer.h"
#include "train_flags.h"

namespace verge::cli {
namespace {

struct Opts {
  std::string model, data, out, split = "train", schedule = "polynomial", allocation = "global", preprocess;
  std::string structured, criterion = "l1";
  double ratio = 0.5;
  int64_t limit = 0;
  bool json = false, fold_bn = false;
  train::PolynomialDecay decay;
  train::TrainOptions train;
};

// Fine-tunes with a progress bar per epoch; prints and returns the per-epoch statistics as JSON.
Result<nlohmann::json> fine_tune(ir::Model& model, const LabeledImages& ds, const Opts& o,
                                 const train::TrainOptions& options) {
  const int64_t n = ds.images.dim(0);
  EpochProgress progress(o.train.epochs, n);
  VERGE_ASSIGN_OR_RETURN(auto stats, train::train_classifier(model, ds, options, std::ref(progress)));
  nlohmann::json epochs = nlohmann::json::array();
  for (size_t e = 0; e < stats.size(); ++e) {
    const train::EpochStats& s = stats[e];
    fmt::print("epoch {}  loss {:.4f}  train-acc {:.4f}  {:.1f}s\n", e + 1, s.loss, s.accuracy, s.seconds);
    epochs.push_back(
        {{"loss", s.loss}, {"accuracy", s.accuracy}, {"seconds", s.seconds}, {"samples", s.samples}});
  }
  return epochs;
}

int run_magnitude(ir::Model& model, const LabeledImages& ds, const Opts& o, nlohmann::json& report) {
  const auto allocation =
      o.allocation == "uniform" ? train::Allocation::kUniform : train::Allocation::kGlobal;
  auto pruner = train::MagnitudePruner::create(model, o.decay, allocation);
  if (!pruner.is_ok()) return report_error(pruner.status());
  const int64_t n = ds.images.dim(0);
  const int64_t steps = o.train.epochs * ((n + o.train.batch_size - 1) / o.train.batch_size);
  if (steps <= o.decay.end_step)
    fmt::print(
        stderr,
        "warning: training runs {} steps ({} epochs of {} batches); the schedule reaches its final sparsity "
        "{} only at step {}\n",
        steps, o.train.epochs, steps / o.train.epochs, o.decay.final_sparsity, o.decay.end_step);
  train::TrainOptions options = o.train;
  options.hooks = pruner->hooks();
  auto epochs = fine_tune(model, ds, o, options);
  if (!epochs.is_ok()) return report_error(epochs.status());
  report["epochs"] = *epochs;
  report["mask_updates"] = pruner->mask_updates();
  report["scheduled_sparsity"] = pruner->last_sparsity();
  fmt::print("{:<36} {:<24} {:>16} {:>9} {:>9} {:>9}\n", "layer", "weight", "shape", "params", "zeros",
             "sparsity");
  int64_t params = 0, zeros = 0;
  nlohmann::json layers = nlohmann::json::array();
  for (const train::LayerSparsity& s : train::sparsity_report(model)) {
    fmt::print("{:<36} {:<24} {:>16} {:>9} {:>9} {:>9.4f}\n", s.node, s.weight, shape_to_string(s.shape),
               s.params, s.zeros, s.sparsity());
    params += s.params;
    zeros += s.zeros;
    layers.push_back({{"node", s.node},
                      {"weight", s.weight},
                      {"shape", s.shape},
                      {"params", s.params},
                      {"zeros", s.zeros},
                      {"sparsity", s.sparsity()}});
  }
  const double total = params ? static_cast<double>(zeros) / static_cast<double>(params) : 0;
  fmt::print("{:<36} {:<24} {:>16} {:>9} {:>9} {:>9.4f}\n", "total", "", "", params, zeros, total);
  report["layers"] = layers;
  report["total"] = {{"params", params}, {"zeros", zeros}, {"sparsity", total}};
  return 0;
}

int run_channels(ir::Model& model, const LabeledImages* ds, const Opts& o, nlohmann::json& report) {
  train::ChannelPruneOptions po;
  po.ratio = o.ratio;
  po.criterion = o.criterion == "l2"         ? train::ChannelCriterion::kL2
                 : o.criterion == "bn-gamma" ? train::ChannelCriterion::kBnGamma
                                             : train::ChannelCriterion::kL1;
  const int64_t params_before = ir::graph_stats(model.graph).parameters;
  auto convs = train::prune_channels(model, po);
  if (!convs.is_ok()) return report_error(convs.status());
  const int64_t params_after = ir::graph_stats(model.graph).parameters;
  nlohmann::json layers = nlohmann::json::array();
  fmt::print("{:<40} {:>8} {:>8}  {}\n", "conv", "before", "after", "note");
  for (const train::ConvPruneResult& r : *convs) {
    fmt::print("{:<40} {:>8} {:>8}  {}\n", r.node, r.channels_before, r.channels_after,
               r.skipped.empty() ? "" : "left alone: " + r.skipped);
    layers.push_back({{"node", r.node},
                      {"channels_before", r.channels_before},
                      {"channels_after", r.channels_after},
                      {"skipped", r.skipped}});
  }
  fmt::print("parameters {} -> {} ({:.2f}x fewer)\n", params_before, params_after,
             static_cast<double>(params_before) / static_cast<double>(std::max<int64_t>(params_after, 1)));
  report["layers"] = layers;
  report["params_before"] = params_before;
  report["params_after"] = params_after;
  if (o.fold_bn) {
    const int folded = opt::fold_batch_norm(model.graph);
    fmt::print("folded {} BatchNormalization node(s) into their Convs\n", folded);
    report["folded_batch_norms"] = folded;
  }
  if (ds && o.train.epochs > 0) {
    auto epochs = fine_tune(model, *ds, o, o.train);
    if (!epochs.is_ok()) return report_error(epochs.status());
    report["epochs"] = *epochs;
  }
  return 0;
}

}  // namespace

Action add_prune(CLI::App& app) {
  auto o = std::make_shared<Opts>();
  CLI::App* c = app.add_subcommand(
      "prune", "Prune a classifier: magnitude pruning during fine-tuning, or removal of whole Conv channels");
  c->add_option("model", o->model,
                "ONNX classifier: one image input [N,1,H,W] (or [N,H,W]), logits [N,classes]")
      ->required();
  c->add_option("--data", o->data, "data to fine-tune on, as for verge train (IDX, .npy pair, image folder)");
  add_preprocess_option(c, o->preprocess);
  c->add_option("-o,--output", o->out, "pruned model (ONNX)")->required();
  c->add_option("--schedule", o->schedule, "magnitude schedule: polynomial (tfmot PolynomialDecay)")
      ->check(CLI::IsMember({"polynomial"}));
  c->add_option("--initial-sparsity", o->decay.initial_sparsity, "sparsity at begin-step (default 0.5)");
  c->add_option("--final-sparsity", o->decay.final_sparsity, "sparsity from end-step on (default 0.9)");
  c->add_option("--begin-step", o->decay.begin_step, "first pruning step (default 0)");
  c->add_option("--end-step", o->decay.end_step, "last pruning step (default 1000)");
  c->add_option("--frequency", o->decay.frequency, "masks are recomputed every N steps (default 100)");
  c->add_option("--power", o->decay.power, "exponent of the decay (default 3)");
  c->add_option(
       "--allocation", o->allocation,
       "global: one magnitude threshold over all layers (default) | uniform: same sparsity per layer")
      ->check(CLI::IsMember({"global", "uniform"}));
  c->add_option("--structured", o->structured, "channels: remove whole Conv output channels instead")
      ->check(CLI::IsMember({"channels"}));
  c->add_option("--ratio", o->ratio, "fraction of each Conv's output channels removed (default 0.5)");
  c->add_option("--criterion", o->criterion, "channel score: l1 (default) | l2 | bn-gamma")
      ->check(CLI::IsMember({"l1", "l2", "bn-gamma"}));
  c->add_flag("--fold-bn", o->fold_bn,
              "after channel surgery, fold each BatchNormalization into the Conv before it (the inference "
              "runtime does the same fold); fine-tuning then trains the folded Conv");
  add_training_flags(c, o->train, /*min_epochs=*/0);  // 0: channel surgery only
  c->add_option("--split", o->split, "train | test (default train)")->check(CLI::IsMember({"train", "test"}));
  c->add_option("--limit", o->limit, "fine-tune on the first N samples only");
  c->add_flag("--json", o->json, "last line: the report as JSON");
  return [o]() -> int {
    const bool channels = o->structured == "channels";
    if (!channels && o->train.epochs < 1)
      return report_error(
          Status::invalid_argument("magnitude pruning happens during fine-tuning: --epochs >= 1"));
    if (o->data.empty() && (!channels || o->train.epochs > 0))
      return report_error(
          Status::invalid_argument("--data is required to fine-tune (or use --structured "
                                   "channels --epochs 0 for surgery only)"));
    if (Status st = o->decay.validate(); !channels && !st.is_ok()) return report_error(st);
    auto model = onnx_io::load_model(o->model);
    if (!model.is_ok()) return report_error(model.status());
    std::optional<LabeledImages> ds;
    if (!o->data.empty()) {
      auto loaded = load_data(o->data, o->split, o->limit, o->preprocess, model->graph);
      if (!loaded.is_ok()) return report_error(loaded.status());
      ds = std::move(loaded).value();
    }
    nlohmann::json report{{"mode", channels ? "channels" : "magnitude"}};
    const int rc = channels ? run_channels(*model, ds ? &*ds : nullptr, *o, report)
                            : run_magnitude(*model, *ds, *o, report);
    if (rc != 0) return rc;
    if (Status st = onnx_io::save_model(*model, o->out); !st.is_ok()) return report_error(st);
    fmt::print("saved    {}\n", o->out);
    report["output"] = o->out;
    if (o->json) fmt::print("{}\n", report.dump());
    return 0;
  };
}

}  // namespace verge::cli
