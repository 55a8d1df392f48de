#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "import/onnx/importer.h"
#include "train/distill.h"
#include "train_flags.h"

namespace verge::cli {

Action add_distill(CLI::App& app) {
  struct Opts {
    std::string teacher, student, data, out, split = "train", preprocess;
    bool json = false;
    train::DistillOptions distill;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* c = app.add_subcommand(
      "distill", "Train a student classifier from a teacher's soft targets (and labels where given)");
  c->add_option("--teacher", o->teacher, "teacher ONNX classifier (run by the inference runtime)")
      ->required();
  c->add_option("--student", o->student, "student ONNX classifier whose Conv/Gemm parameters are trained")
      ->required();
  c->add_option("--data", o->data,
                "IDX directory, inputs.npy + labels.npy, or an image folder (one subfolder per class)")
      ->required();
  c->add_option("-o,--output", o->out, "trained student (ONNX)")->required();
  add_distillation_flags(c, o->distill.temperature, o->distill.alpha);
  c->add_option("--labeled", o->distill.labeled,
                "use the labels of the first N training samples only; the rest get soft targets only")
      ->check(CLI::NonNegativeNumber);
  c->add_option("--split", o->split, "train | test (default train)")->check(CLI::IsMember({"train", "test"}));
  add_preprocess_option(c, o->preprocess);
  add_training_flags(c, o->distill.train);
  c->add_flag("--json", o->json, "last line: per-epoch loss, accuracy and seconds as JSON");
  return [o]() -> int {
    auto student = onnx_io::load_model(o->student);
    if (!student.is_ok()) return report_error(student.status());
    SessionOptions so;
    so.threads = o->distill.train.threads;
    auto teacher = Session::load(o->teacher, so);
    if (!teacher.is_ok()) return report_error(teacher.status());
    // Samples shaped for the teacher's input (the student takes the same images).
    const IoInfo* in = (*teacher)->inputs().empty() ? nullptr : &(*teacher)->inputs()[0];
    auto ds = load_data(o->data, o->split, 0, o->preprocess, in);
    if (!ds.is_ok()) return report_error(ds.status());
    const int64_t n = ds->images.dim(0);
    fmt::print("teacher  {} on {} images ...\n", o->teacher, n);
    std::fflush(stdout);
    auto logits = train::run_teacher(**teacher, ds->images);
    if (!logits.is_ok()) return report_error(logits.status());
    teacher->reset();
    EpochProgress bar(o->distill.train.epochs, n);
    auto stats = train::distill_classifier(*student, *logits, *ds, o->distill, std::ref(bar));
    if (!stats.is_ok()) return report_error(stats.status());
    if (Status st = onnx_io::save_model(*student, o->out); !st.is_ok()) return report_error(st);
    nlohmann::json epochs = nlohmann::json::array();
    for (size_t e = 0; e < stats->size(); ++e) {
      const train::EpochStats& s = (*stats)[e];
      fmt::print("epoch {}  loss {:.4f}  train-acc {:.4f}  {:.1f}s\n", e + 1, s.loss, s.accuracy, s.seconds);
      epochs.push_back(
          {{"loss", s.loss}, {"accuracy", s.accuracy}, {"seconds", s.seconds}, {"samples", s.samples}});
    }
    fmt::print("saved    {}\n", o->out);
    if (o->json) fmt::print("{}\n", nlohmann::json{{"epochs", epochs}, {"output", o->out}}.dump());
    return 0;
  };
}

}  // namespace verge::cli
