// Quantizer: calibrators on synthetic distributions with known answers, calibration-data loaders, the
// QDQ graph layout, and the quantized Fashion-MNIST CNN's accuracy on the real test split.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include "import/onnx/importer.h"
#include "io/dataset.h"
#include "io/idx.h"
#include "io/npy.h"
#include "op_test.h"
#include "quantize/calibrate.h"
#include "quantize/mixed_precision.h"
#include "quantize/quantize.h"
#include "verge_cli.h"

namespace verge::quant {
namespace {
namespace fs = std::filesystem;

const std::string kFashion = "/usr/share/datasets/fashion-mnist";

Range range_of(const std::vector<float>& v, CalibMethod m, double p = 99.999, int batches = 1) {
  TensorStats s;
  const size_t per = (v.size() + static_cast<size_t>(batches) - 1) / static_cast<size_t>(batches);
  for (size_t i = 0; i < v.size(); i += per)
    s.add(std::span<const float>(v).subspan(i, std::min(per, v.size() - i)));
  return compute_range(s, {m, p});
}

// Mean squared error of uint8 quantize/dequantize of v with range r.
double quant_mse(const std::vector<float>& v, Range r) {
  const QParams q = uint8_params(r);
  double e = 0;
  for (float x : v) {
    const float y = (std::clamp(std::nearbyint(x / q.scale) + static_cast<float>(q.zero_point), 0.f, 255.f) -
                     static_cast<float>(q.zero_point)) *
                    q.scale;
    e += (x - y) * (x - y);
  }
  return e / static_cast<double>(v.size());
}

TEST(Calibrate, MinMaxIsExactAcrossGrowingBatches) {
  // Later batches exceed the first batch's range on both sides: the histogram grows, min/max stay exact.
  std::vector<float> v;
  for (int i = 0; i < 1000; ++i) v.push_back(0.001f * static_cast<float>(i));  // [0, 0.999]
  for (int i = 0; i < 1000; ++i) v.push_back(-3.25f + 0.01f * static_cast<float>(i));
  v.push_back(17.5f);
  TensorStats s;
  s.add(std::span<const float>(v).subspan(0, 1000));
  s.add(std::span<const float>(v).subspan(1000));
  const Range r = compute_range(s, {CalibMethod::kMinMax});
  EXPECT_EQ(r.lo, -3.25f);
  EXPECT_EQ(r.hi, 17.5f);
  double mass = 0;
  for (double c : s.bins()) mass += c;
  EXPECT_EQ(mass, static_cast<double>(v.size()));
  EXPECT_EQ(s.count(), static_cast<int64_t>(v.size()));
  // Every value lies in its bin's interval: the histogram covers [min, max].
  EXPECT_LE(s.lo(), -3.25);
  EXPECT_GT(s.lo() + s.width() * static_cast<double>(s.bins().size()), 17.5);
}

TEST(Calibrate, MinMaxRangeAlwaysContainsZero) {
  const Range r = range_of({2.f, 3.f, 5.f}, CalibMethod::kMinMax);
  EXPECT_EQ(r.lo, 0.f);
  EXPECT_EQ(r.hi, 5.f);
  const Range n = range_of({-2.f, -1.f}, CalibMethod::kMinMax);
  EXPECT_EQ(n.lo, -2.f);
  EXPECT_EQ(n.hi, 0.f);
}

TEST(Calibrate, PercentileOnKnownDistributions) {
  // Uniform grid on [0, 1): the 99th percentile is 0.99 (one-sided: the whole 1 % comes off the top).
  std::vector<float> u;
  for (int i = 0; i < 200000; ++i) u.push_back(static_cast<float>(i) / 200000.f);
  std::shuffle(u.begin(), u.end(), std::mt19937(1));
  const Range r = range_of(u, CalibMethod::kPercentile, 99.0, 7);
  EXPECT_EQ(r.lo, 0.f);
  EXPECT_NEAR(r.hi, 0.99, 2e-3);
  // Two-sided uniform on [-1, 1): 98 % kept = 1 % off each tail.
  std::vector<float> s;
  for (int i = 0; i < 200000; ++i) s.push_back(-1.f + 2.f * static_cast<float>(i) / 200000.f);
  const Range r2 = range_of(s, CalibMethod::kPercentile, 98.0, 3);
  EXPECT_NEAR(r2.lo, -0.98, 2e-3);
  EXPECT_NEAR(r2.hi, 0.98, 2e-3);
}

TEST(Calibrate, PercentileClipsARareOutlier) {
  std::vector<float> v(100000);
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.f, 1.f);
  for (float& x : v) x = std::fabs(nd(rng));
  v[500] = 1000.f;
  const Range r = range_of(v, CalibMethod::kPercentile, 99.99, 4);
  EXPECT_GT(r.hi, 3.0f);  // |N(0,1)| 99.99th percentile is 3.89
  EXPECT_LT(r.hi, 5.0f);
}

TEST(Calibrate, EntropyClipsHeavyTailedOutliers) {
  // ReLU-like data (|N(0,1)|) with a few huge outliers: min/max would spend the whole uint8 range on them.
  std::vector<float> v(200000);
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0.f, 1.f);
  for (float& x : v) x = std::fabs(nd(rng));
  for (int i = 0; i < 5; ++i) v[static_cast<size_t>(i) * 997] = 200.f + static_cast<float>(i);
  const Range mm = range_of(v, CalibMethod::kMinMax);
  const Range kl = range_of(v, CalibMethod::kEntropy, 0, 5);
  EXPECT_EQ(mm.hi, 204.f);
  EXPECT_EQ(kl.lo, 0.f);
  EXPECT_GT(kl.hi, 2.0f);
  EXPECT_LT(kl.hi, 60.0f);
  // The clipped range quantizes the bulk of the data (everything but the outliers) far better.
  std::vector<float> bulk;
  for (float x : v)
    if (x < 100.f) bulk.push_back(x);
  EXPECT_LT(quant_mse(bulk, kl), 0.5 * quant_mse(bulk, mm));
}

