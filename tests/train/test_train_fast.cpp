// The training engine's float32 fast path (train/gemm_train.h, train/conv_f32.cpp) against the plain
// double path, and its determinism under threads.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "core/thread_pool.h"
#include "grad_check.h"
#include "import/onnx/importer.h"
#include "io/idx.h"
#include "op_test.h"
#include "train/gemm_train.h"
#include "train/network.h"
#include "train/trainer.h"

namespace verge {
namespace {

using test::OpTest;
using train::Buf;
using train::Network;

using test::rnd;  // grad_check.h
using test::zeros;

std::vector<float> rnd_vec(int64_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = u(gen);
  return v;
}

// Every microkernel variant this CPU runs, every transpose combination, tile and tail shapes, 1 and 2
// threads, with and without accumulation, against a double-precision product of the same float inputs.
// Tolerance is the textbook bound for a float32 dot product of length k computed in any order
// (|err| <= gamma_k * sum|a_i b_i| with gamma_k = k*u/(1 - k*u), u = 2^-24) plus 2u for the alpha scale and
// the accumulation into C: rigorous, so a single misplaced or missing term (error ~ one |a_i b_i|) fails.
TEST(TrainGemm, EveryVariantMatchesDoubleOnTilesAndTails) {
  struct Case {
    int64_t m, n, k;
  };
  const Case cases[] = {{1, 1, 1},    {12, 32, 16}, {13, 33, 7},  {25, 47, 65},
                        {37, 5, 129}, {6, 16, 1},   {2, 100, 40}, {64, 121, 288}};
  ThreadPool pool(2);
  const double u = std::ldexp(1.0, -24);
  for (const train::SgemmKernel* kr : train::sgemm_kernels())
    for (const Case& cs : cases)
      for (int flags = 0; flags < 16; ++flags) {
        const bool ta = flags & 1, tb = flags & 2, acc = flags & 4, threaded = flags & 8;
        const float alpha = acc ? 0.75f : 1.f;
        const int64_t lda = (ta ? cs.m : cs.k) + 3, ldb = (tb ? cs.k : cs.n) + 1, ldc = cs.n + 2;
        const auto a = rnd_vec((ta ? cs.k : cs.m) * lda, 1), b = rnd_vec((tb ? cs.n : cs.k) * ldb, 2);
        auto c = rnd_vec(cs.m * ldc, 3);
        const auto c0 = c;
        train::sgemm(threaded ? &pool : nullptr, ta, tb, cs.m, cs.n, cs.k, alpha, a.data(), lda, b.data(),
                     ldb, c.data(), ldc, acc, *kr);
        const double gamma = cs.k * u / (1 - cs.k * u) + 2 * u;
        int bad = 0;
        for (int64_t i = 0; i < cs.m; ++i)
          for (int64_t j = 0; j < cs.n; ++j) {
            double exact = 0, magnitude = 0;
            for (int64_t kk = 0; kk < cs.k; ++kk) {
              const double av = ta ? a[kk * lda + i] : a[i * lda + kk];
              const double bv = tb ? b[j * ldb + kk] : b[kk * ldb + j];
              exact += av * bv;
              magnitude += std::fabs(av * bv);
            }
            exact *= alpha;
            magnitude *= alpha;
            if (acc) exact += c0[i * ldc + j], magnitude += std::fabs(c0[i * ldc + j]);
            const double got = c[i * ldc + j];
            if (std::fabs(got - exact) > gamma * magnitude + 1e-30 && bad++ < 3)
              ADD_FAILURE() << kr->name << " m=" << cs.m << " n=" << cs.n << " k=" << cs.k << " ta=" << ta
                            << " tb=" << tb << " acc=" << acc << " at (" << i << "," << j << "): " << got
                            << " vs " << exact;
          }
        for (int64_t i = 0; i < cs.m; ++i)  // padding columns of C untouched
          for (int64_t j = cs.n; j < ldc; ++j) EXPECT_EQ(c[i * ldc + j], c0[i * ldc + j]) << kr->name;
      }
}

// Forward output and every gradient of Network<float> (fast path, 2 threads) vs Network<double> (plain
// loops) on one model. Tolerance 1e-4 of the tensor's largest magnitude: every value here is a chain of
// a few sums of at most ~300 products of O(1) numbers, so float32 rounding stays below ~300 * 2^-24 ~ 2e-5
// of the magnitudes involved, while an indexing mistake in a tile or tail (a term missing, doubled or
// misplaced) changes a value by one product, ~1e-2 of the scale.
void expect_float_matches_double(const ir::Model& model, const std::vector<Tensor>& inputs,
                                 bool input_grads) {
  ThreadPool pool(2);
  auto f = Network<float>::create(model, {.input_grads = input_grads, .pool = &pool});
  auto d = Network<double>::create(model, {.input_grads = input_grads});
  ASSERT_TRUE(f.is_ok()) << f.status().to_string();
  ASSERT_TRUE(d.is_ok()) << d.status().to_string();
  std::vector<Buf<float>> xf;
  std::vector<Buf<double>> xd;
  for (const Tensor& t : inputs) {
    xf.push_back({t.shape(), std::vector<float>(t.data<float>(), t.data<float>() + t.numel())});
    xd.push_back({t.shape(), std::vector<double>(t.data<float>(), t.data<float>() + t.numel())});
  }
  ASSERT_TRUE((*f)->forward(xf).is_ok());
  ASSERT_TRUE((*d)->forward(xd).is_ok());
  auto compare = [](const auto& got, const Buf<double>& ref, const std::string& what) {
    ASSERT_EQ(got.shape, ref.shape) << what;
    double scale = 0;
    for (double v : ref.v) scale = std::max(scale, std::fabs(v));
    ASSERT_GT(scale, 0.0) << what << " is all zero";
    int bad = 0;
    for (size_t i = 0; i < ref.v.size(); ++i)
      if (std::fabs(got.v[i] - ref.v[i]) > 1e-4 * scale && bad++ < 3)
        ADD_FAILURE() << what << "[" << i << "]: " << got.v[i] << " vs " << ref.v[i] << " (scale " << scale
                      << ")";
  };
  compare((*f)->output(0), (*d)->output(0), "output");
  Buf<double> rd;
  rd.shape = (*d)->output(0).shape;
  std::mt19937 gen(9);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  for (int64_t i = 0; i < shape_numel(rd.shape); ++i) rd.v.push_back(static_cast<float>(u(gen)));
  Buf<float> rf{rd.shape, std::vector<float>(rd.v.begin(), rd.v.end())};
  ASSERT_TRUE((*f)->backward(std::span<const Buf<float>>(&rf, 1)).is_ok());
  ASSERT_TRUE((*d)->backward(std::span<const Buf<double>>(&rd, 1)).is_ok());
  for (size_t i = 0; input_grads && i < inputs.size(); ++i)
    compare((*f)->input_grad(i), (*d)->input_grad(i), "d input " + std::to_string(i));
  for (size_t p = 0; p < (*d)->num_params(); ++p)
    compare((*f)->param_grad(p), (*d)->param_grad(p), "d " + (*d)->param_name(p));
}

void expect_op_float_matches_double(const OpTest& op, const std::vector<Tensor>& inputs) {
  auto model = onnx_io::load_model_from_bytes(op.model_bytes(), "fast-vs-plain", "");
  ASSERT_TRUE(model.is_ok()) << model.status().to_string();
  expect_float_matches_double(*model, inputs, true);
}

TEST(TrainFast, ConvOddShapesMatchDouble) {
  {  // 5 images (odd slices), 3 -> 37 channels (tails of every tile size), 13x11 image, padded 3x3
    Tensor x = rnd({5, 3, 13, 11}, 1), w = rnd({37, 3, 3, 3}, 2), b = rnd({37}, 3);
    expect_op_float_matches_double(OpTest("Conv")
                                       .input("X", x)
                                       .input("W", w)
                                       .input("B", b)
                                       .attr("pads", std::vector<int64_t>{1, 1, 1, 1})
                                       .output("Y", zeros({5, 37, 13, 11})),
                                   {x, w, b});
  }
  {  // groups, stride, dilation, asymmetric pads, 3x2 kernel
    Tensor x = rnd({3, 6, 10, 9}, 4), w = rnd({9, 2, 3, 2}, 5);
    expect_op_float_matches_double(OpTest("Conv")
                                       .input("X", x)
                                       .input("W", w)
                                       .attr("group", 3)
                                       .attr("strides", std::vector<int64_t>{2, 1})
                                       .attr("pads", std::vector<int64_t>{1, 0, 0, 1})
                                       .attr("dilations", std::vector<int64_t>{1, 2})
                                       .output("Y", zeros({3, 9, 5, 8})),
                                   {x, w});
  }
  {  // pointwise (no im2col), 17 images
    Tensor x = rnd({17, 7, 5, 3}, 6), w = rnd({13, 7, 1, 1}, 7), b = rnd({13}, 8);
    expect_op_float_matches_double(
        OpTest("Conv").input("X", x).input("W", w).input("B", b).output("Y", zeros({17, 13, 5, 3})),
        {x, w, b});
  }
  {  // depthwise, stride 2
    Tensor x = rnd({2, 5, 7, 7}, 9), w = rnd({5, 1, 3, 3}, 10);
    expect_op_float_matches_double(OpTest("Conv")
                                       .input("X", x)
                                       .input("W", w)
                                       .attr("group", 5)
                                       .attr("strides", std::vector<int64_t>{2, 2})
                                       .output("Y", zeros({2, 5, 3, 3})),
                                   {x, w});
  }
}

TEST(TrainFast, GemmOddShapesMatchDouble) {
  for (int t = 0; t < 4; ++t) {
    const bool ta = t & 1, tb = t & 2;
    Tensor a = rnd(ta ? Shape{45, 13} : Shape{13, 45}, 11), b = rnd(tb ? Shape{37, 45} : Shape{45, 37}, 12);
    Tensor c = rnd({37}, 13);
    expect_op_float_matches_double(OpTest("Gemm")
                                       .input("A", a)
                                       .input("B", b)
                                       .input("C", c)
                                       .attr("transA", static_cast<int64_t>(ta))
                                       .attr("transB", static_cast<int64_t>(tb))
                                       .attr("alpha", 0.7f)
                                       .output("Y", zeros({13, 37})),
                                   {a, b, c});
  }
}

// The whole student CNN (Conv, Relu, MaxPool, Flatten, Gemm) on 7 images: parameter gradients.
TEST(TrainFast, StudentCnnGradientsMatchDouble) {
  auto model = onnx_io::load_model(test::test_data("fmnist_student_init.onnx"));
  ASSERT_TRUE(model.is_ok()) << model.status().to_string();
  Tensor x = rnd({7, 1, 28, 28}, 14);
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = 0.5f * (x.data<float>()[i] + 1.f);
  expect_float_matches_double(*model, {x}, false);
}

// Training with threads is bit-for-bit repeatable, and (weight-gradient slices are fixed by the shapes)
// gives the same model as one thread. 250 images, batch 32: the last batch has 26.
TEST(TrainFast, ThreadedTrainingIsBitIdentical) {
  auto ds = load_idx_dataset(test::test_data("fmnist-sample"), "test");
  ASSERT_TRUE(ds.is_ok()) << ds.status().to_string();
  LabeledImages d;
  const Shape& s = ds->images.shape();
  const int64_t per = s[1] * s[2] * s[3], n = 250;
  d.images = Tensor::allocate(DType::kFloat32, {n, s[1], s[2], s[3]}).value();
  std::memcpy(d.images.data<float>(), ds->images.data<float>(), static_cast<size_t>(n * per) * sizeof(float));
  d.labels.assign(ds->labels.begin(), ds->labels.begin() + n);
  auto train = [&](int threads) {
    auto m = onnx_io::load_model(test::test_data("fmnist_student_init.onnx")).value();
    train::TrainOptions o;
    o.epochs = 2;
    o.batch_size = 32;
    o.seed = 3;
    o.threads = threads;
    o.optimizer.kind = "adam";
    o.optimizer.lr = 3e-3f;
    EXPECT_TRUE(train::train_classifier(m, d, o).is_ok());
    return onnx_io::save_model_to_bytes(m).value();
  };
  const std::string two_a = train(2), two_b = train(2), one = train(1);
  EXPECT_EQ(two_a, two_b) << "2-thread runs differ";
  EXPECT_EQ(two_a, one) << "2 threads and 1 thread differ";
  EXPECT_NE(two_a, onnx_io::save_model_to_bytes(
                       onnx_io::load_model(test::test_data("fmnist_student_init.onnx")).value())
                       .value());
}

}  // namespace
}  // namespace verge
