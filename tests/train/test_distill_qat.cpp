// Distillation (loss, gradient, teacher in the runtime, end to end) and quantization-aware training
// (fake quantization bit for bit against the quantizer and the runtime's Q/DQ, straight-through
// gradients, the exported QDQ model).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>

#include "graph_builder.h"
#include "import/onnx/importer.h"
#include "io/idx.h"
#include "op_test.h"
#include "sample_data.h"
#include "train/distill.h"
#include "train/fake_quant.h"
#include "train/network.h"
#include "train/qat.h"
#include "verge/session.h"
#include "verge_cli.h"

namespace verge {
namespace {

using train::Buf;

using test::sample_images;  // sample_data.h
using test::slice;

Buf<double> random_buf(Shape s, uint32_t seed, double scale) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> nd(0.0, scale);
  Buf<double> b;
  b.resize(std::move(s));
  for (double& v : b.v) v = nd(rng);
  return b;
}

// ---- distillation loss ----

// Central differences of the loss in double against its analytic gradient (h = 1e-6: truncation error
// O(h^2) ~ 1e-12, cancellation ~ 1e-16/h ~ 1e-10 relative to the loss of order 1).
void check_distill_gradient(double temperature, double alpha, std::vector<int64_t> labels) {
  const auto n = static_cast<int64_t>(labels.size());
  Buf<double> s = random_buf({n, 7}, 1, 2.0), t = random_buf({n, 7}, 2, 3.0), d;
  ASSERT_TRUE(train::distillation_loss(s, t, labels, temperature, alpha, &d).is_ok());
  const double h = 1e-6;
  for (int64_t i = 0; i < s.numel(); ++i) {
    Buf<double> sp = s, sm = s;
    sp.v[i] += h;
    sm.v[i] -= h;
    const double numeric =
        (train::distillation_loss<double>(sp, t, labels, temperature, alpha, nullptr).value() -
         train::distillation_loss<double>(sm, t, labels, temperature, alpha, nullptr).value()) /
        (2 * h);
    EXPECT_NEAR(d.v[i], numeric, 1e-7 * (1 + std::fabs(numeric))) << "element " << i;
  }
}

TEST(Distill, KlGradientMatchesFiniteDifferences) {
  check_distill_gradient(4.0, 0.7, {3, -1, 0, -1, 6});  // mixed batch
  check_distill_gradient(4.0, 1.0, {-1, -1, -1});       // soft targets only
  check_distill_gradient(1.0, 0.5, {1, 2});             // every row labeled, T = 1
  check_distill_gradient(10.0, 0.3, {-1, -1, 5, -1});
}

TEST(Distill, LossTermsAreTheDocumentedAverages) {
  Buf<double> s = random_buf({4, 5}, 3, 1.5), t = random_buf({4, 5}, 4, 1.5);
  const std::vector<int64_t> labels = {2, -1, -1, 4}, all = {2, 0, 1, 4};
  // alpha = 0: cross-entropy averaged over the labeled rows only.
  Buf<double> s_lab;
  s_lab.resize({2, 5});
  std::memcpy(s_lab.data(), s.data(), 5 * sizeof(double));
  std::memcpy(s_lab.data() + 5, s.data() + 15, 5 * sizeof(double));
  const std::vector<int64_t> lab = {2, 4};
  EXPECT_NEAR(train::distillation_loss<double>(s, t, labels, 4.0, 0.0, nullptr).value(),
              train::softmax_cross_entropy<double>(s_lab, lab, nullptr).value(), 1e-12);
  // The student equal to the teacher: the KL term is 0 whatever T.
  EXPECT_NEAR(train::distillation_loss<double>(t, t, std::vector<int64_t>(4, -1), 3.0, 1.0, nullptr).value(),
              0.0, 1e-12);
  // alpha = 1, T = 1, one-hot-like teacher: KL equals cross-entropy against the teacher's argmax minus the
  // teacher's (tiny) entropy.
  Buf<double> hard = t;
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t k = 0; k < 5; ++k)
      hard.v[static_cast<size_t>(i * 5 + k)] = k == all[static_cast<size_t>(i)] ? 60 : 0;
  EXPECT_NEAR(
      train::distillation_loss<double>(s, hard, std::vector<int64_t>(4, -1), 1.0, 1.0, nullptr).value(),
      train::softmax_cross_entropy<double>(s, all, nullptr).value(), 1e-9);
  // Errors.
  EXPECT_FALSE(train::distillation_loss<double>(s, t, labels, 0.0, 0.5, nullptr).is_ok());
  EXPECT_FALSE(train::distillation_loss<double>(s, t, labels, 2.0, 1.5, nullptr).is_ok());
  EXPECT_FALSE(train::distillation_loss<double>(s, t, std::vector<int64_t>{1, 2}, 2.0, 0.5, nullptr).is_ok());
  EXPECT_FALSE(
      train::distillation_loss<double>(s, t, std::vector<int64_t>{1, 2, 3, 9}, 2.0, 0.5, nullptr).is_ok());
}