TEST(Calibrate, EntropyKeepsTheFullRangeOfAUniformDistribution) {
  std::vector<float> u;
  for (int i = 0; i < 100000; ++i) u.push_back(static_cast<float>(i) / 100000.f);
  const Range r = range_of(u, CalibMethod::kEntropy);
  EXPECT_GT(r.hi, 0.95f);
}

TEST(Calibrate, MseFindsTheBestRangeByBruteForce) {
  std::vector<float> v(100000);
  std::mt19937 rng(5);
  std::normal_distribution<float> nd(0.f, 1.f);
  for (float& x : v) x = nd(rng);
  v[10] = 40.f;
  v[20] = -35.f;
  const Range mm = range_of(v, CalibMethod::kMinMax);
  const Range mse = range_of(v, CalibMethod::kMse, 0, 3);
  EXPECT_LT(mse.lo, 0.f);
  EXPECT_GT(mse.hi, 0.f);
  EXPECT_LT(mse.hi - mse.lo, mm.hi - mm.lo);
  // Brute force over scaled windows of the min/max range on the raw samples.
  double best = quant_mse(v, mm);
  for (int k = 5; k <= 100; ++k) {
    const float f = static_cast<float>(k) / 100.f;
    best = std::min(best, quant_mse(v, {f * mm.lo, f * mm.hi}));
  }
  EXPECT_LE(quant_mse(v, mse), 1.05 * best);
  EXPECT_LT(quant_mse(v, mse), quant_mse(v, mm));
}

TEST(Calibrate, QuantizationParameters) {
  QParams p = uint8_params({-1.f, 1.f});
  EXPECT_FLOAT_EQ(p.scale, 2.f / 255.f);
  EXPECT_NEAR(p.zero_point, 127.5, 0.5);  // -lo/scale = 127.5 up to float rounding of the scale
  p = uint8_params({0.f, 6.f});
  EXPECT_FLOAT_EQ(p.scale, 6.f / 255.f);
  EXPECT_EQ(p.zero_point, 0);
  p = uint8_params({0.f, 0.f});
  EXPECT_EQ(p.scale, 1.f);
  EXPECT_EQ(p.zero_point, 0);
  EXPECT_FLOAT_EQ(int8_symmetric_params(1.27f).scale, 0.01f);
  EXPECT_FALSE(parse_calib_method("kl").is_ok());
  EXPECT_EQ(*parse_calib_method("entropy"), CalibMethod::kEntropy);
}

// ---------------------------------------------------------------------------------------------------
// Calibration data.

