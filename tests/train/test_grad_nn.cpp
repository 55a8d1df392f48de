// Backward rules of grad_ops_nn.cpp (normalization, dropout, pooling, activations, tensor ops) against
// central finite differences in double, plus the state they keep (BatchNormalization running statistics,
// Dropout masks) and a small Conv-BN-ReLU network trained on Fashion-MNIST images.
//
// Tolerance as in test_grad.cpp: h = 1e-6 in double gives truncation error ~h^2*|f'''| (~1e-12) and
// rounding error ~1e-16*|L|/h (~1e-9 for |L| < 10), so |analytic - numeric| <= 1e-6*(1+|numeric|) keeps
// three orders of margin and still catches a wrong term (O(0.1)). Inputs are continuous random values
// (fixed seeds), so no sample lies within h of a kink (LeakyRelu at 0, Clip bounds, HardSigmoid/HardSwish
// corners); Dropout repeats one mask across the evaluations (Network::reseed).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "core/thread_pool.h"
#include "grad_check.h"
#include "graph_builder.h"
#include "import/onnx/importer.h"
#include "io/idx.h"
#include "op_test.h"
#include "train/inference_form.h"
#include "train/network.h"
#include "train/optimizer.h"
#include "train/trainer.h"
#include "verge/session.h"

namespace verge {
namespace {

using test::GraphBuilder;
using test::OpTest;
using namespace test;  // grad_check.h
using test::check_grads;
using train::Buf;
using train::Network;

void check_grads(const OpTest& op, const std::vector<Tensor>& inputs, bool training = true,
                 uint32_t seed = 7) {
  check_grads(op.model_bytes(), inputs, training, seed);
}

// The error of creating the training network for `bytes` and running it forward on `x`.
Status create_error(const std::string& bytes, const Tensor& x) {
  auto model = onnx_io::load_model_from_bytes(bytes, "error", "");
  if (!model.is_ok()) return model.status();
  auto net = Network<float>::create(*model, {});
  if (!net.is_ok()) return net.status();
  Buf<float> xb;
  xb.shape = x.shape();
  xb.v.assign(x.data<float>(), x.data<float>() + x.numel());
  return (*net)->forward(std::span<const Buf<float>>(&xb, 1));
}

// ---- BatchNormalization ----

OpTest batchnorm(const Tensor& x, const Tensor& scale, const Tensor& bias, const Tensor& mean,
                 const Tensor& var) {
  return OpTest("BatchNormalization")
      .input("X", x)
      .input("scale", scale)
      .input("B", bias)
      .input("mean", mean)
      .input("var", var)
      .attr("epsilon", 1e-3f)
      .output("Y", zeros(x.shape()));
}

TEST(TrainGradNn, BatchNormTrainingAllInputs) {
  Tensor x = rnd({3, 4, 3, 2}, 201), s = rnd({4}, 202), b = rnd({4}, 203), m = rnd({4}, 204),
         v = rnd({4}, 205, 0.5f, 1.5f);
  check_grads(batchnorm(x, s, b, m, v), {x, s, b, m, v}, /*training=*/true);
}

TEST(TrainGradNn, BatchNormEvaluationAllInputs) {
  Tensor x = rnd({2, 3, 4}, 206), s = rnd({3}, 207), b = rnd({3}, 208), m = rnd({3}, 209),
         v = rnd({3}, 210, 0.5f, 1.5f);
  check_grads(batchnorm(x, s, b, m, v), {x, s, b, m, v}, /*training=*/false);
}

// Constant scale/bias are parameters, constant mean/var are state: one training forward moves them to
// momentum * old + (1 - momentum) * batch statistic (biased variance), evaluation leaves them alone and
// normalizes with them.
TEST(TrainGradNn, BatchNormRunningStatistics) {
  Tensor x = rnd({4, 2, 3, 3}, 211, -2.f, 3.f), mean = rnd({2}, 212), var = rnd({2}, 213, 0.5f, 1.5f);
  const float momentum = 0.8f;
  auto model = onnx_io::load_model_from_bytes(OpTest("BatchNormalization")
                                                  .input("X", x)
                                                  .constant_input("scale", rnd({2}, 214))
                                                  .constant_input("B", rnd({2}, 215))
                                                  .constant_input("mean", mean)
                                                  .constant_input("var", var)
                                                  .attr("momentum", momentum)
                                                  .output("Y", zeros(x.shape()))
                                                  .model_bytes(),
                                              "bn", "");
  ASSERT_TRUE(model.is_ok());
  auto net = Network<double>::create(*model, {}).value();
  ASSERT_EQ(net->num_params(), 2u);
  ASSERT_EQ(net->num_state(), 2u);
  Buf<double> xb = to_buf(x);
  ASSERT_TRUE(net->forward(std::span<const Buf<double>>(&xb, 1)).is_ok());
  for (int64_t c = 0; c < 2; ++c) {
    double sum = 0, sq = 0;
    for (int64_t n = 0; n < 4; ++n)
      for (int64_t i = 0; i < 9; ++i) sum += xb.v[static_cast<size_t>((n * 2 + c) * 9 + i)];
    const double m = sum / 36;
    for (int64_t n = 0; n < 4; ++n)
      for (int64_t i = 0; i < 9; ++i) sq += std::pow(xb.v[static_cast<size_t>((n * 2 + c) * 9 + i)] - m, 2);
    EXPECT_NEAR(net->state(0).v[static_cast<size_t>(c)],
                momentum * mean.data<float>()[c] + (1 - momentum) * m, 1e-6);
    EXPECT_NEAR(net->state(1).v[static_cast<size_t>(c)],
                momentum * var.data<float>()[c] + (1 - momentum) * sq / 36, 1e-6);
  }
  // Written back with the parameters; the inference runtime then computes what evaluation mode computes.
  ASSERT_TRUE(net->store_params(*model).is_ok());
  const std::vector<double> running_mean = net->state(0).v;
  net->set_training(false);
  ASSERT_TRUE(net->forward(std::span<const Buf<double>>(&xb, 1)).is_ok());
  EXPECT_EQ(net->state(0).v, running_mean);
  auto session = Session::load_from_memory(onnx_io::save_model_to_bytes(*model).value(), {.threads = 1});
  ASSERT_TRUE(session.is_ok()) << session.status().to_string();
  auto out = (*session)->run({x});
  ASSERT_TRUE(out.is_ok());
  for (int64_t i = 0; i < x.numel(); ++i)
    EXPECT_NEAR((*out)[0].data<float>()[i], net->output(0).v[static_cast<size_t>(i)], 1e-4);
}

// A model exported for training at opset 15 (BatchNormalization training_mode=1 with its running-stat
// outputs, Dropout with training_mode=true): after training, the saved model's BatchNormalization uses
// the running statistics and Dropout passes through, in the inference runtime too.
TEST(TrainGradNn, TrainingModeModelIsSavedInInferenceForm) {
  GraphBuilder b(15);
  const std::string x = b.input("x", {-1, 3, 4, 4});
  const std::string bn =
      b.node("BatchNormalization",
             {x, b.constant("g", rnd({3}, 270, 0.5f, 1.5f)), b.constant("b", rnd({3}, 271)),
              b.constant("m", zeros({3})), b.constant("v", rnd({3}, 272, 1.f, 1.f))},
             {{"training_mode", int64_t{1}}}, 3);
  Tensor on = Tensor::allocate(DType::kBool, {}).value();
  on.data<bool>()[0] = true;
  const std::string y = b.node(
      "Dropout", {bn, b.constant("ratio", Tensor::from_vector<float>({}, {0.5f})), b.constant("on", on)});
  b.output(y, {-1, 3, 4, 4});
  auto model = onnx_io::load_model_from_bytes(b.bytes(), "bn15", "");
  ASSERT_TRUE(model.is_ok()) << model.status().to_string();
  auto net = Network<float>::create(*model, {}).value();
  Tensor xt = rnd({5, 3, 4, 4}, 273, -1.f, 3.f);
  Buf<float> xb;
  xb.shape = xt.shape();
  xb.v.assign(xt.data<float>(), xt.data<float>() + xt.numel());
  ASSERT_TRUE(net->forward(std::span<const Buf<float>>(&xb, 1)).is_ok());  // training: stats move
  ASSERT_TRUE(net->store_params(*model).is_ok());
  EXPECT_EQ(train::to_inference_form(*model).size(), 2u);
  net->set_training(false);
  ASSERT_TRUE(net->forward(std::span<const Buf<float>>(&xb, 1)).is_ok());
  auto session = Session::load_from_memory(onnx_io::save_model_to_bytes(*model).value(), {.threads = 1});
  ASSERT_TRUE(session.is_ok()) << session.status().to_string();
  auto out = (*session)->run({xt});
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  for (int64_t i = 0; i < xt.numel(); ++i)
    EXPECT_NEAR((*out)[0].data<float>()[i], net->output(0).v[static_cast<size_t>(i)], 1e-4) << i;
}

// ---- Dropout ----

TEST(TrainGradNn, DropoutTrainingMaskAndGradient) {
  Tensor x = rnd({4, 50}, 216, 0.5f, 1.5f);
  const float ratio = 0.3f;
  OpTest op = OpTest("Dropout")
                  .input("X", x)
                  .constant_input("ratio", Tensor::from_vector<float>({}, {ratio}))
                  .output("Y", zeros(x.shape()));
  check_grads(op, {x}, /*training=*/true);
  auto model = onnx_io::load_model_from_bytes(op.model_bytes(), "dropout", "");
  ASSERT_TRUE(model.is_ok());
  auto net = Network<double>::create(*model, {.seed = 3}).value();
  Buf<double> xb = to_buf(x);
  ASSERT_TRUE(net->forward(std::span<const Buf<double>>(&xb, 1)).is_ok());
  const std::vector<double> first = net->output(0).v;
  int64_t dropped = 0;
  for (size_t i = 0; i < first.size(); ++i) {
    if (first[i] == 0)
      ++dropped;
    else
      EXPECT_NEAR(first[i], xb.v[i] / (1 - ratio), 1e-12);
  }
  // 200 Bernoulli(0.3) draws: mean 60, standard deviation 6.5.
  EXPECT_GT(dropped, 30);
  EXPECT_LT(dropped, 90);
  ASSERT_TRUE(net->forward(std::span<const Buf<double>>(&xb, 1)).is_ok());
  EXPECT_NE(net->output(0).v, first) << "every step must draw a new mask";
  net->reseed(3);
  ASSERT_TRUE(net->forward(std::span<const Buf<double>>(&xb, 1)).is_ok());
  EXPECT_EQ(net->output(0).v, first) << "the same seed must give the same masks";
  net->set_training(false);
  ASSERT_TRUE(net->forward(std::span<const Buf<double>>(&xb, 1)).is_ok());
  EXPECT_EQ(net->output(0).v, xb.v) << "evaluation is the identity";
}

TEST(TrainGradNn, DropoutEvaluationIsIdentity) {
  Tensor x = rnd({3, 7}, 217);
  check_grads(OpTest("Dropout").input("X", x).output("Y", zeros(x.shape())), {x}, /*training=*/false);
}

// ---- pooling ----

TEST(TrainGradNn, GlobalAveragePool) {
  Tensor x = rnd({2, 3, 4, 5}, 218);
  check_grads(OpTest("GlobalAveragePool").input("X", x).output("Y", zeros({2, 3, 1, 1})), {x});
}

TEST(TrainGradNn, AveragePoolPaddedExcludingPad) {
  Tensor x = rnd({2, 2, 7, 6}, 219);
  check_grads(OpTest("AveragePool")
                  .input("X", x)
                  .attr("kernel_shape", std::vector<int64_t>{3, 3})
                  .attr("strides", std::vector<int64_t>{2, 2})
                  .attr("pads", std::vector<int64_t>{1, 1, 1, 0})
                  .output("Y", zeros({2, 2, 4, 3})),
              {x});
}

TEST(TrainGradNn, AveragePoolCountIncludePadCeilMode) {
  Tensor x = rnd({1, 2, 6, 6}, 220);
  check_grads(OpTest("AveragePool")
                  .input("X", x)
                  .attr("kernel_shape", std::vector<int64_t>{3, 2})
                  .attr("strides", std::vector<int64_t>{2, 2})
                  .attr("pads", std::vector<int64_t>{1, 1, 1, 1})
                  .attr("count_include_pad", 1)
                  .attr("ceil_mode", 1)
                  .output("Y", zeros({1, 2, 4, 4})),
              {x});
}

// The engine's AveragePool agrees with the inference runtime (same divisor rules).
TEST(TrainGradNn, AveragePoolForwardMatchesInferenceRuntime) {
  Tensor x = rnd({1, 2, 6, 6}, 221);
  for (int include_pad : {0, 1}) {
    const std::string bytes = OpTest("AveragePool")
                                  .input("X", x)
                                  .attr("kernel_shape", std::vector<int64_t>{3, 3})
                                  .attr("strides", std::vector<int64_t>{2, 2})
                                  .attr("pads", std::vector<int64_t>{1, 1, 1, 1})
                                  .attr("count_include_pad", include_pad)
                                  .attr("ceil_mode", 1)
                                  .output("Y", zeros({1, 2, 4, 4}))
                                  .model_bytes();
    auto model = onnx_io::load_model_from_bytes(bytes, "avg", "");
    ASSERT_TRUE(model.is_ok());
    auto net = Network<float>::create(*model, {}).value();
    Buf<float> xb;
    xb.shape = x.shape();
    xb.v.assign(x.data<float>(), x.data<float>() + x.numel());
    ASSERT_TRUE(net->forward(std::span<const Buf<float>>(&xb, 1)).is_ok());
    auto session = Session::load_from_memory(bytes, {.threads = 1, .reference_kernels = true});
    ASSERT_TRUE(session.is_ok());
    auto out = (*session)->run({x});
    ASSERT_TRUE(out.is_ok());
    ASSERT_EQ((*out)[0].numel(), net->output(0).numel());
    for (int64_t i = 0; i < (*out)[0].numel(); ++i)
      EXPECT_NEAR((*out)[0].data<float>()[i], net->output(0).v[static_cast<size_t>(i)], 1e-6) << include_pad;
  }
}

// ---- a Conv-BN-ReLU block network ----

// Conv(1->C1, 3x3, pad 1)-BN-Relu-MaxPool(2)-Conv(C1->C2)-BN-Relu-GlobalAveragePool-Flatten-Dropout-
// Gemm(C2->10).
std::string conv_bn_net(uint32_t seed, int64_t c1 = 4, int64_t c2 = 6) {
  GraphBuilder b(13);
  std::string x = b.input("image", {-1, 1, 28, 28});
  auto bn = [&](const std::string& in, int64_t ch, uint32_t s) {
    return b.node("BatchNormalization",
                  {in, b.constant("g" + std::to_string(s), rnd({ch}, s, 0.5f, 1.5f)),
                   b.constant("b" + std::to_string(s), rnd({ch}, s + 1, -0.1f, 0.1f)),
                   b.constant("m" + std::to_string(s), zeros({ch})),
                   b.constant("v" + std::to_string(s), rnd({ch}, s + 2, 1.f, 1.f))},
                  {{"epsilon", 1e-5f}, {"momentum", 0.9f}});
  };
  x = b.node("Conv",
             {x, b.constant("w1", rnd({c1, 1, 3, 3}, seed, -0.5f, 0.5f)), b.constant("c1", zeros({c1}))},
             {{"pads", std::vector<int64_t>{1, 1, 1, 1}}});
  x = b.node("Relu", {bn(x, c1, seed + 10)});
  x = b.node("MaxPool", {x},
             {{"kernel_shape", std::vector<int64_t>{2, 2}}, {"strides", std::vector<int64_t>{2, 2}}});
  x = b.node("Conv", {x, b.constant("w2", rnd({c2, c1, 3, 3}, seed + 1, -0.3f, 0.3f))});
  x = b.node("Relu", {bn(x, c2, seed + 20)});
  x = b.node("GlobalAveragePool", {x});
  x = b.node("Flatten", {x});
  x = b.node("Dropout", {x, b.constant("ratio", Tensor::from_vector<float>({}, {0.1f}))});
  x = b.node("Gemm",
             {x, b.constant("fc", rnd({10, c2}, seed + 2, -0.5f, 0.5f)), b.constant("fcb", zeros({10}))},
             {{"transB", int64_t{1}}});
  b.output(x, {-1, 10});
  return b.bytes();
}

TEST(TrainGradNn, ConvBnNetworkCrossEntropyParameterGradients) {
  auto model = onnx_io::load_model_from_bytes(conv_bn_net(300), "convbn", "");
  ASSERT_TRUE(model.is_ok()) << model.status().to_string();
  auto net = Network<double>::create(*model, {}).value();
  ASSERT_EQ(net->num_params(), 9u);  // 2 Conv (+1 bias), 2 BN scale+bias, Gemm weight+bias
  ASSERT_EQ(net->num_state(), 4u);
  Buf<double> x = to_buf(rnd({3, 1, 28, 28}, 301, 0.f, 1.f));
  const std::vector<int64_t> labels = {3, 0, 7};
  Buf<double> dlogits;
  auto loss = [&](Buf<double>* grad) {
    net->reseed(9);
    EXPECT_TRUE(net->forward(std::span<const Buf<double>>(&x, 1)).is_ok());
    return train::softmax_cross_entropy(net->output(0), labels, grad).value();
  };
  loss(&dlogits);
  ASSERT_TRUE(net->backward(std::span<const Buf<double>>(&dlogits, 1)).is_ok());
  for (size_t p = 0; p < net->num_params(); ++p) {
    const Buf<double> analytic = net->param_grad(p);
    double largest = 0;
    for (int64_t j : positions(net->param(p).numel(), 400 + static_cast<uint32_t>(p))) {
      double& w = net->param(p).v[static_cast<size_t>(j)];
      const double saved = w;
      w = saved + kStep;
      const double plus = loss(nullptr);
      w = saved - kStep;
      const double minus = loss(nullptr);
      w = saved;
      const double numeric = (plus - minus) / (2 * kStep);
      largest = std::max(largest, std::fabs(numeric));
      EXPECT_NEAR(analytic.v[static_cast<size_t>(j)], numeric, tol(numeric))
          << net->param_name(p) << "[" << j << "]";
    }
    // The first Conv's bias feeds a BatchNormalization in training mode: its gradient is exactly 0.
    if (net->param_name(p) != "c1") {
      EXPECT_GT(largest, 0.0) << net->param_name(p) << " gets no gradient";
    }
  }
}

// The Conv-BN network learns on 600 Fashion-MNIST images; the saved model (running statistics written
// back) gives the inference runtime the same logits as the training engine in evaluation mode.
TEST(TrainGradNn, ConvBnNetworkLearnsAndExportsRunningStatistics) {
  auto ds = load_idx_dataset(test::test_data("fmnist-sample"), "test");
  ASSERT_TRUE(ds.is_ok()) << ds.status().to_string();
  auto model = onnx_io::load_model_from_bytes(conv_bn_net(500, 8, 16), "convbn", "").value();
  const ir::Model untrained = model;
  train::TrainOptions o;
  o.epochs = 4;
  o.batch_size = 32;
  o.seed = 2;
  o.threads = 2;
  o.optimizer.kind = "adam";
  o.optimizer.lr = 1e-2f;
  auto stats = train::train_classifier(model, *ds, o);
  ASSERT_TRUE(stats.is_ok()) << stats.status().to_string();
  EXPECT_LT((*stats)[3].loss, 0.8 * (*stats)[0].loss);
  const double before = train::evaluate_classifier(untrained, *ds).value().loss;
  const auto after = train::evaluate_classifier(model, *ds).value();
  EXPECT_LT(after.loss, 0.8 * before) << before << " -> " << after.loss;
  const ir::ValueId m = model.graph.find("m510");
  ASSERT_NE(m, ir::kNoValue);
  EXPECT_NE(model.graph.value(m).constant->data<float>()[0], 0.f) << "running mean was not written back";

  const std::string bytes = onnx_io::save_model_to_bytes(model).value();
  auto session = Session::load_from_memory(bytes, {.threads = 1});
  ASSERT_TRUE(session.is_ok()) << session.status().to_string();
  auto reloaded = onnx_io::load_model_from_bytes(bytes, "trained", "").value();
  auto net = Network<float>::create(reloaded, {}).value();
  net->set_training(false);
  Tensor x = Tensor::allocate(DType::kFloat32, {8, 1, 28, 28}).value();
  std::memcpy(x.data<float>(), ds->images.data<float>(), static_cast<size_t>(x.numel()) * sizeof(float));
  Buf<float> xb;
  xb.shape = x.shape();
  xb.v.assign(x.data<float>(), x.data<float>() + x.numel());
  ASSERT_TRUE(net->forward(std::span<const Buf<float>>(&xb, 1)).is_ok());
  auto out = (*session)->run({x});
  ASSERT_TRUE(out.is_ok());
  for (int64_t i = 0; i < (*out)[0].numel(); ++i)
    EXPECT_NEAR((*out)[0].data<float>()[i], net->output(0).v[static_cast<size_t>(i)], 1e-3);
}

// ---- activations ----

TEST(TrainGradNn, Activations) {
  Tensor x = rnd({3, 4, 5}, 230, -4.f, 4.f);
  const auto y = zeros(x.shape());
  check_grads(OpTest("LeakyRelu").input("X", x).attr("alpha", 0.1f).output("Y", y), {x});
  check_grads(OpTest("HardSigmoid").input("X", x).attr("alpha", 0.3f).attr("beta", 0.4f).output("Y", y), {x});
  check_grads(OpTest("HardSwish").input("X", x).output("Y", y), {x});
  check_grads(OpTest("Sigmoid").input("X", x).output("Y", y), {x});
  check_grads(OpTest("Tanh").input("X", x).output("Y", y), {x});
}

TEST(TrainGradNn, ClipWithBoundsAsInputs) {
  Tensor x = rnd({4, 6}, 231, -2.f, 2.f), lo = Tensor::from_vector<float>({}, {-0.7f}),
         hi = Tensor::from_vector<float>({}, {0.9f});
  check_grads(OpTest("Clip").input("X", x).input("min", lo).input("max", hi).output("Y", zeros({4, 6})),
              {x, lo, hi});
  check_grads(OpTest("Clip").input("X", x).omitted_input().input("max", hi).output("Y", zeros({4, 6})),
              {x, hi});
}

// SiLU as PyTorch exports it: Mul(x, Sigmoid(x)).
TEST(TrainGradNn, SiluPattern) {
  GraphBuilder b(13);
  const std::string x = b.input("x", {2, 7});
  b.output(b.node("Mul", {x, b.node("Sigmoid", {x})}), {2, 7});
  check_grads(b.bytes(), {rnd({2, 7}, 232, -3.f, 3.f)});
}

// ---- Sub, Div, MatMul ----

TEST(TrainGradNn, SubDivBroadcast) {
  Tensor a = rnd({2, 3, 4}, 233), b = rnd({3, 1}, 234, 0.5f, 1.5f);
  check_grads(OpTest("Sub").input("A", a).input("B", b).output("C", zeros({2, 3, 4})), {a, b});
  check_grads(OpTest("Div").input("A", a).input("B", b).output("C", zeros({2, 3, 4})), {a, b});
  Tensor c = rnd({4}, 235, 0.5f, 1.5f), d = rnd({2, 1, 4}, 236);
  check_grads(OpTest("Div").input("A", c).input("B", d).output("C", zeros({2, 1, 4})), {c, d});
}

TEST(TrainGradNn, MatMulBatchedBroadcastAndVectors) {
  Tensor a = rnd({2, 1, 3, 4}, 237), b = rnd({3, 4, 5}, 238);
  check_grads(OpTest("MatMul").input("A", a).input("B", b).output("Y", zeros({2, 3, 3, 5})), {a, b});
  Tensor v = rnd({4}, 239), m = rnd({2, 4, 3}, 240);
  check_grads(OpTest("MatMul").input("A", v).input("B", m).output("Y", zeros({2, 3})), {v, m});
  Tensor p = rnd({3, 4}, 241), q = rnd({4}, 242);
  check_grads(OpTest("MatMul").input("A", p).input("B", q).output("Y", zeros({3})), {p, q});
}

// A constant MatMul weight is a trainable parameter (checked by check_grads through num_params).
TEST(TrainGradNn, MatMulConstantWeightIsTrained) {
  Tensor x = rnd({2, 3}, 243);
  const std::string bytes = OpTest("MatMul")
                                .input("X", x)
                                .constant_input("W", rnd({3, 4}, 244))
                                .output("Y", zeros({2, 4}))
                                .model_bytes();
  auto model = onnx_io::load_model_from_bytes(bytes, "mm", "").value();
  EXPECT_EQ(Network<double>::create(model, {}).value()->num_params(), 1u);
  check_grads(bytes, {x});
}

// ---- Concat, Split, Transpose ----

TEST(TrainGradNn, ConcatSplitTranspose) {
  Tensor a = rnd({2, 3, 2}, 245), b = rnd({2, 1, 2}, 246), c = rnd({2, 4, 2}, 247);
  check_grads(OpTest("Concat")
                  .input("A", a)
                  .input("B", b)
                  .input("C", c)
                  .attr("axis", -2)
                  .output("Y", zeros({2, 8, 2})),
              {a, b, c});
  Tensor x = rnd({3, 7}, 248);
  check_grads(OpTest("Split")
                  .input("X", x)
                  .constant_input("split", test::I64({2}, {3, 4}))
                  .attr("axis", 1)
                  .output("Y0", zeros({3, 3}))
                  .output("Y1", zeros({3, 4})),
              {x});
  // The second output's gradient: a graph whose loss reads Split's output 1 only.
  GraphBuilder g(13);
  const std::string in = g.input("x", {3, 6});
  g.node("Split", {in}, {{"axis", int64_t{1}}}, 3);
  g.output("Split_0_1", {3, 2});
  check_grads(g.bytes(), {rnd({3, 6}, 249)});
  Tensor t = rnd({2, 3, 4}, 250);
  check_grads(OpTest("Transpose")
                  .input("X", t)
                  .attr("perm", std::vector<int64_t>{1, 2, 0})
                  .output("Y", zeros({3, 4, 2})),
              {t});
  check_grads(OpTest("Transpose").input("X", t).output("Y", zeros({4, 3, 2})), {t});
}

// ---- ConvTranspose ----

OpTest conv_transpose(const Tensor& x, const Tensor& w, const Tensor* b, int64_t group,
                      std::vector<int64_t> strides, std::vector<int64_t> pads,
                      std::vector<int64_t> output_padding, std::vector<int64_t> dilations, Shape out) {
  OpTest op("ConvTranspose");
  op.input("X", x).input("W", w);
  if (b) op.input("B", *b);
  op.attr("group", group)
      .attr("strides", std::move(strides))
      .attr("pads", std::move(pads))
      .attr("output_padding", std::move(output_padding))
      .attr("dilations", std::move(dilations))
      .output("Y", zeros(std::move(out)));
  return op;
}

TEST(TrainGradNn, ConvTransposeGroupsStridePadsOutputPadding) {
  Tensor x = rnd({2, 4, 3, 4}, 251), w = rnd({4, 3, 3, 2}, 252), b = rnd({6}, 253);
  // H: (3-1)*2 - 1 - 0 + 1*(3-1) + 1 + 1 = 7;  W: (4-1)*1 - 0 - 1 + 2*(2-1) + 1 + 0 = 5
  check_grads(conv_transpose(x, w, &b, 2, {2, 1}, {1, 0, 0, 1}, {1, 0}, {1, 2}, {2, 6, 7, 5}), {x, w, b});
  Tensor x2 = rnd({1, 2, 3, 3}, 254), w2 = rnd({2, 3, 3, 3}, 255);
  check_grads(conv_transpose(x2, w2, nullptr, 1, {2, 2}, {1, 1, 1, 1}, {1, 1}, {1, 1}, {1, 3, 6, 6}),
              {x2, w2});
}

// Forward of the training engine against the inference runtime's reference kernels.
void expect_forward_matches_runtime(const std::string& bytes, const std::vector<Tensor>& inputs) {
  auto model = onnx_io::load_model_from_bytes(bytes, "fwd", "");
  ASSERT_TRUE(model.is_ok());
  auto net = Network<float>::create(*model, {}).value();
  std::vector<Buf<float>> x;
  for (const Tensor& t : inputs) {
    Buf<float> b;
    b.shape = t.shape();
    b.v.assign(t.data<float>(), t.data<float>() + t.numel());
    x.push_back(std::move(b));
  }
  ASSERT_TRUE(net->forward(x).is_ok());
  auto session = Session::load_from_memory(bytes, {.threads = 1, .reference_kernels = true});
  ASSERT_TRUE(session.is_ok()) << session.status().to_string();
  auto out = (*session)->run(inputs);
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  ASSERT_EQ((*out)[0].shape(), net->output(0).shape);
  for (int64_t i = 0; i < (*out)[0].numel(); ++i)
    EXPECT_NEAR((*out)[0].data<float>()[i], net->output(0).v[static_cast<size_t>(i)], 1e-5) << i;
}

TEST(TrainGradNn, ForwardMatchesInferenceRuntime) {
  Tensor x = rnd({2, 4, 3, 4}, 256), w = rnd({4, 3, 3, 2}, 257), b = rnd({6}, 258);
  expect_forward_matches_runtime(
      conv_transpose(x, w, &b, 2, {2, 1}, {1, 0, 0, 1}, {1, 0}, {1, 2}, {2, 6, 7, 5}).model_bytes(),
      {x, w, b});
  Tensor a = rnd({2, 1, 3, 4}, 259), m = rnd({3, 4, 5}, 260);
  expect_forward_matches_runtime(
      OpTest("MatMul").input("A", a).input("B", m).output("Y", zeros({2, 3, 3, 5})).model_bytes(), {a, m});
  Tensor h = rnd({3, 5}, 261, -4.f, 4.f);
  for (const char* op : {"HardSwish", "HardSigmoid", "LeakyRelu", "Sigmoid", "Tanh"})
    expect_forward_matches_runtime(OpTest(op).input("X", h).output("Y", zeros({3, 5})).model_bytes(), {h});
}

TEST(TrainGradNn, UnsupportedAttributesNameTheNode) {
  const Status st = create_error(OpTest("AveragePool")
                                     .input("X", zeros({1, 1, 4, 4, 4}))
                                     .attr("kernel_shape", std::vector<int64_t>{2, 2, 2})
                                     .output("Y", zeros({1, 1, 3, 3, 3}))
                                     .model_bytes(),
                                 zeros({1, 1, 4, 4, 4}));
  EXPECT_FALSE(st.is_ok());
  EXPECT_NE(st.to_string().find("AveragePool"), std::string::npos) << st.to_string();
  Tensor x = rnd({1, 1, 3, 3}, 262);
  const Status ct = create_error(OpTest("ConvTranspose")
                                     .input("X", x)
                                     .constant_input("W", rnd({1, 1, 3, 3}, 263))
                                     .attr("output_shape", std::vector<int64_t>{5, 5})
                                     .output("Y", zeros({1, 1, 5, 5}))
                                     .model_bytes(),
                                 x);
  EXPECT_EQ(ct.code(), StatusCode::kUnsupported) << ct.to_string();
  EXPECT_NE(ct.to_string().find("ConvTranspose"), std::string::npos) << ct.to_string();
  EXPECT_NE(ct.to_string().find("output_shape"), std::string::npos) << ct.to_string();
}

}  // namespace
}  // namespace verge
