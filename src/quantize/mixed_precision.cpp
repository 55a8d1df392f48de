#include "quantize/mixed_precision.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>

#include "import/onnx/importer.h"
#include "verge/session.h"

namespace verge::quant {

Result<double> top1_accuracy(const ir::Model& model, const Tensor& samples,
                             const std::vector<int64_t>& labels, int64_t batch, int threads) {
  if (samples.dtype() != DType::kFloat32 || samples.rank() < 1 ||
      static_cast<size_t>(samples.dim(0)) != labels.size())
    return Status::invalid_argument("evaluation data must be float32 [N, ...] with N labels");
  VERGE_ASSIGN_OR_RETURN(std::string bytes, onnx_io::save_model_to_bytes(model));
  SessionOptions so;
  so.threads = threads;
  VERGE_ASSIGN_OR_RETURN(auto session, Session::load_from_memory(bytes, so));
  const IoInfo& in = session->inputs()[0];
  const bool fixed = in.has_shape && !in.shape.empty() && in.shape[0] > 0;
  if (fixed) batch = in.shape[0];
  const int64_t n = samples.dim(0), per = n > 0 ? samples.numel() / n : 0;
  int64_t correct = 0, seen = 0;
  for (int64_t b = 0; b < n; b += batch) {
    const int64_t take = std::min(batch, n - b);
    if (fixed && take < batch) break;  // a fixed batch dimension: the remainder is not scored
    Shape s = samples.shape();
    s[0] = take;
    VERGE_ASSIGN_OR_RETURN(auto out,
                           session->run({Tensor::wrap(DType::kFloat32, s, samples.data<float>() + b * per)}));
    const Tensor& logits = out[0];
    if (logits.rank() != 2 || logits.dim(0) != take)
      return Status::invalid_argument(
          fmt::format("output has shape {}; expected [batch, classes]", shape_to_string(logits.shape())));
    const int64_t classes = logits.dim(1);
    for (int64_t i = 0; i < take; ++i) {
      int64_t best = 0;
      for (int64_t k = 1; k < classes; ++k)
        if (logits.get_as_double(i * classes + k) > logits.get_as_double(i * classes + best)) best = k;
      correct += best == labels[static_cast<size_t>(b + i)];
    }
    seen += take;
  }
  return seen > 0 ? static_cast<double>(correct) / static_cast<double>(seen) : 0.0;
}

Result<MixedPrecisionResult> quantize_mixed_precision(const ir::Model& fp32, const Tensor& calibration,
                                                      const QuantizeOptions& options,
                                                      const Tensor& eval_samples,
                                                      const std::vector<int64_t>& eval_labels,
                                                      double max_drop_points,
                                                      const std::function<void(const std::string&)>& log) {
  auto say = [&](const std::string& s) {
    if (log) log(s);
  };
  std::map<std::string, TensorStats> cache;
  QuantizeOptions o = options;
  o.stats_cache = &cache;
  o.report_sqnr = true;
  MixedPrecisionResult r;
  VERGE_ASSIGN_OR_RETURN(r.fp32_top1, top1_accuracy(fp32, eval_samples, eval_labels, 100, o.threads));
  VERGE_ASSIGN_OR_RETURN(QuantizeResult full, quantize_static(fp32, calibration, o));
  VERGE_ASSIGN_OR_RETURN(r.full_int8_top1,
                         top1_accuracy(full.model, eval_samples, eval_labels, 100, o.threads));
  const double budget = max_drop_points / 100.0 + 1e-12;
  say(fmt::format("fp32 top-1 {:.4f}; all layers int8 {:.4f} (drop {:.2f} pt, allowed {:.2f})", r.fp32_top1,
                  r.full_int8_top1, 100 * (r.fp32_top1 - r.full_int8_top1), max_drop_points));
  r.final_top1 = r.full_int8_top1;
  r.quantized = std::move(full);
  o.progress = nullptr;
  if (r.fp32_top1 - r.full_int8_top1 > budget) {
    const double base_sqnr = r.quantized.report.output_sqnr_db;
    for (const std::string& layer : r.quantized.report.candidate_layers) {
      QuantizeOptions one = o;
      one.exclude.push_back(layer);
      VERGE_ASSIGN_OR_RETURN(QuantizeResult q, quantize_static(fp32, calibration, one));
      r.layers.push_back({layer, q.report.output_sqnr_db - base_sqnr, false, 0});
      say(fmt::format("sensitivity {}: output SQNR {:+.2f} dB when float", layer,
                      r.layers.back().sqnr_gain_db));
    }
    std::stable_sort(
        r.layers.begin(), r.layers.end(),
        [](const LayerSensitivity& a, const LayerSensitivity& b) { return a.sqnr_gain_db > b.sqnr_gain_db; });
    // Greedy: keep a layer float only when that raises top-1; stop as soon as the drop is within budget.
    QuantizeOptions step = o;
    for (LayerSensitivity& l : r.layers) {
      if (r.fp32_top1 - r.final_top1 <= budget) break;
      QuantizeOptions trial = step;
      trial.exclude.push_back(l.node);
      VERGE_ASSIGN_OR_RETURN(QuantizeResult q, quantize_static(fp32, calibration, trial));
      VERGE_ASSIGN_OR_RETURN(double acc, top1_accuracy(q.model, eval_samples, eval_labels, 100, o.threads));
      l.top1_after = acc;
      l.tried = true;
      if (acc <= r.final_top1) {
        say(fmt::format("{} float: top-1 {:.4f}, no better than {:.4f}; stays int8", l.node, acc,
                        r.final_top1));
        continue;
      }
      l.kept_float = true;
      step = trial;
      r.final_top1 = acc;
      r.quantized = std::move(q);
      say(fmt::format("keep {} float: top-1 {:.4f} (drop {:.2f} pt)", l.node, acc,
                      100 * (r.fp32_top1 - acc)));
    }
  }
  nlohmann::json layers = nlohmann::json::array();
  for (const LayerSensitivity& l : r.layers) {
    nlohmann::json j = {{"node", l.node}, {"sqnr_gain_db", l.sqnr_gain_db}, {"kept_float", l.kept_float}};
    if (l.tried) j["top1_with_it_float"] = l.top1_after;
    if (l.kept_float) {
      j["reason"] = fmt::format(
          "most sensitive remaining layer (output SQNR {:+.2f} dB when float) while the drop "
          "exceeded {:.2f} pt",
          l.sqnr_gain_db, max_drop_points);
    }
    layers.push_back(j);
  }
  nlohmann::json mp = {{"max_drop_pt", max_drop_points},
                       {"fp32_top1", r.fp32_top1},
                       {"all_int8_top1", r.full_int8_top1},
                       {"final_top1", r.final_top1},
                       {"final_drop_pt", 100 * (r.fp32_top1 - r.final_top1)},
                       {"met", r.fp32_top1 - r.final_top1 <= budget},
                       {"layers", layers}};
  r.quantized.report.mixed_precision = mp.dump();
  for (const LayerSensitivity& l : r.layers)
    if (l.kept_float)
      for (std::string& f : r.quantized.report.float_nodes)
        if (f.find("'" + l.node + "'") != std::string::npos)
          f = fmt::format("'{}': kept float for accuracy (output SQNR {:+.2f} dB when float)", l.node,
                          l.sqnr_gain_db);
  return r;
}

}  // namespace verge::quant