IoInfo image_input() {
  IoInfo in;
  in.name = "image";
  in.has_shape = true;
  in.shape = {-1, 1, 28, 28};
  return in;
}

// The dataset loader as `verge quantize --calib` calls it for the Fashion-MNIST CNN's input.
Result<LabeledImages> load_calibration_data(const std::string& path, int64_t limit,
                                            const std::string& split = "train") {
  static const IoInfo input = image_input();
  return load_dataset(path, {.split = split, .limit = limit, .input = &input});
}

TEST(CalibData, NpyDirectoryOfBatchesAndSingleSamples) {
  const fs::path dir = fs::temp_directory_path() / fmt::format("verge_calib_{}", ::getpid());
  fs::create_directories(dir);
  std::vector<float> a(3 * 784, 0.25f), b(784, 0.5f);
  ASSERT_TRUE(write_npy(Tensor::from_vector<float>({3, 1, 28, 28}, a), (dir / "a.npy").string()).is_ok());
  ASSERT_TRUE(write_npy(Tensor::from_vector<float>({1, 28, 28}, b), (dir / "b.npy").string()).is_ok());
  auto d = load_calibration_data(dir.string(), 0);
  ASSERT_TRUE(d.is_ok()) << d.status().to_string();
  EXPECT_EQ(d->images.shape(), (Shape{4, 1, 28, 28}));
  EXPECT_EQ(d->images.data<float>()[3 * 784], 0.5f);
  auto first = load_calibration_data(dir.string(), 2);
  ASSERT_TRUE(first.is_ok());
  EXPECT_EQ(first->images.dim(0), 2);
  // A sample of the wrong rank is rejected with the file named.
  ASSERT_TRUE(
      write_npy(Tensor::from_vector<float>({28}, std::vector<float>(28)), (dir / "c.npy").string()).is_ok());
  auto bad = load_calibration_data(dir.string(), 0);
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("c.npy"), std::string::npos) << bad.status().to_string();
  fs::remove_all(dir);
}

TEST(CalibData, IdxDirectoryTakesTheFirstSamples) {
  auto d = load_calibration_data(test::test_data("fmnist-sample"), 16, "test");
  ASSERT_TRUE(d.is_ok()) << d.status().to_string();
  EXPECT_EQ(d->images.shape(), (Shape{16, 1, 28, 28}));
  EXPECT_EQ(d->labels.size(), 16u);
  auto ref = load_idx_dataset(test::test_data("fmnist-sample"), "test", 16);
  ASSERT_TRUE(ref.is_ok());
  EXPECT_TRUE(std::equal(d->labels.begin(), d->labels.end(), ref->labels.begin()));
}

// ---------------------------------------------------------------------------------------------------
// QDQ layout on the Fashion-MNIST CNN: Conv-Relu-MaxPool-Conv-Relu-MaxPool-Flatten-Gemm-Relu-Gemm.

struct Quantized {
  ir::Model model;
  QuantizeReport report;
};

Result<Quantized> quantize_fmnist(const QuantizeOptions& o, int64_t samples = 64) {
  VERGE_ASSIGN_OR_RETURN(ir::Model fp32, onnx_io::load_model(test::test_data("fmnist_cnn.onnx")));
  VERGE_ASSIGN_OR_RETURN(LabeledImages data,
                         load_calibration_data(test::test_data("fmnist-sample"), samples, "test"));
  VERGE_ASSIGN_OR_RETURN(QuantizeResult r, quantize_static(fp32, data.images, o));
  return Quantized{std::move(r.model), std::move(r.report)};
}

const ir::Node* producer(const ir::Graph& g, ir::ValueId v) {
  const ir::NodeId p = g.value(v).producer;
  return p >= 0 ? &g.nodes[static_cast<size_t>(p)] : nullptr;
}