// A trained CNN (0.907 test top-1) teaches the untrained tiny student on 800 images of which only the
// first 100 are labeled; the same student trained on those 100 labeled images alone does worse on 200
// held-out images.
TEST(Distill, SoftTargetsOnUnlabeledImagesBeatFewLabelsAlone) {
  const LabeledImages all = sample_images();
  const LabeledImages train_set = slice(all, 0, 800), held_out = slice(all, 800, 1000);
  auto teacher = Session::load(test::test_data("fmnist_cnn.onnx"), {.threads = 2});
  ASSERT_TRUE(teacher.is_ok());
  auto logits = train::run_teacher(**teacher, train_set.images, 96);  // 800 = 8*96 + 32: a partial batch
  ASSERT_TRUE(logits.is_ok()) << logits.status().to_string();
  ASSERT_EQ(logits->shape, (Shape{800, 10}));
  int64_t teacher_correct = 0;
  for (int64_t i = 0; i < 800; ++i) {
    const float* z = logits->data() + i * 10;
    teacher_correct += std::max_element(z, z + 10) - z == train_set.labels[static_cast<size_t>(i)];
  }
  EXPECT_GT(teacher_correct, 640);  // the teacher's logits are its real predictions

  train::DistillOptions o;
  o.train.epochs = 4;
  o.train.batch_size = 32;
  o.train.seed = 3;
  o.train.threads = 2;
  o.train.optimizer.kind = "adam";
  o.train.optimizer.lr = 3e-3f;
  o.labeled = 100;
  auto student = onnx_io::load_model(test::test_data("fmnist_student_init.onnx")).value();
  auto alone = student;
  auto stats = train::distill_classifier(student, *logits, train_set, o);
  ASSERT_TRUE(stats.is_ok()) << stats.status().to_string();
  EXPECT_LT(stats->back().loss, stats->front().loss);
  train::TrainOptions t = o.train;
  t.epochs = 4 * 8;  // the same number of steps on the 100 labeled images
  ASSERT_TRUE(train::train_classifier(alone, slice(train_set, 0, 100), t).is_ok());
  const double distilled = train::evaluate_classifier(student, held_out).value().accuracy;
  const double labels_only = train::evaluate_classifier(alone, held_out).value().accuracy;
  EXPECT_GT(distilled, labels_only + 0.03) << "distilled " << distilled << " vs labels only " << labels_only;
}

using test::last_json;  // verge_cli.h
using test::verge_cli;

TEST(Distill, CliDistillsAndTrainLabeledUsesTheFirstSamples) {
  const auto dir = std::filesystem::temp_directory_path();
  const std::string out = (dir / "verge_distill_cli_test.onnx").string();
  const std::string data = test::test_data("fmnist-sample");
  auto [code, text] = verge_cli("distill --teacher " + test::test_data("fmnist_cnn.onnx") + " --student " +
                                test::test_data("fmnist_student_init.onnx") + " --data " + data +
                                " --split test --labeled 100 --epochs 1 --temperature 4 --alpha 0.7 "
                                "--optimizer adam --lr 0.003 --threads 2 --json -o " +
                                out);
  ASSERT_EQ(code, 0) << text;
  EXPECT_EQ(last_json(text)["epochs"][0]["samples"].get<int64_t>(), 1000);
  auto [ecode, etext] = verge_cli("eval " + out + " --data " + data + " --json");
  ASSERT_EQ(ecode, 0) << etext;
  EXPECT_GT(last_json(etext)["top1"].get<double>(), 0.3) << etext;
  auto [tcode, ttext] = verge_cli("train " + test::test_data("fmnist_student_init.onnx") + " --data " + data +
                                  " --split test --labeled 100 --epochs 1 --json -o " + out);
  ASSERT_EQ(tcode, 0) << ttext;
  EXPECT_EQ(last_json(ttext)["epochs"][0]["samples"].get<int64_t>(), 100);
  auto [bad, btext] = verge_cli("distill --teacher " + test::test_data("fmnist_cnn.onnx") + " --student " +
                                test::test_data("fmnist_student_init.onnx") + " --data " + data +
                                " --split test --temperature 0 -o " + out);
  EXPECT_NE(bad, 0) << btext;
  std::filesystem::remove(out);
}

