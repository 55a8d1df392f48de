#include <fmt/format.h>

#include <filesystem>
#include <fstream>

#include "commands.h"
#include "import/onnx/importer.h"
#include "progress.h"
#include "quantize/mixed_precision.h"
#include "quantize/quantize.h"

namespace verge::cli {
namespace {

Status write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
  f.close();
  if (!f) return Status::io_error(fmt::format("cannot write '{}'", path));
  return Status::ok();
}

}  // namespace

Action add_quantize(CLI::App& app) {
  struct Opts {
    std::string model, out, calib, split = "train", method = "minmax", report, chart, preprocess;
    int64_t calib_size = 512, batch = 32;
    double percentile = 99.999;
    bool per_tensor = false, per_channel = false, dynamic = false, fp16 = false, bf16 = false;
    std::vector<std::string> exclude;
    int threads = 1;
    double max_drop = -1;
    std::string eval, eval_split = "test";
    int64_t eval_size = 0;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* c = app.add_subcommand("quantize", "Static int8 quantization to an ONNX QDQ model (calibrated)");
  c->add_option("model", o->model, "fp32 ONNX model with one float input")->required();
  c->add_option("-o,--output", o->out, "quantized .onnx file (QuantizeLinear/DequantizeLinear)")->required();
  c->add_option("--calib", o->calib,
                "calibration data: IDX dataset dir, image folder (one subfolder per class), inputs.npy + "
                "labels.npy, or a dir of .npy samples / one .npy");
  add_preprocess_option(c, o->preprocess);
  c->add_flag("--dynamic", o->dynamic,
              "dynamic quantization of MatMul/Gemm (int8 weights, activations at run time); no --calib");
  c->add_flag("--fp16", o->fp16, "store float weights as float16 (compute stays float32); no --calib");
  c->add_flag("--bf16", o->bf16, "store float weights as bfloat16 (compute stays float32); no --calib");
  c->add_option("--calib-size", o->calib_size, "use the first N samples (0 = all)")
      ->check(CLI::NonNegativeNumber);
  c->add_option("--calib-split", o->split, "split to calibrate on: train | test (IDX files, or DIR/<split>/)")
      ->check(CLI::IsMember({"train", "test"}));
  c->add_option("--method", o->method, "minmax | percentile | entropy | mse")
      ->check(CLI::IsMember({"minmax", "percentile", "entropy", "mse"}));
  c->add_option("--percentile", o->percentile, "percentile kept by --method percentile")
      ->check(CLI::Range(50.0, 100.0));
  auto* pc = c->add_flag("--per-channel", o->per_channel, "int8 weights per output channel (default)");
  c->add_flag("--per-tensor", o->per_tensor, "int8 weights with one scale per tensor")->excludes(pc);
  c->add_option("--exclude", o->exclude, "node names kept in float")->expected(1, -1);
  c->add_option("--report", o->report,
                "write the quantization report (JSON) here, and an SVG SQNR chart beside it");
  c->add_option("--chart", o->chart, "SVG chart path (default: the report path with .svg)");
  auto* md =
      c->add_option("--max-accuracy-drop", o->max_drop,
                    "mixed precision: keep the most sensitive layers float until the top-1 drop <= P points")
          ->check(CLI::Range(0.0, 100.0));
  c->add_option("--eval", o->eval, "labeled data for --max-accuracy-drop (IDX, image folder, .npy pair)")
      ->needs(md);
  md->needs("--eval");
  c->add_option("--eval-split", o->eval_split, "split to evaluate on: train | test")
      ->check(CLI::IsMember({"train", "test"}));
  c->add_option("--eval-size", o->eval_size, "evaluate on the first N samples (0 = all)")
      ->check(CLI::NonNegativeNumber);
  c->add_option("--batch", o->batch, "calibration batch size")->check(CLI::Range(1, 100000));
  c->add_option("--threads,-t", o->threads, "intra-op threads")->check(CLI::Range(1, 256));
  return [o]() -> int {
    auto model = onnx_io::load_model(o->model);
    if (!model.is_ok()) return report_error(model.status());
    const ir::Graph& g = model->graph;
    if (g.inputs.size() != 1)
      return report_error(Status::invalid_argument("quantize needs a model with exactly one input"));
    if (o->dynamic || o->fp16 || o->bf16) {
      quant::QuantizeOptions qo;
      qo.per_channel = !o->per_tensor;
      qo.exclude = o->exclude;
      auto q = o->dynamic ? quant::quantize_dynamic(*model, qo)
                          : quant::quantize_half(*model, o->fp16 ? DType::kFloat16 : DType::kBFloat16, qo);
      if (!q.is_ok()) return report_error(q.status());
      if (Status s = onnx_io::save_model(q->model, o->out); !s.is_ok()) return report_error(s);
      std::error_code ec;
      const auto before = std::filesystem::file_size(o->model, ec),
                 after = std::filesystem::file_size(o->out, ec);
      if (o->dynamic)
        fmt::print("method       dynamic ({} MatMul/Gemm nodes int8)\n", q->report.quantized_nodes.size());
      else
        fmt::print("method       {} weights ({} initializers)\n", q->report.method, q->report.tensors.size());
      for (const std::string& f : q->report.float_nodes) fmt::print("float        {}\n", f);
      fmt::print("size         {} -> {} bytes ({:.2f}x smaller)\nwrote        {}\n", before, after,
                 after > 0 ? static_cast<double>(before) / static_cast<double>(after) : 0.0, o->out);
      return 0;
    }
    if (o->calib.empty())
      return report_error(
          Status::invalid_argument("--calib is required (except with --dynamic, --fp16, --bf16)"));
    auto data = load_data(o->calib, o->split, o->calib_size, o->preprocess, g);
    if (!data.is_ok()) return report_error(data.status());
    fmt::print("calibration  {} ({})\n", o->calib, data->description);

    quant::QuantizeOptions qo;
    qo.calib.method = quant::parse_calib_method(o->method).value();
    qo.calib.percentile = o->percentile;
    qo.per_channel = !o->per_tensor;
    qo.exclude = o->exclude;
    qo.batch = o->batch;
    qo.threads = o->threads;
    Progress progress("calibrate", data->images.dim(0));
    qo.progress = [&](int64_t done, int64_t) { progress.update(done); };
    Result<quant::QuantizeResult> q = Status::internal("not run");
    if (o->max_drop >= 0) {
      auto ev = load_data(o->eval, o->eval_split, o->eval_size, o->preprocess, g);
      if (!ev.is_ok()) return report_error(ev.status());
      if (ev->labels.empty())
        return report_error(Status::invalid_argument(
            fmt::format("--eval '{}' ({}) has no class labels", o->eval, ev->description)));
      auto mp = quant::quantize_mixed_precision(*model, data->images, qo, ev->images, ev->labels, o->max_drop,
                                                [&, finished = false](const std::string& line) mutable {
                                                  if (!finished) progress.finish();
                                                  finished = true;
                                                  fmt::print("mixed        {}\n", line);
                                                });
      if (!mp.is_ok()) return report_error(mp.status());
      q = std::move(mp->quantized);
    } else {
      q = quant::quantize_static(*model, data->images, qo);
      progress.finish();
    }
    if (!q.is_ok()) return report_error(q.status());
    if (Status s = onnx_io::save_model(q->model, o->out); !s.is_ok()) return report_error(s);
    quant::QuantizeReport& rep = q->report;
    std::error_code ec;
    rep.size_fp32 = static_cast<int64_t>(std::filesystem::file_size(o->model, ec));
    rep.size_quantized = static_cast<int64_t>(std::filesystem::file_size(o->out, ec));
    fmt::print("method       {} ({})\n", rep.method,
               rep.per_channel ? "per-channel weights" : "per-tensor weights");
    fmt::print("quantized    {} nodes\n", rep.quantized_nodes.size());
    for (const std::string& f : rep.folded_activations) fmt::print("folded       {}\n", f);
    for (const std::string& f : rep.float_nodes) fmt::print("float        {}\n", f);
    double worst = 1e9;
    std::string worst_name;
    for (const auto& t : rep.tensors)
      if (t.kind == "activation" && t.sqnr_db < worst) {
        worst = t.sqnr_db;
        worst_name = t.tensor;
      }
    if (!worst_name.empty()) fmt::print("lowest SQNR  {:.1f} dB ({})\n", worst, worst_name);
    fmt::print("size         {} -> {} bytes ({:.2f}x smaller)\n", rep.size_fp32, rep.size_quantized,
               rep.size_quantized > 0
                   ? static_cast<double>(rep.size_fp32) / static_cast<double>(rep.size_quantized)
                   : 0.0);
    fmt::print("wrote        {}\n", o->out);
    if (!o->report.empty()) {
      if (Status s = write_text(o->report, quant::report_to_json(rep)); !s.is_ok()) return report_error(s);
      const std::string chart =
          o->chart.empty() ? std::filesystem::path(o->report).replace_extension(".svg").string() : o->chart;
      if (Status s = write_text(chart, quant::sqnr_chart_svg(rep)); !s.is_ok()) return report_error(s);
      fmt::print("report       {} (chart {})\n", o->report, chart);
    }
    return 0;
  };
}

}  // namespace verge::cli