TEST(QdqLayout, FashionMnistPerChannel) {
  auto q = quantize_fmnist({});
  ASSERT_TRUE(q.is_ok()) << q.status().to_string();
  const ir::Graph& g = q->model.graph;
  std::map<std::string, int> ops;
  for (const ir::Node& n : g.nodes) ops[n.op_type]++;
  EXPECT_EQ(ops["Relu"], 0) << "every Relu follows a quantized Conv/Gemm and is folded";
  EXPECT_EQ(q->report.folded_activations.size(), 3u);
  EXPECT_EQ(ops["Conv"], 2);
  EXPECT_EQ(ops["Gemm"], 2);
  std::set<ir::ValueId> biases;
  for (const ir::Node& n : g.nodes) {
    if (n.op != OpId::Conv && n.op != OpId::Gemm) continue;
    // Activation input: DequantizeLinear of a QuantizeLinear (uint8, per tensor).
    const ir::Node* dx = producer(g, n.input(0));
    ASSERT_TRUE(dx && dx->op == OpId::DequantizeLinear) << n.name;
    const ir::Node* qx = producer(g, dx->input(0));
    ASSERT_TRUE(qx && qx->op == OpId::QuantizeLinear) << n.name;
    EXPECT_EQ(g.value(dx->input(2)).constant->dtype(), DType::kUInt8);
    // Weight: int8 per output channel, zero points 0.
    const ir::Node* dw = producer(g, n.input(1));
    ASSERT_TRUE(dw && dw->op == OpId::DequantizeLinear) << n.name;
    const Tensor& w = *g.value(dw->input(0)).constant;
    EXPECT_EQ(w.dtype(), DType::kInt8);
    const int axis = static_cast<int>(dw->get_int("axis", 1));
    const int64_t channels = n.op == OpId::Conv ? w.dim(0) : (n.get_int("transB", 0) ? w.dim(0) : w.dim(1));
    EXPECT_EQ(axis, n.op == OpId::Conv ? 0 : (n.get_int("transB", 0) ? 0 : 1)) << n.name;
    const Tensor& sw = *g.value(dw->input(1)).constant;
    ASSERT_EQ(sw.numel(), channels) << n.name;
    for (int64_t i = 0; i < w.numel(); ++i) ASSERT_GE(w.data<int8_t>()[i], -127);
    // Bias: its own int32 tensor, scale = s_x * s_w per channel.
    const ir::Node* db = producer(g, n.input(2));
    ASSERT_TRUE(db && db->op == OpId::DequantizeLinear) << n.name;
    EXPECT_TRUE(biases.insert(db->input(0)).second) << "bias tensor shared";
    EXPECT_EQ(g.value(db->input(0)).constant->dtype(), DType::kInt32);
    const float sx = g.value(dx->input(1)).constant->data<float>()[0];
    const Tensor& sb = *g.value(db->input(1)).constant;
    ASSERT_EQ(sb.numel(), channels);
    for (int64_t c = 0; c < channels; ++c) EXPECT_EQ(sb.data<float>()[c], sx * sw.data<float>()[c]);
    // Output: QuantizeLinear right after (Relu folded into it when there was one).
    bool has_q = false;
    for (const ir::Node& m : g.nodes)
      for (ir::ValueId in : m.inputs) has_q = has_q || (in == n.output(0) && m.op == OpId::QuantizeLinear);
    EXPECT_TRUE(has_q) << n.name;
  }
  // Pools and Flatten keep their input's parameters (MaxPool -> Q with the same scale).
  for (const ir::Node& n : g.nodes) {
    if (n.op != OpId::MaxPool && n.op != OpId::Flatten) continue;
    const ir::Node* din = producer(g, n.input(0));
    ASSERT_TRUE(din && din->op == OpId::DequantizeLinear) << n.name;
    for (const ir::Node& m : g.nodes)
      if (m.op == OpId::QuantizeLinear && m.input(0) == n.output(0)) {
        EXPECT_EQ(m.input(1), din->input(1)) << n.name << ": output does not share its input's scale";
      }
  }
  // The graph output keeps its name and is the last DequantizeLinear.
  ASSERT_EQ(g.outputs.size(), 1u);
  EXPECT_EQ(g.value(g.outputs[0]).name, "logits");
  EXPECT_EQ(producer(g, g.outputs[0])->op, OpId::DequantizeLinear);
  // Size: int8 weights make it well over 3.5x smaller.
  EXPECT_GT(static_cast<double>(q->report.size_fp32) / static_cast<double>(q->report.size_quantized), 3.5);
  // Every activation has an SQNR measured on the calibration data.
  for (const TensorQuantInfo& t : q->report.tensors) {
    if (t.kind == "activation") {
      EXPECT_GT(t.sqnr_db, 10.0) << t.tensor;
    }
    if (t.kind == "weight") {
      EXPECT_GT(t.sqnr_db, 30.0) << t.tensor;
    }
  }
  auto j = nlohmann::json::parse(report_to_json(q->report));
  EXPECT_EQ(j["method"], "minmax");
  EXPECT_GT(j["tensors"].size(), 8u);
  EXPECT_NE(sqnr_chart_svg(q->report).find("<svg"), std::string::npos);
}