// ---- fake quantization ----

// x -> QuantizeLinear(scale, zp) -> DequantizeLinear -> y as an ONNX model.
ir::Model qdq_model(float scale, uint8_t zp) {
  test::GraphBuilder b;
  const std::string x = b.input("x", {-1, 64});
  const std::string s = b.constant("s", Tensor::scalar<float>(scale));
  const std::string z = b.constant("z", Tensor::scalar<uint8_t>(zp));
  const std::string q = b.node("QuantizeLinear", {x, s, z});
  const std::string y = b.node("DequantizeLinear", {q, s, z});
  b.output(y, {-1, 64});
  return onnx_io::load_model_from_bytes(b.bytes(), "qdq", "").value();
}

TEST(FakeQuant, ForwardIsTheRuntimesQuantizeDequantizeBitForBit) {
  const float scale = 0.0371f;
  const uint8_t zp = 37;
  ir::Model m = qdq_model(scale, zp);
  auto net = train::Network<float>::create(m, {}).value();
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-3.f, 10.f);  // beyond both ends of [-1.37, 8.09]
  Buf<float> x;
  x.resize({32, 64});
  for (float& v : x.v) v = u(rng);
  for (int k = 0; k < 64; ++k)
    x.v[static_cast<size_t>(k)] = (static_cast<float>(k) - 40.f + 0.5f) * scale;  // ties
  ASSERT_TRUE(net->forward(std::span<const Buf<float>>(&x, 1)).is_ok());
  Tensor xt = Tensor::wrap(DType::kFloat32, {32, 64}, x.data());
  for (bool reference : {true, false}) {
    SessionOptions so;
    so.reference_kernels = reference;
    so.optimization = reference ? OptLevel::kNone : OptLevel::kAll;
    auto s = Session::load_from_memory(onnx_io::save_model_to_bytes(m).value(), so);
    ASSERT_TRUE(s.is_ok()) << s.status().to_string();
    auto out = (*s)->run({xt});
    ASSERT_TRUE(out.is_ok());
    const float* y = (*out)[0].data<float>();
    for (int64_t i = 0; i < x.numel(); ++i)
      ASSERT_EQ(std::memcmp(&y[i], &net->output(0).v[static_cast<size_t>(i)], sizeof(float)), 0)
          << "x " << x.v[static_cast<size_t>(i)] << ": runtime " << y[i] << ", training "
          << net->output(0).v[static_cast<size_t>(i)];
  }
}

TEST(FakeQuant, StraightThroughGradientInsideTheClippingRange) {
  const float scale = 0.05f;
  const uint8_t zp = 100;  // range [-5, 7.75]
  ir::Model m = qdq_model(scale, zp);
  auto net = train::Network<double>::create(m, {.input_grads = true}).value();
  Buf<double> x = random_buf({4, 64}, 9, 5.0), dy = random_buf({4, 64}, 10, 1.0);
  ASSERT_TRUE(net->forward(std::span<const Buf<double>>(&x, 1)).is_ok());
  ASSERT_TRUE(net->backward(std::span<const Buf<double>>(&dy, 1)).is_ok());
  int inside = 0, outside = 0;
  for (int64_t i = 0; i < x.numel(); ++i) {
    const double q = std::nearbyint(static_cast<double>(static_cast<float>(x.v[i]) / scale)) + zp;
    const bool in = q >= 0 && q <= 255;
    inside += in;
    outside += !in;
    EXPECT_NEAR(net->input_grad(0).v[i], in ? dy.v[i] : 0.0, 1e-12) << "x " << x.v[i];
  }
  EXPECT_GT(inside, 20);
  EXPECT_GT(outside, 20);
}

