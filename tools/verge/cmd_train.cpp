#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "import/onnx/importer.h"
#include "progress.h"
#include "train/trainer.h"
#include "train_flags.h"

namespace verge::cli {

Action add_train(CLI::App& app) {
  struct Opts {
    std::string model, data, out, split = "train", augment, preprocess;
    int64_t limit = 0, labeled = 0;
    bool json = false;
    train::TrainOptions train;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* c =
      app.add_subcommand("train", "Train (fine-tune) a classifier's parameters on a labeled dataset");
  c->add_option("model", o->model,
                "ONNX classifier: one image input [N,1,H,W] (or [N,H,W]), logits [N,classes]")
      ->required();
  c->add_option(
       "--data", o->data,
       "IDX directory ({train,t10k}-images-idx3-ubyte[.gz] + labels), inputs.npy + labels.npy, or an "
       "image folder with one subfolder per class (docs/training.md)")
      ->required();
  c->add_option("-o,--output", o->out, "trained model (ONNX)")->required();
  add_training_flags(c, o->train);
  c->add_option("--loss", o->train.loss, "ce (softmax cross-entropy, default) | mse (mean squared error)")
      ->check(CLI::IsMember({"ce", "mse"}));
  c->add_option("--augment", o->augment, "training augmentation: crop:PAD (random crop, zero padding), flip");
  add_preprocess_option(c, o->preprocess);
  c->add_option("--split", o->split, "train | test (default train)")->check(CLI::IsMember({"train", "test"}));
  c->add_option("--limit", o->limit, "train on the first N samples only");
  c->add_option("--labeled", o->labeled,
                "use the labels of the first N training samples only (train: those N samples only)")
      ->check(CLI::NonNegativeNumber);
  c->add_flag("--json", o->json, "last line: per-epoch loss, accuracy, wall and CPU seconds as JSON");
  return [o]() -> int {
    auto model = onnx_io::load_model(o->model);
    if (!model.is_ok()) return report_error(model.status());
    auto aug = train::parse_augment(o->augment);
    if (!aug.is_ok()) return report_error(aug.status());
    o->train.augment = *aug;
    const int64_t limit = o->labeled > 0 && (o->limit <= 0 || o->labeled < o->limit) ? o->labeled : o->limit;
    auto ds = load_data(o->data, o->split, limit, o->preprocess, model->graph);
    if (!ds.is_ok()) return report_error(ds.status());
    const int64_t n = ds->images.dim(0);
    EpochProgress progress(o->train.epochs, n);
    auto stats = train::train_classifier(*model, *ds, o->train, std::ref(progress));
    if (!stats.is_ok()) return report_error(stats.status());
    if (Status st = onnx_io::save_model(*model, o->out); !st.is_ok()) return report_error(st);
    nlohmann::json epochs = nlohmann::json::array();
    for (size_t e = 0; e < stats->size(); ++e) {
      const train::EpochStats& s = (*stats)[e];
      fmt::print("epoch {}  loss {:.4f}  train-acc {:.4f}  lr {:.6g}  {:.1f}s\n", e + 1, s.loss, s.accuracy,
                 s.lr, s.seconds);
      epochs.push_back({{"loss", s.loss},
                        {"accuracy", s.accuracy},
                        {"seconds", s.seconds},
                        {"cpu_seconds", s.cpu_seconds},
                        {"samples", s.samples},
                        {"lr", s.lr}});
    }
    fmt::print("saved    {}\n", o->out);
    if (o->json) fmt::print("{}\n", nlohmann::json{{"epochs", epochs}, {"output", o->out}}.dump());
    return 0;
  };
}

}  // namespace verge::cli
