#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

#include "quantize/quantize.h"

namespace verge::quant {

std::string report_to_json(const QuantizeReport& r) {
  nlohmann::json tensors = nlohmann::json::array();
  for (const TensorQuantInfo& t : r.tensors) {
    tensors.push_back({{"tensor", t.tensor},
                       {"kind", t.kind},
                       {"node", t.node},
                       {"dtype", t.dtype},
                       {"axis", t.axis},
                       {"range", {t.range_lo, t.range_hi}},
                       {"scale", t.scales},
                       {"zero_point", t.zero_points},
                       {"sqnr_db", t.sqnr_db}});
  }
  nlohmann::json j = {
      {"method", r.method},
      {"per_channel", r.per_channel},
      {"calibration_samples", r.calibration_samples},
      {"size_fp32", r.size_fp32},
      {"size_quantized", r.size_quantized},
      {"compression",
       r.size_quantized > 0 ? static_cast<double>(r.size_fp32) / static_cast<double>(r.size_quantized) : 0.0},
      {"quantized_nodes", r.quantized_nodes},
      {"float_nodes", r.float_nodes},
      {"folded_activations", r.folded_activations},
      {"tensors", tensors}};
  if (!r.mixed_precision.empty()) j["mixed_precision"] = nlohmann::json::parse(r.mixed_precision);
  return j.dump(1);
}

namespace {
std::string xml_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '&':
        o += "&amp;";
        break;
      case '"':
        o += "&quot;";
        break;
      default:
        o += c;
    }
  }
  return o;
}
}  // namespace

std::string sqnr_chart_svg(const QuantizeReport& r) {
  // One horizontal bar per activation and weight, SQNR in dB (longer = less quantization noise).
  std::vector<const TensorQuantInfo*> rows;
  for (const TensorQuantInfo& t : r.tensors)
    if (t.kind == "activation" || t.kind == "weight") rows.push_back(&t);
  constexpr int kRow = 18, kLabel = 330, kBar = 420, kTop = 46;
  double max_db = 10;
  for (const auto* t : rows) max_db = std::max(max_db, std::min(t->sqnr_db, 120.0));
  max_db = std::ceil(max_db / 10) * 10;
  const int height = kTop + kRow * static_cast<int>(rows.size()) + 30;
  const int width = kLabel + kBar + 70;
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" font-family=\"sans-serif\" "
      "font-size=\"11\">\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"8\" y=\"18\" font-size=\"14\" font-weight=\"bold\">Per-tensor SQNR (dB) vs fp32 — {} "
      "calibration, "
      "{} samples; {} → {} bytes</text>\n",
      width, height, xml_escape(r.method), r.calibration_samples, r.size_fp32, r.size_quantized);
  for (int tick = 0; tick <= static_cast<int>(max_db); tick += 10) {
    const double x = kLabel + kBar * tick / max_db;
    s += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"#ddd\"/>"
        "<text x=\"{0:.1f}\" y=\"{3}\" text-anchor=\"middle\" fill=\"#666\">{4}</text>\n",
        x, kTop - 6, height - 24, height - 10, tick);
  }
  for (size_t i = 0; i < rows.size(); ++i) {
    const TensorQuantInfo& t = *rows[i];
    const int y = kTop + kRow * static_cast<int>(i);
    const double w = kBar * std::clamp(t.sqnr_db, 0.0, max_db) / max_db;
    const char* color = t.kind == "weight" ? "#7a9cc6" : (t.sqnr_db < 20 ? "#d9534f" : "#5cb85c");
    s += fmt::format(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{} ({})</text>"
        "<rect x=\"{}\" y=\"{}\" width=\"{:.1f}\" height=\"{}\" fill=\"{}\"/>"
        "<text x=\"{:.1f}\" y=\"{}\">{:.1f}</text>\n",
        kLabel - 6, y + 12, xml_escape(t.tensor), t.kind, kLabel, y + 2, w, kRow - 4, color, kLabel + w + 4,
        y + 12, t.sqnr_db);
  }
  // Mixed precision: per-layer sensitivity (output SQNR gain when the layer is float), kept-float layers red.
  if (!r.mixed_precision.empty()) {
    const auto mp = nlohmann::json::parse(r.mixed_precision, nullptr, false);
    if (mp.is_object() && mp.contains("layers") && !mp["layers"].empty()) {
      double max_gain = 1;
      for (const auto& l : mp["layers"])
        max_gain = std::max(max_gain, std::fabs(l.value("sqnr_gain_db", 0.0)));
      int y = height + 10;
      std::string part = fmt::format(
          "<text x=\"8\" y=\"{}\" font-size=\"14\" font-weight=\"bold\">Layer sensitivity: output SQNR gain "
          "(dB) when "
          "kept float — red = kept float (top-1 {:.4f} vs fp32 {:.4f})</text>\n",
          y + 14, mp.value("final_top1", 0.0), mp.value("fp32_top1", 0.0));
      y += 26;
      for (const auto& l : mp["layers"]) {
        const double gain = l.value("sqnr_gain_db", 0.0);
        const double w = kBar * std::fabs(gain) / max_gain;
        part += fmt::format(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text><rect x=\"{}\" y=\"{}\" width=\"{:.1f}\" "
            "height=\"{}\" fill=\"{}\"/><text x=\"{:.1f}\" y=\"{}\">{:+.2f}</text>\n",
            kLabel - 6, y + 12, xml_escape(l.value("node", std::string())), kLabel, y + 2, w, kRow - 4,
            l.value("kept_float", false) ? "#d9534f" : "#999", kLabel + w + 4, y + 12, gain);
        y += kRow;
      }
      // Grow the canvas to fit the second chart.
      const std::string old_h = fmt::format("height=\"{}\"", height);
      s.replace(s.find(old_h), old_h.size(), fmt::format("height=\"{}\"", y + 10));
      s += part;
    }
  }
  s += "</svg>\n";
  return s;
}

}  // namespace verge::quant
