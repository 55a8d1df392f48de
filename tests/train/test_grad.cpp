// Every backward rule of the training op table (src/train/grad_ops.def) against central finite
// differences, in double precision, on small random shapes with fixed seeds.
//
// Tolerance: with h = 1e-6 in double, the central difference has truncation error ~h^2*|f'''| (~1e-12
// here) and rounding error ~1e-16*|L|/h (~1e-9 for |L| < 10), so |analytic - numeric| <= 1e-6*(1+|numeric|)
// leaves three orders of margin and still catches any wrong term (errors there are O(0.1)). Inputs are
// continuous random values, so no sample lies within h of a ReLU kink or a MaxPool tie.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/thread_pool.h"
#include "grad_check.h"
#include "import/onnx/importer.h"
#include "op_test.h"
#include "train/network.h"
#include "train/optimizer.h"

namespace verge {
namespace {

using test::OpTest;
using namespace test;  // grad_check.h
using train::Buf;
using train::Network;

// Loss = sum(r * output) with a fixed random r; checks d(loss)/d(every graph input) (grad_check.h).
void check_input_grads(const OpTest& op, const std::vector<Tensor>& inputs, uint32_t seed = 7) {
  check_grads(op.model_bytes(), inputs, /*training=*/true, seed);
}

TEST(TrainGrad, ConvPadded) {
  Tensor x = rnd({2, 3, 7, 6}, 1), w = rnd({4, 3, 3, 3}, 2), b = rnd({4}, 3);
  check_input_grads(OpTest("Conv")
                        .input("X", x)
                        .input("W", w)
                        .input("B", b)
                        .attr("pads", std::vector<int64_t>{1, 1, 1, 1})
                        .output("Y", zeros({2, 4, 7, 6})),
                    {x, w, b});
}

TEST(TrainGrad, ConvStrideDilationGroupsAsymmetricPads) {
  Tensor x = rnd({2, 4, 9, 8}, 4), w = rnd({6, 2, 3, 2}, 5);
  check_input_grads(OpTest("Conv")
                        .input("X", x)
                        .input("W", w)
                        .attr("group", 2)
                        .attr("strides", std::vector<int64_t>{2, 1})
                        .attr("pads", std::vector<int64_t>{1, 0, 0, 1})
                        .attr("dilations", std::vector<int64_t>{1, 2})
                        .output("Y", zeros({2, 6, 4, 7})),
                    {x, w});
}

TEST(TrainGrad, ConvDepthwiseStride2) {
  Tensor x = rnd({1, 3, 6, 6}, 6), w = rnd({3, 1, 3, 3}, 7), b = rnd({3}, 8);
  check_input_grads(OpTest("Conv")
                        .input("X", x)
                        .input("W", w)
                        .input("B", b)
                        .attr("group", 3)
                        .attr("strides", std::vector<int64_t>{2, 2})
                        .attr("pads", std::vector<int64_t>{1, 1, 1, 1})
                        .output("Y", zeros({1, 3, 3, 3})),
                    {x, w, b});
}

TEST(TrainGrad, MaxPoolOverlappingPadded) {
  Tensor x = rnd({2, 3, 7, 7}, 9);
  check_input_grads(OpTest("MaxPool")
                        .input("X", x)
                        .attr("kernel_shape", std::vector<int64_t>{3, 3})
                        .attr("strides", std::vector<int64_t>{2, 2})
                        .attr("pads", std::vector<int64_t>{1, 1, 1, 1})
                        .output("Y", zeros({2, 3, 4, 4})),
                    {x});
}

TEST(TrainGrad, MaxPoolCeilMode) {
  Tensor x = rnd({1, 2, 5, 5}, 10);
  check_input_grads(OpTest("MaxPool")
                        .input("X", x)
                        .attr("kernel_shape", std::vector<int64_t>{2, 2})
                        .attr("strides", std::vector<int64_t>{2, 2})
                        .attr("ceil_mode", 1)
                        .output("Y", zeros({1, 2, 3, 3})),
                    {x});
}

TEST(TrainGrad, GemmTransBAlphaBeta) {
  Tensor a = rnd({3, 5}, 11), b = rnd({4, 5}, 12), c = rnd({4}, 13);
  check_input_grads(OpTest("Gemm")
                        .input("A", a)
                        .input("B", b)
                        .input("C", c)
                        .attr("transB", 1)
                        .attr("alpha", 0.7f)
                        .attr("beta", 1.3f)
                        .output("Y", zeros({3, 4})),
                    {a, b, c});
}

TEST(TrainGrad, GemmTransAColumnBias) {
  Tensor a = rnd({5, 3}, 14), b = rnd({5, 4}, 15), c = rnd({3, 1}, 16);
  check_input_grads(
      OpTest("Gemm").input("A", a).input("B", b).input("C", c).attr("transA", 1).output("Y", zeros({3, 4})),
      {a, b, c});
}

TEST(TrainGrad, GemmBothTransposed) {
  Tensor a = rnd({5, 3}, 17), b = rnd({4, 5}, 18);
  check_input_grads(OpTest("Gemm")
                        .input("A", a)
                        .input("B", b)
                        .attr("transA", 1)
                        .attr("transB", 1)
                        .output("Y", zeros({3, 4})),
                    {a, b});
}

TEST(TrainGrad, Relu) {
  Tensor x = rnd({3, 4, 5}, 19);
  check_input_grads(OpTest("Relu").input("X", x).output("Y", zeros({3, 4, 5})), {x});
}

TEST(TrainGrad, AddBroadcast) {
  Tensor a = rnd({2, 3, 4}, 20), b = rnd({3, 1}, 21);
  check_input_grads(OpTest("Add").input("A", a).input("B", b).output("C", zeros({2, 3, 4})), {a, b});
}

TEST(TrainGrad, MulBroadcastBothSides) {
  Tensor a = rnd({2, 1, 4}, 22), b = rnd({3, 1}, 23);
  check_input_grads(OpTest("Mul").input("A", a).input("B", b).output("C", zeros({2, 3, 4})), {a, b});
}

TEST(TrainGrad, FlattenAndReshape) {
  Tensor x = rnd({2, 3, 4}, 24);
  check_input_grads(OpTest("Flatten").input("X", x).attr("axis", 2).output("Y", zeros({6, 4})), {x});
  check_input_grads(OpTest("Reshape")
                        .input("X", x)
                        .constant_input("S", test::I64({2}, {0, -1}))
                        .output("Y", zeros({2, 12})),
                    {x});
}

TEST(TrainGrad, SoftmaxAndLogSoftmax) {
  Tensor x = rnd({2, 3, 4}, 25);
  check_input_grads(OpTest("Softmax").input("X", x).attr("axis", 1).output("Y", zeros({2, 3, 4})), {x});
  check_input_grads(OpTest("LogSoftmax").input("X", x).output("Y", zeros({2, 3, 4})), {x});
}

// The whole untrained student CNN with cross-entropy: parameter gradients (the ones training uses)
// against finite differences, composition and loss gradient included.
TEST(TrainGrad, StudentCnnCrossEntropyParameterGradients) {
  auto model = onnx_io::load_model(test::test_data("fmnist_student_init.onnx"));
  ASSERT_TRUE(model.is_ok()) << model.status().to_string();
  auto made = Network<double>::create(*model, {});
  ASSERT_TRUE(made.is_ok()) << made.status().to_string();
  Network<double>& net = **made;
  ASSERT_EQ(net.num_params(), 8u);  // 2 Conv + 2 Gemm, weight and bias each
  Buf<double> x = to_buf(rnd({3, 1, 28, 28}, 26));
  for (double& v : x.v) v = 0.5 * (v + 1.0);  // pixels in [0, 1]
  const std::vector<int64_t> labels = {3, 0, 7};
  Buf<double> dlogits;
  auto loss = [&](Buf<double>* grad) {
    EXPECT_TRUE(net.forward(std::span<const Buf<double>>(&x, 1)).is_ok());
    return train::softmax_cross_entropy(net.output(0), labels, grad).value();
  };
  loss(&dlogits);
  ASSERT_TRUE(net.backward(std::span<const Buf<double>>(&dlogits, 1)).is_ok());
  for (size_t p = 0; p < net.num_params(); ++p) {
    const Buf<double> analytic = net.param_grad(p);
    double largest = 0;
    for (int64_t j : positions(net.param(p).numel(), 100 + static_cast<uint32_t>(p))) {
      double& w = net.param(p).v[static_cast<size_t>(j)];
      const double saved = w;
      w = saved + kStep;
      const double plus = loss(nullptr);
      w = saved - kStep;
      const double minus = loss(nullptr);
      w = saved;
      const double numeric = (plus - minus) / (2 * kStep);
      largest = std::max(largest, std::fabs(numeric));
      EXPECT_NEAR(analytic.v[static_cast<size_t>(j)], numeric, tol(numeric))
          << net.param_name(p) << "[" << j << "]";
    }
    EXPECT_GT(largest, 0.0) << net.param_name(p) << " gets no gradient";
  }
}

TEST(TrainGrad, UnsupportedOpIsNamed) {
  auto model = onnx_io::load_model_from_bytes(
      OpTest("Erf").input("X", zeros({2})).output("Y", zeros({2})).model_bytes(), "erf", "");
  ASSERT_TRUE(model.is_ok());
  auto net = Network<float>::create(*model, {});
  ASSERT_FALSE(net.is_ok());
  EXPECT_EQ(net.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(net.status().message().find("Erf"), std::string::npos) << net.status().to_string();
}

}  // namespace
}  // namespace verge
