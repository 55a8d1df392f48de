// Shared by the training engine's gradient tests: seeded random tensors and the central finite-difference
// check of every backward rule (tests/train/test_grad*.cpp).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "import/onnx/importer.h"
#include "train/network.h"
#include "verge/tensor.h"

namespace verge::test {

using train::Buf;
using train::Network;

// Uniform in [lo, hi), seeded.
inline Tensor rnd(Shape shape, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  Tensor t = Tensor::allocate(DType::kFloat32, std::move(shape)).value();
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(gen);
  return t;
}
inline Tensor zeros(Shape shape) { return Tensor::allocate(DType::kFloat32, std::move(shape)).value(); }

inline train::Buf<double> to_buf(const Tensor& t) {
  train::Buf<double> b;
  b.shape = t.shape();
  b.v.assign(t.data<float>(), t.data<float>() + t.numel());
  return b;
}

inline std::vector<int64_t> positions(int64_t n, uint32_t seed) {
  std::vector<int64_t> p;
  if (n <= 120) {
    for (int64_t i = 0; i < n; ++i) p.push_back(i);
    return p;
  }
  std::mt19937 gen(seed);
  for (int i = 0; i < 120; ++i) p.push_back(static_cast<int64_t>(gen() % static_cast<uint32_t>(n)));
  return p;
}

constexpr double kStep = 1e-6;
inline double tol(double numeric) { return 1e-6 * (1.0 + std::fabs(numeric)); }

// Loss = sum(r * output 0) with a fixed random r; checks d(loss)/d(every graph input) and d(loss)/d(every
// trainable parameter) of the model in `bytes` against central differences, in the given mode.
inline void check_grads(const std::string& bytes, const std::vector<Tensor>& inputs, bool training = true,
                        uint32_t seed = 7) {
  auto model = onnx_io::load_model_from_bytes(bytes, "grad-check", "");
  ASSERT_TRUE(model.is_ok()) << model.status().to_string();
  ThreadPool pool(2);
  auto made = Network<double>::create(*model, {.input_grads = true, .pool = &pool});
  ASSERT_TRUE(made.is_ok()) << made.status().to_string();
  Network<double>& net = **made;
  net.set_training(training);
  std::vector<Buf<double>> x;
  for (const Tensor& t : inputs) x.push_back(to_buf(t));
  auto forward = [&] {
    net.reseed(1234);  // Dropout: the same mask for every evaluation
    const Status st = net.forward(x);
    EXPECT_TRUE(st.is_ok()) << st.to_string();
  };
  forward();
  Buf<double> r;
  r.resize(net.output(0).shape);
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  for (double& v : r.v) v = u(gen);
  auto loss = [&] {
    forward();
    double s = 0;
    for (size_t i = 0; i < r.v.size(); ++i) s += r.v[i] * net.output(0).v[i];
    return s;
  };
  loss();
  std::vector<Buf<double>> output_grads(net.num_outputs());  // the loss reads output 0 only
  output_grads[0] = r;
  const Status st = net.backward(output_grads);
  ASSERT_TRUE(st.is_ok()) << st.to_string();
  std::vector<Buf<double>> analytic;
  for (size_t i = 0; i < x.size(); ++i) analytic.push_back(net.input_grad(i));
  for (size_t i = 0; i < x.size(); ++i) {
    ASSERT_EQ(analytic[i].shape, x[i].shape);
    for (int64_t j : positions(x[i].numel(), seed + static_cast<uint32_t>(i))) {
      const double saved = x[i].v[j];
      x[i].v[j] = saved + kStep;
      const double plus = loss();
      x[i].v[j] = saved - kStep;
      const double minus = loss();
      x[i].v[j] = saved;
      const double numeric = (plus - minus) / (2 * kStep);
      EXPECT_NEAR(analytic[i].v[j], numeric, tol(numeric)) << "input " << i << " element " << j;
    }
  }
  std::vector<Buf<double>> param_analytic;
  for (size_t p = 0; p < net.num_params(); ++p) param_analytic.push_back(net.param_grad(p));
  for (size_t p = 0; p < net.num_params(); ++p)
    for (int64_t j : positions(net.param(p).numel(), seed + 50 + static_cast<uint32_t>(p))) {
      double& w = net.param(p).v[static_cast<size_t>(j)];
      const double saved = w;
      w = saved + kStep;
      const double plus = loss();
      w = saved - kStep;
      const double minus = loss();
      w = saved;
      const double numeric = (plus - minus) / (2 * kStep);
      EXPECT_NEAR(param_analytic[p].v[static_cast<size_t>(j)], numeric, tol(numeric))
          << net.param_name(p) << "[" << j << "]";
    }
}

}  // namespace verge::test