// The network's weights after fake quantization are exactly what `verge quantize`'s QDQ model
// dequantizes (int8 weights, int32 biases), and the export of an untrained QAT graph is the
// post-training model.
TEST(Qat, FakeQuantizedParametersAreThoseOfThePostTrainingModel) {
  auto fp32 = onnx_io::load_model(test::test_data("fmnist_cnn.onnx")).value();
  const LabeledImages calib = slice(sample_images(), 0, 128);
  quant::QuantizeOptions qo;
  qo.report_sqnr = false;
  auto g = train::build_qat_graph(fp32, calib.images, qo);
  ASSERT_TRUE(g.is_ok()) << g.status().to_string();
  EXPECT_EQ(g->params.size(), 8u);  // 4 weights + 4 biases
  auto ptq = quant::quantize_static(fp32, calib.images, qo).value();
  auto net = train::Network<float>::create(g->train_model, {}).value();
  ASSERT_EQ(net->num_params(), 8u);
  train::WeightFakeQuantizer fq(*g);
  const std::vector<float> first = net->param(0).v;
  ASSERT_TRUE(fq.quantize(*net).is_ok());
  auto ptq_session = Session::load_from_memory(onnx_io::save_model_to_bytes(ptq.model).value(),
                                               {.reference_kernels = true, .optimization = OptLevel::kNone});
  ASSERT_TRUE(ptq_session.is_ok());
  for (size_t i = 0; i < net->num_params(); ++i) {
    // The DequantizeLinear of this parameter in the post-training model, evaluated by hand from its
    // int8/int32 data and scales with the runtime's formula.
    const std::string& name = net->param_name(i);
    const ir::Graph& pg = ptq.model.graph;
    const ir::Node* dq = nullptr;
    for (const ir::Node& n : pg.nodes)
      if (n.op == OpId::DequantizeLinear && pg.value(n.input(0)).name.rfind(name + "_", 0) == 0) dq = &n;
    ASSERT_NE(dq, nullptr) << name;
    const Tensor& q = *pg.value(dq->input(0)).constant;
    const Tensor& s = *pg.value(dq->input(1)).constant;
    const Buf<float>& w = net->param(i);
    ASSERT_EQ(q.numel(), w.numel()) << name;
    const int64_t inner = s.numel() == 1 ? q.numel() : q.numel() / s.numel();
    for (int64_t k = 0; k < q.numel(); ++k) {
      const float expected =
          static_cast<float>(static_cast<int64_t>(q.get_as_double(k))) * s.data<float>()[k / inner];
      ASSERT_EQ(std::memcmp(&expected, &w.v[static_cast<size_t>(k)], sizeof(float)), 0)
          << name << "[" << k << "]: quantizer " << expected << ", fake-quantized "
          << w.v[static_cast<size_t>(k)];
    }
  }
  ASSERT_TRUE(fq.restore(*net).is_ok());
  EXPECT_EQ(net->param(0).v, first);  // the float master weights are back

  // Export without training gives the post-training model's quantized tensors.
  auto exported = train::export_qat(*g, g->train_model, calib.images, qo);
  ASSERT_TRUE(exported.is_ok()) << exported.status().to_string();
  ASSERT_EQ(exported->report.tensors.size(), ptq.report.tensors.size());
  for (size_t i = 0; i < ptq.report.tensors.size(); ++i) {
    EXPECT_EQ(exported->report.tensors[i].tensor, ptq.report.tensors[i].tensor);
    EXPECT_EQ(exported->report.tensors[i].scales, ptq.report.tensors[i].scales)
        << ptq.report.tensors[i].tensor;
    EXPECT_EQ(exported->report.tensors[i].zero_points, ptq.report.tensors[i].zero_points);
  }
}

// One short QAT epoch: the training forward (fake-quantized) agrees with the exported QDQ model run by the
// runtime, the exported model loads and classifies, and the CLI writes a file `verge eval` accepts.
// How many of `data`'s images the model classifies right when the runtime (fast int8 path) runs it.
int runtime_correct(const ir::Model& model, const LabeledImages& data) {
  auto s = Session::load_from_memory(onnx_io::save_model_to_bytes(model).value(), {});
  EXPECT_TRUE(s.is_ok()) << s.status().to_string();
  if (!s.is_ok()) return -1;
  auto out = (*s)->run({data.images});
  EXPECT_TRUE(out.is_ok());
  if (!out.is_ok()) return -1;
  int correct = 0;
  for (int64_t i = 0; i < data.images.dim(0); ++i) {
    const float* z = (*out)[0].data<float>() + i * 10;
    correct += std::max_element(z, z + 10) - z == data.labels[static_cast<size_t>(i)];
  }
  return correct;
}