TEST(QdqLayout, PerTensorAndExclude) {
  QuantizeOptions o;
  o.per_channel = false;
  auto q = quantize_fmnist(o, 16);
  ASSERT_TRUE(q.is_ok()) << q.status().to_string();
  for (const ir::Node& n : q->model.graph.nodes)
    if (n.op == OpId::DequantizeLinear && q->model.graph.value(n.input(0)).constant) {
      EXPECT_EQ(q->model.graph.value(n.input(1)).constant->numel(), 1) << n.name;
    }

  auto fp32 = onnx_io::load_model(test::test_data("fmnist_cnn.onnx"));
  ASSERT_TRUE(fp32.is_ok());
  std::string first_conv;
  for (const ir::Node& n : fp32->graph.nodes)
    if (n.op == OpId::Conv && first_conv.empty()) first_conv = n.name;
  QuantizeOptions ex;
  ex.exclude = {first_conv};
  auto e = quantize_fmnist(ex, 16);
  ASSERT_TRUE(e.is_ok()) << e.status().to_string();
  const ir::Graph& g = e->model.graph;
  for (const ir::Node& n : g.nodes) {
    if (n.name != first_conv) continue;
    EXPECT_TRUE(g.is_constant(n.input(1))) << "excluded conv must keep its float weight";
    EXPECT_EQ(g.value(n.input(1)).constant->dtype(), DType::kFloat32);
    EXPECT_EQ(n.input(0), g.inputs[0]) << "excluded conv reads the float input";
  }
  ASSERT_EQ(e->report.float_nodes.size(), 1u);
  QuantizeOptions unknown;
  unknown.exclude = {"no_such_node"};
  auto u = quantize_fmnist(unknown, 4);
  ASSERT_FALSE(u.is_ok());
  EXPECT_NE(u.status().message().find("no_such_node"), std::string::npos);
}

TEST(QdqLayout, ReluBeforeAnExcludedConsumerStaysANode) {
  // f2 is kept float: it reads the float output of Relu_2, so that Relu cannot be folded into a Q.
  QuantizeOptions o;
  o.exclude = {"/f2/Gemm"};
  auto q = quantize_fmnist(o, 16);
  ASSERT_TRUE(q.is_ok()) << q.status().to_string();
  const ir::Graph& g = q->model.graph;
  int relus = 0;
  for (const ir::Node& n : g.nodes) {
    if (n.op == OpId::Relu) ++relus;
    if (n.name == "/f2/Gemm") {
      const ir::Node* p = producer(g, n.input(0));
      ASSERT_NE(p, nullptr);
      EXPECT_EQ(p->op, OpId::Relu);
      EXPECT_EQ(g.value(n.input(1)).constant->dtype(), DType::kFloat32);
    }
  }
  EXPECT_EQ(relus, 1);
  EXPECT_EQ(q->report.folded_activations.size(), 2u);
}

TEST(Dynamic, GemmsBecomeMatMulIntegerWithRuntimeActivationQuantization) {
  auto fp32 = onnx_io::load_model(test::test_data("fmnist_cnn.onnx"));
  ASSERT_TRUE(fp32.is_ok());
  auto q = quantize_dynamic(*fp32, {});
  ASSERT_TRUE(q.is_ok()) << q.status().to_string();
  const ir::Graph& g = q->model.graph;
  std::map<std::string, int> ops;
  for (const ir::Node& n : g.nodes) ops[n.op_type]++;
  EXPECT_EQ(ops["Gemm"], 0);
  EXPECT_EQ(ops["MatMulInteger"], 2);
  EXPECT_EQ(ops["DynamicQuantizeLinear"], 2);
  EXPECT_EQ(ops["Conv"], 2);
  for (const ir::Node& n : g.nodes) {
    if (n.op != OpId::MatMulInteger) continue;
    const Tensor& w = *g.value(n.input(1)).constant;
    EXPECT_EQ(w.dtype(), DType::kInt8);
    EXPECT_EQ(g.value(n.input(3)).constant->numel(), w.dim(1)) << "per-column zero points";
  }
  auto eval = load_calibration_data(test::test_data("fmnist-sample"), 0, "test");
  ASSERT_TRUE(eval.is_ok());
  auto base = top1_accuracy(*fp32, eval->images, eval->labels);
  auto acc = top1_accuracy(q->model, eval->images, eval->labels);
  ASSERT_TRUE(base.is_ok() && acc.is_ok());
  EXPECT_GE(*acc, *base - 0.005);
  EXPECT_GT(static_cast<double>(q->report.size_fp32) / static_cast<double>(q->report.size_quantized), 3.0);
}

