#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "import/onnx/importer.h"
#include "train/distill.h"
#include "train/qat.h"
#include "train_flags.h"

namespace verge::cli {

Action add_qat(CLI::App& app) {
  struct Opts {
    std::string model, data, out, calib, teacher, method = "minmax", split = "train", preprocess;
    int64_t calib_size = 512;
    double percentile = 99.999;
    bool per_tensor = false, json = false;
    std::vector<std::string> exclude;
    train::QatOptions qat;
  };
  auto o = std::make_shared<Opts>();
  o->qat.train.optimizer.kind = "adam";
  o->qat.train.optimizer.lr = 1e-5f;
  o->qat.train.schedule.kind = "cosine";  // decays to ~0 over the steps of the run (docs/training.md)
  o->qat.train.schedule.per_step = true;
  CLI::App* c = app.add_subcommand(
      "qat",
      "Quantization-aware training: fine-tune with the int8 QDQ scheme of `verge quantize`, export QDQ ONNX");
  c->add_option("model", o->model,
                "fp32 ONNX classifier: one image input [N,1,H,W] (or [N,H,W]), logits [N,classes]")
      ->required();
  c->add_option("--data", o->data,
                "training data: directory with {train,t10k}-images-idx3-ubyte[.gz] and labels")
      ->required();
  c->add_option("-o,--output", o->out, "quantized .onnx file (QuantizeLinear/DequantizeLinear)")->required();
  c->add_option("--calib", o->calib, "calibration data as for `verge quantize` (default: --data)");
  c->add_option("--calib-size", o->calib_size, "calibrate on the first N samples (0 = all; default 512)")
      ->check(CLI::NonNegativeNumber);
  c->add_option("--method", o->method, "calibration: minmax | percentile | entropy | mse")
      ->check(CLI::IsMember({"minmax", "percentile", "entropy", "mse"}));
  c->add_option("--percentile", o->percentile, "percentile kept by --method percentile")
      ->check(CLI::Range(50.0, 100.0));
  c->add_flag("--per-tensor", o->per_tensor, "int8 weights with one scale per tensor (default per channel)");
  c->add_option("--exclude", o->exclude, "node names kept in float")->expected(1, -1);
  c->add_option("--split", o->split, "split to train and (by default) calibrate on: train | test")
      ->check(CLI::IsMember({"train", "test"}));
  add_preprocess_option(c, o->preprocess);
  c->add_option("--teacher", o->teacher,
                "self-distillation teacher (ONNX, run by the inference runtime; default: MODEL itself, the "
                "fp32 model); --alpha 0 trains on the labels alone, without a teacher");
  add_distillation_flags(c, o->qat.temperature, o->qat.alpha);
  add_training_flags(c, o->qat.train);
  c->add_flag("--json", o->json, "last line: per-epoch loss, accuracy and seconds as JSON");
  c->footer(fmt::format(
      "Training defaults for qat: --optimizer adam --lr 1e-5 --lr-schedule cosine --lr-per-step, 1 epoch, "
      "batch 64; self-distillation from MODEL with --alpha {} --temperature {}.",
      o->qat.alpha, o->qat.temperature));
  return [o]() -> int {
    auto model = onnx_io::load_model(o->model);
    if (!model.is_ok()) return report_error(model.status());
    const ir::Graph& g = model->graph;
    if (g.inputs.size() != 1)
      return report_error(Status::invalid_argument("qat needs a model with exactly one input"));
    const std::string calib_path = o->calib.empty() ? o->data : o->calib;
    auto calib = load_data(calib_path, o->split, o->calib_size, o->preprocess, g);
    if (!calib.is_ok()) return report_error(calib.status());
    fmt::print("calibration  {} ({})\n", calib_path, calib->description);
    auto ds = load_data(o->data, o->split, 0, o->preprocess, g);
    if (!ds.is_ok()) return report_error(ds.status());
    quant::QuantizeOptions& qo = o->qat.quant;
    qo.calib.method = quant::parse_calib_method(o->method).value();
    qo.calib.percentile = o->percentile;
    qo.per_channel = !o->per_tensor;
    qo.exclude = o->exclude;
    qo.threads = o->qat.train.threads;
    if (!o->teacher.empty() && o->qat.alpha == 0)
      return report_error(
          Status::invalid_argument("--teacher needs --alpha > 0 (alpha 0 trains on the labels alone)"));
    Result<train::Buf<float>> logits = train::Buf<float>{};
    if (o->qat.alpha > 0) {
      const std::string& tp = o->teacher.empty() ? o->model : o->teacher;
      SessionOptions so;
      so.threads = o->qat.train.threads;
      auto teacher = Session::load(tp, so);
      if (!teacher.is_ok()) return report_error(teacher.status());
      fmt::print("teacher      {} on {} images ...\n", tp, ds->images.dim(0));
      std::fflush(stdout);
      logits = train::run_teacher(**teacher, ds->images);
      if (!logits.is_ok()) return report_error(logits.status());
      o->qat.teacher_logits = &*logits;
    }
    EpochProgress bar(o->qat.train.epochs, ds->images.dim(0));
    auto r = train::quantization_aware_training(*model, *ds, calib->images, o->qat, std::ref(bar));
    if (!r.is_ok()) return report_error(r.status());
    if (Status st = onnx_io::save_model(r->quantized.model, o->out); !st.is_ok()) return report_error(st);
    nlohmann::json epochs = nlohmann::json::array();
    for (size_t e = 0; e < r->epochs.size(); ++e) {
      const train::EpochStats& s = r->epochs[e];
      fmt::print("epoch {}  loss {:.4f}  train-acc {:.4f}  {:.1f}s\n", e + 1, s.loss, s.accuracy, s.seconds);
      epochs.push_back({{"loss", s.loss},
                        {"accuracy", s.accuracy},
                        {"seconds", s.seconds},
                        {"samples", s.samples},
                        {"lr", s.lr}});
    }
    fmt::print("quantized    {} nodes, output SQNR {:.1f} dB (post-training: {:.1f} dB)\n",
               r->quantized.report.quantized_nodes.size(), r->quantized.report.output_sqnr_db,
               r->ptq_report.output_sqnr_db);
    fmt::print("saved        {}\n", o->out);
    if (o->json) fmt::print("{}\n", nlohmann::json{{"epochs", epochs}, {"output", o->out}}.dump());
    return 0;
  };
}

}  // namespace verge::cli