TEST(Qat, ExportedQdqModelComputesWhatTrainingSaw) {
  auto fp32 = onnx_io::load_model(test::test_data("fmnist_cnn.onnx")).value();
  const LabeledImages all = sample_images();
  const LabeledImages train_set = slice(all, 0, 600), held_out = slice(all, 600, 1000);
  train::QatOptions o;
  o.train.epochs = 1;
  o.train.batch_size = 32;
  o.train.threads = 2;
  o.train.optimizer.kind = "adam";
  o.train.optimizer.lr = 1e-5f;
  o.quant.report_sqnr = false;
  auto r = train::quantization_aware_training(fp32, train_set, slice(all, 0, 256).images, o);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  ASSERT_EQ(r->epochs.size(), 1u);

  // The training forward (fake-quantized parameters, Q/DQ activations) vs the exported QDQ model in the
  // runtime, for the QAT graph of the same model.
  auto g = train::build_qat_graph(fp32, slice(all, 0, 256).images, o.quant).value();
  const ir::Model& trained = g.train_model;
  auto exported = train::export_qat(g, trained, slice(all, 0, 256).images, o.quant).value();
  auto net = train::Network<float>::create(trained, {}).value();
  train::WeightFakeQuantizer fq(g);
  ASSERT_TRUE(fq.quantize(*net).is_ok());
  const LabeledImages probe = slice(held_out, 0, 64);
  Buf<float> x;
  x.shape = probe.images.shape();
  x.v.assign(probe.images.data<float>(), probe.images.data<float>() + probe.images.numel());
  ASSERT_TRUE(net->forward(std::span<const Buf<float>>(&x, 1)).is_ok());
  auto s = Session::load_from_memory(onnx_io::save_model_to_bytes(exported.model).value(),
                                     {.reference_kernels = true, .optimization = OptLevel::kNone});
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  auto out = (*s)->run({probe.images});
  ASSERT_TRUE(out.is_ok());
  const Tensor& y = (*out)[0];
  ASSERT_EQ(y.shape(), net->output(0).shape);
  // Float convolutions summed in a different order can move a value across a rounding boundary of the
  // next quantizer, so single logits may differ by a few quantization steps; predictions must agree.
  int agree = 0;
  double max_abs = 0, max_diff = 0;
  for (int64_t i = 0; i < 64; ++i) {
    const float* a = y.data<float>() + i * 10;
    const float* b = net->output(0).data() + i * 10;
    agree += std::max_element(a, a + 10) - a == std::max_element(b, b + 10) - b;
    for (int k = 0; k < 10; ++k) {
      max_abs = std::max(max_abs, static_cast<double>(std::fabs(a[k])));
      max_diff = std::max(max_diff, static_cast<double>(std::fabs(a[k] - b[k])));
    }
  }
  EXPECT_GE(agree, 63);
  EXPECT_LT(max_diff, 0.02 * max_abs) << "max |logit| " << max_abs;

  // The QAT result classifies held-out images in the runtime (fast int8 path) as well as it trained.
  const int correct = runtime_correct(r->quantized.model, held_out);
  EXPECT_GT(correct, 340) << "of 400";  // fp32 model: ~0.9
}