TEST(HalfWeights, Float16AndBFloat16StorageWithCastToFloat) {
  auto fp32 = onnx_io::load_model(test::test_data("fmnist_cnn.onnx"));
  ASSERT_TRUE(fp32.is_ok());
  auto eval = load_calibration_data(test::test_data("fmnist-sample"), 0, "test");
  ASSERT_TRUE(eval.is_ok());
  auto base = top1_accuracy(*fp32, eval->images, eval->labels);
  ASSERT_TRUE(base.is_ok());
  for (DType storage : {DType::kFloat16, DType::kBFloat16}) {
    auto q = quantize_half(*fp32, storage, {});
    ASSERT_TRUE(q.is_ok()) << q.status().to_string();
    const ir::Graph& g = q->model.graph;
    int casts = 0;
    for (const ir::Node& n : g.nodes) {
      if (n.op != OpId::Cast) continue;
      ++casts;
      EXPECT_EQ(g.value(n.input(0)).constant->dtype(), storage);
    }
    EXPECT_EQ(casts, 7);  // 4 weights + the 3 biases with >= 16 values (f2's 10-value bias stays float32)
    EXPECT_GT(static_cast<double>(q->report.size_fp32) / static_cast<double>(q->report.size_quantized), 1.9);
    auto acc = top1_accuracy(q->model, eval->images, eval->labels);
    ASSERT_TRUE(acc.is_ok());
    EXPECT_GE(*acc, *base - 0.005) << dtype_name(storage);
  }
}

TEST(MixedPrecision, KeepsSensitiveLayersFloatUntilTheDropFits) {
  auto fp32 = onnx_io::load_model(test::test_data("fmnist_cnn.onnx"));
  ASSERT_TRUE(fp32.is_ok());
  auto calib = load_calibration_data(test::test_data("fmnist-sample"), 64, "test");
  auto eval = load_calibration_data(test::test_data("fmnist-sample"), 0, "test");
  ASSERT_TRUE(calib.is_ok() && eval.is_ok());
  QuantizeOptions o;
  o.calib.method = CalibMethod::kEntropy;
  std::vector<std::string> log;
  auto r = quantize_mixed_precision(*fp32, calib->images, o, eval->images, eval->labels, 0.0,
                                    [&](const std::string& s) { log.push_back(s); });
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  auto fp = top1_accuracy(*fp32, eval->images, eval->labels);
  ASSERT_TRUE(fp.is_ok());
  EXPECT_EQ(r->fp32_top1, *fp);
  auto final_acc = top1_accuracy(r->quantized.model, eval->images, eval->labels);
  ASSERT_TRUE(final_acc.is_ok());
  EXPECT_EQ(*final_acc, r->final_top1);
  EXPECT_GE(r->final_top1, r->full_int8_top1);
  auto j = nlohmann::json::parse(r->quantized.report.mixed_precision);
  EXPECT_EQ(j["fp32_top1"], r->fp32_top1);
  const bool met = j["met"];
  EXPECT_EQ(met, r->fp32_top1 - r->final_top1 <= 1e-12);
  if (r->full_int8_top1 < r->fp32_top1) {
    ASSERT_EQ(r->layers.size(), 4u);  // every quantized Conv/Gemm was measured
    for (size_t i = 1; i < r->layers.size(); ++i)
      EXPECT_GE(r->layers[i - 1].sqnr_gain_db, r->layers[i].sqnr_gain_db);
  }
  // Layers kept float are float in the model: their weight is still a float32 initializer.
  for (const LayerSensitivity& l : r->layers) {
    for (const ir::Node& n : r->quantized.model.graph.nodes)
      if (n.name == l.node) {
        EXPECT_EQ(r->quantized.model.graph.is_constant(n.input(1)), l.kept_float) << l.node;
      }
  }
  EXPECT_FALSE(log.empty());
}

// `verge quantize` end to end on the bundled 1,000 test images: writes the model, the JSON report and the
// SVG chart; `verge eval --json` scores the result.

TEST(QuantizeCli, WritesModelReportAndChart) {
  const fs::path dir = fs::temp_directory_path() / fmt::format("verge_qcli_{}", ::getpid());
  fs::create_directories(dir);
  const std::string data = test::test_data("fmnist-sample");
  const std::string out = (dir / "q.onnx").string(), report = (dir / "q.json").string();
  auto [code, text] =
      test::verge_cli(fmt::format("quantize {} -o {} --calib {} --calib-split test --calib-size 100 --method "
                                  "percentile --report {}",
                                  test::test_data("fmnist_cnn.onnx"), out, data, report));
  ASSERT_EQ(code, 0) << text;
  EXPECT_NE(text.find("100 samples"), std::string::npos) << text;
  ASSERT_TRUE(fs::exists(out) && fs::exists(report) && fs::exists(dir / "q.svg"));
  std::ifstream f(report);
  auto j = nlohmann::json::parse(f);
  EXPECT_EQ(j["method"], "percentile");
  EXPECT_EQ(j["calibration_samples"], 100);
  EXPECT_EQ(j["size_quantized"], static_cast<int64_t>(fs::file_size(out)));
  EXPECT_GT(j["compression"].get<double>(), 3.5);
  auto [ecode, eval] = test::verge_cli(fmt::format("eval {} --data {} --json", out, data));
  ASSERT_EQ(ecode, 0) << eval;
  auto last = eval.substr(eval.rfind('{'));
  auto e = nlohmann::json::parse(last);
  EXPECT_EQ(e["samples"], 1000);
  EXPECT_GT(e["top1"].get<double>(), 0.85);
  // Usage errors: unknown method, --max-accuracy-drop without --eval, an unknown --exclude node.
  EXPECT_NE(test::verge_cli(fmt::format("quantize {} -o {} --calib {} --method kl",
                                        test::test_data("fmnist_cnn.onnx"), out, data))
                .first,
            0);
  EXPECT_NE(test::verge_cli(fmt::format("quantize {} -o {} --calib {} --max-accuracy-drop 1",
                                        test::test_data("fmnist_cnn.onnx"), out, data))
                .first,
            0);
  auto [xcode, xtext] =
      test::verge_cli(fmt::format("quantize {} -o {} --calib {} --calib-split test --exclude nope",
                                  test::test_data("fmnist_cnn.onnx"), out, data));
  EXPECT_NE(xcode, 0);
  EXPECT_NE(xtext.find("nope"), std::string::npos) << xtext;
  fs::remove_all(dir);
}

// The int8 model's logits on 64 real images are identical with the best kernels, the kernels capped to
// AVX2 (VERGE_MAX_ISA, read once per process: each run is its own `verge` process) and the reference
// kernels: every int8 variant is bit-exact on a whole model.
TEST(QuantizeCli, Int8LogitsIdenticalAcrossIsas) {
  const fs::path dir = fs::temp_directory_path() / fmt::format("verge_qisa_{}", ::getpid());
  fs::create_directories(dir);
  const std::string data = test::test_data("fmnist-sample"), model = (dir / "q.onnx").string();
  auto [code, text] =
      test::verge_cli(fmt::format("quantize {} -o {} --calib {} --calib-split test --calib-size 100",
                                  test::test_data("fmnist_cnn.onnx"), model, data));
  ASSERT_EQ(code, 0) << text;
  auto ds = load_idx_dataset(data, "test", 64);
  ASSERT_TRUE(ds.is_ok()) << ds.status().to_string();
  const std::string images = (dir / "x.npy").string();
  ASSERT_TRUE(write_npy(ds->images, images).is_ok());
  auto logits = [&](const std::string& name, const char* max_isa, const char* kernels) {
    if (max_isa) ::setenv("VERGE_MAX_ISA", max_isa, 1);
    auto [rc, out] = test::verge_cli(fmt::format("run {} --input image={} --kernels {} --output-dir {}",
                                                 model, images, kernels, (dir / name).string()));
    ::unsetenv("VERGE_MAX_ISA");
    EXPECT_EQ(rc, 0) << out;
    std::vector<Tensor> outs;
    for (const auto& e : fs::directory_iterator(dir / name))
      outs.push_back(read_npy(e.path().string()).value());
    EXPECT_EQ(outs.size(), 1u);
    return outs.empty() ? Tensor() : std::move(outs[0]);
  };
  const Tensor best = logits("best", nullptr, "best"), avx2 = logits("avx2", "avx2", "best"),
               ref = logits("ref", nullptr, "reference");
  ASSERT_EQ(best.numel(), 64 * 10);
  ASSERT_EQ(avx2.shape(), best.shape());
  ASSERT_EQ(ref.shape(), best.shape());
  EXPECT_EQ(std::memcmp(best.raw(), ref.raw(), best.nbytes()), 0);
  EXPECT_EQ(std::memcmp(avx2.raw(), ref.raw(), best.nbytes()), 0);
  fs::remove_all(dir);
}