// Self-distillation from the float model: with alpha = 1 the loss is the KL divergence from the fp32
// model's predictions, which the fake-quantized copy of that model nearly matches (cross-entropy against
// the labels of the same images is an order of magnitude larger); the export still classifies.
TEST(Qat, SelfDistillationLearnsFromTheFloatModel) {
  auto fp32 = onnx_io::load_model(test::test_data("fmnist_cnn.onnx")).value();
  const LabeledImages all = sample_images();
  const LabeledImages train_set = slice(all, 0, 600), held_out = slice(all, 600, 1000);
  auto teacher = Session::load(test::test_data("fmnist_cnn.onnx"), {.threads = 2});
  ASSERT_TRUE(teacher.is_ok());
  auto logits = train::run_teacher(**teacher, train_set.images);
  ASSERT_TRUE(logits.is_ok()) << logits.status().to_string();
  train::QatOptions o;
  o.train.batch_size = 32;
  o.train.threads = 2;
  o.train.optimizer.kind = "adam";
  o.train.optimizer.lr = 1e-5f;
  o.train.schedule = {.kind = "cosine", .per_step = true};
  o.quant.report_sqnr = false;
  const Tensor calib = slice(all, 0, 256).images;
  auto ce = train::quantization_aware_training(fp32, train_set, calib, o);
  ASSERT_TRUE(ce.is_ok()) << ce.status().to_string();
  o.teacher_logits = &*logits;
  o.alpha = 1;
  o.temperature = 1;
  auto kd = train::quantization_aware_training(fp32, train_set, calib, o);
  ASSERT_TRUE(kd.is_ok()) << kd.status().to_string();
  EXPECT_GT(ce->epochs[0].loss, 0.1);
  EXPECT_LT(kd->epochs[0].loss, 0.1 * ce->epochs[0].loss);

  const int correct = runtime_correct(kd->quantized.model, held_out);
  EXPECT_GT(correct, 340) << "of 400";

  const Buf<float> short_logits = train::run_teacher(**teacher, slice(all, 0, 100).images).value();
  o.teacher_logits = &short_logits;  // 100 rows for 600 samples
  EXPECT_EQ(train::quantization_aware_training(fp32, train_set, calib, o).status().code(),
            StatusCode::kInvalidArgument);
  o.teacher_logits = &*logits;
  o.train.augment.flip = true;  // the teacher saw the unaugmented images
  EXPECT_EQ(train::quantization_aware_training(fp32, train_set, calib, o).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(Qat, CliWritesAModelEvalLoads) {
  const std::string out = (std::filesystem::temp_directory_path() / "verge_qat_cli_test.onnx").string();
  const std::string data = test::test_data("fmnist-sample");
  auto [code, text] = verge_cli("qat " + test::test_data("fmnist_cnn.onnx") + " --data " + data +
                                " --split test --calib-size 128 --threads 2 --json -o " + out);
  ASSERT_EQ(code, 0) << text;
  EXPECT_EQ(last_json(text)["epochs"][0]["samples"].get<int64_t>(), 1000);
  auto [ecode, etext] = verge_cli("eval " + out + " --data " + data + " --json");
  ASSERT_EQ(ecode, 0) << etext;
  EXPECT_GT(last_json(etext)["top1"].get<double>(), 0.85) << etext;
  auto m = onnx_io::load_model(out).value();
  int q = 0;
  for (const ir::Node& n : m.graph.nodes) q += n.op == OpId::QuantizeLinear;
  EXPECT_GE(q, 4);
  std::filesystem::remove(out);
}

// The self-distillation and per-step schedule flags reach the run: a teacher is run only with alpha > 0,
// and the epoch's reported rate is that of its first step (lr / warmup).
TEST(Qat, CliSelfDistillationAndPerStepScheduleFlags) {
  const std::string out = (std::filesystem::temp_directory_path() / "verge_qat_kd_cli_test.onnx").string();
  const std::string model = test::test_data("fmnist_cnn.onnx");
  const std::string common = "qat " + model + " --data " + test::test_data("fmnist-sample") +
                             " --split test --calib-size 128 --threads 2 --lr 0.00002 --json -o " + out;
  auto [code, text] = verge_cli(common + " --teacher " + model +
                                " --alpha 0.5 --temperature 2 --lr-schedule cosine --lr-per-step --warmup 4");
  ASSERT_EQ(code, 0) << text;
  EXPECT_NE(text.find("teacher      " + model), std::string::npos) << text;
  EXPECT_FLOAT_EQ(last_json(text)["epochs"][0]["lr"].get<float>(), 0.00002f / 4);
  auto [ecode, etext] = verge_cli("eval " + out + " --data " + test::test_data("fmnist-sample") + " --json");
  ASSERT_EQ(ecode, 0) << etext;
  EXPECT_GT(last_json(etext)["top1"].get<double>(), 0.85) << etext;
  auto [ccode, ctext] = verge_cli(common + " --alpha 0 --lr-schedule cosine --lr-per-epoch");
  ASSERT_EQ(ccode, 0) << ctext;
  EXPECT_EQ(ctext.find("teacher"), std::string::npos) << ctext;
  EXPECT_FLOAT_EQ(last_json(ctext)["epochs"][0]["lr"].get<float>(), 0.00002f);
  for (const std::string& bad : std::vector<std::string>{" --alpha 1.5", " --temperature 0", " --warmup -1",
                                                         " --alpha 0.5 --teacher /nonexistent.onnx",
                                                         " --alpha 0 --teacher " + model}) {
    auto [bcode, btext] = verge_cli(common + bad);
    EXPECT_NE(bcode, 0) << bad << ": " << btext;
  }
  std::filesystem::remove(out);
}

}  // namespace
}  // namespace verge