// ---------------------------------------------------------------------------------------------------
// The bar of issue #5: 512 train images calibrate; test top-1 within 0.3 pt of fp32 (0.9074); >= 3.5x
// smaller.

double top1(const ir::Model& model, const LabeledImages& ds) {
  auto bytes = onnx_io::save_model_to_bytes(model);
  EXPECT_TRUE(bytes.is_ok());
  auto s = Session::load_from_memory(*bytes, {});
  EXPECT_TRUE(s.is_ok()) << s.status().to_string();
  if (!s.is_ok()) return 0;
  const int64_t n = ds.images.dim(0), batch = 500;
  int64_t correct = 0;
  for (int64_t b = 0; b < n; b += batch) {
    Tensor x = Tensor::wrap(DType::kFloat32, {batch, 1, 28, 28}, ds.images.data<float>() + b * 784);
    auto out = (*s)->run({x});
    EXPECT_TRUE(out.is_ok()) << out.status().to_string();
    if (!out.is_ok()) return 0;
    const float* logits = (*out)[0].data<float>();
    for (int64_t i = 0; i < batch; ++i) {
      const float* row = logits + i * 10;
      correct += std::max_element(row, row + 10) - row == ds.labels[static_cast<size_t>(b + i)];
    }
  }
  return static_cast<double>(correct) / static_cast<double>(n);
}

class FashionMnistQuantized : public ::testing::TestWithParam<CalibMethod> {};

TEST_P(FashionMnistQuantized, TestAccuracyWithinBar) {
  ASSERT_TRUE(fs::exists(kFashion)) << kFashion
                                    << " is missing: install dataset-fashion-mnist (scripts/test.sh does)";
  auto fp32 = onnx_io::load_model(test::test_data("fmnist_cnn.onnx"));
  ASSERT_TRUE(fp32.is_ok());
  auto calib = load_calibration_data(kFashion, 512, "train");
  ASSERT_TRUE(calib.is_ok()) << calib.status().to_string();
  QuantizeOptions o;
  o.calib.method = GetParam();
  o.report_sqnr = false;
  auto q = quantize_static(*fp32, calib->images, o);
  ASSERT_TRUE(q.is_ok()) << q.status().to_string();
  auto test = load_idx_dataset(kFashion, "test");
  ASSERT_TRUE(test.is_ok());
  const double base = top1(*fp32, *test), acc = top1(q->model, *test);
  EXPECT_DOUBLE_EQ(base, 0.9074);
  EXPECT_GE(acc, base - 0.003) << calib_method_name(GetParam()) << ": fp32 " << base << ", int8 " << acc;
  EXPECT_GE(static_cast<double>(q->report.size_fp32) / static_cast<double>(q->report.size_quantized), 3.5);
  std::printf("%s: fp32 top-1 %.4f, int8 %.4f, %lld -> %lld bytes\n",
              std::string(calib_method_name(GetParam())).c_str(), base, acc,
              static_cast<long long>(q->report.size_fp32), static_cast<long long>(q->report.size_quantized));
}

INSTANTIATE_TEST_SUITE_P(Methods, FashionMnistQuantized,
                         ::testing::Values(CalibMethod::kMinMax, CalibMethod::kPercentile,
                                           CalibMethod::kEntropy, CalibMethod::kMse),
                         [](const auto& info) { return std::string(calib_method_name(info.param)); });

}  // namespace
}  // namespace verge::quant
