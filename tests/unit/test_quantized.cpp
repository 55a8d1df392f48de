// QDQ models run with integer ops (optimize/quantized.cpp): the rewrites happen (asserted on the
// optimized graph) and the results stay within the documented bound of the float QDQ graph: at most one
// quantization step per rewritten linear layer, exact for the data-movement / max-pool rewrites.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>

#include "graph_builder.h"
#include "import/onnx/importer.h"
#include "kernel_check.h"
#include "optimize/optimize.h"
#include "runtime/session_impl.h"

namespace verge {
namespace {

using test::GraphBuilder;

std::mt19937 rng(11);

template <class T>
Tensor random_ints(Shape shape, int lo, int hi) {
  Tensor t = Tensor::allocate(kDTypeOf<T>, std::move(shape)).value();
  std::uniform_int_distribution<int> u(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<T>()[i] = static_cast<T>(u(rng));
  return t;
}

// Q -> DQ of a float value with constant per-tensor parameters.
std::string qdq(GraphBuilder& b, const std::string& x, float scale, int zp, bool signed_q = false) {
  const std::string s = b.constant(x + "_s", Tensor::scalar<float>(scale));
  const std::string z = signed_q ? b.constant(x + "_z", Tensor::scalar<int8_t>(static_cast<int8_t>(zp)))
                                 : b.constant(x + "_z", Tensor::scalar<uint8_t>(static_cast<uint8_t>(zp)));
  return b.node("DequantizeLinear", {b.node("QuantizeLinear", {x, s, z}), s, z});
}

// DQ of int8 per-channel weights [M, ...] (axis 0) and, when `bias`, of an int32 bias in units of
// x_scale * w_scale[m].
std::pair<std::string, std::string> qweights(GraphBuilder& b, const std::string& name, Shape shape,
                                             float x_scale, bool bias, int64_t axis = 0) {
  const int64_t m = shape[static_cast<size_t>(axis)];
  Tensor ws = test::random_tensor(rng, {m}, 0.001f, 0.004f);
  Tensor wz = Tensor::allocate(DType::kInt8, {m}).value();
  std::memset(wz.raw(), 0, wz.nbytes());
  const std::string w = b.node("DequantizeLinear",
                               {b.constant(name + "_q", random_ints<int8_t>(shape, -127, 127)),
                                b.constant(name + "_s", ws), b.constant(name + "_z", wz)},
                               {{"axis", axis}});
  if (!bias) return {w, ""};
  Tensor bs = Tensor::allocate(DType::kFloat32, {m}).value();
  for (int64_t i = 0; i < m; ++i) bs.data<float>()[i] = x_scale * ws.data<float>()[i];
  const std::string bq = b.constant(name + "_bq", random_ints<int32_t>({m}, -3000, 3000));
  return {w, b.node("DequantizeLinear", {bq, b.constant(name + "_bs", bs)}, {{"axis", int64_t{0}}})};
}

std::map<std::string, int> op_counts(const ir::Graph& g) {
  std::map<std::string, int> c;
  for (const ir::Node& n : g.nodes) ++c[n.op_type];
  return c;
}

Tensor run_at(const std::string& bytes, OptLevel level, const Tensor& x,
              std::map<std::string, int>* ops = nullptr, bool reference_kernels = false) {
  auto m = onnx_io::load_model_from_bytes(bytes, "t.onnx", ".");
  EXPECT_TRUE(m.is_ok()) << m.status().to_string();
  OptimizeOptions o;
  o.level = level;
  auto r = optimize(*m, o);
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  if (ops) *ops = op_counts(m->graph);
  SessionOptions so;
  so.optimization = OptLevel::kNone;
  so.reference_kernels = reference_kernels;
  auto s = make_session(std::move(m).value(), so);
  EXPECT_TRUE(s.is_ok()) << s.status().to_string();
  auto out = (*s)->run({x});
  EXPECT_TRUE(out.is_ok()) << out.status().to_string();
  return (*out)[0].clone().value();
}

// max |a - e| in steps of `scale`, and the fraction of elements that differ.
std::pair<double, double> step_diff(const Tensor& a, const Tensor& e, float scale) {
  EXPECT_EQ(a.shape(), e.shape());
  double worst = 0;
  int64_t differ = 0;
  for (int64_t i = 0; i < e.numel(); ++i) {
    const double d = std::fabs(double(a.data<float>()[i]) - e.data<float>()[i]) / scale;
    worst = std::max(worst, d);
    differ += d > 1e-3;
  }
  return {worst, double(differ) / double(e.numel())};
}

struct ConvCase {
  int64_t c, m, k, stride, pad, group;
  bool relu, bias, signed_y;
};

TEST(QuantizedGraph, ConvBecomesQLinearConvWithinOneStep) {
  const ConvCase cases[] = {{8, 16, 3, 1, 1, 1, true, true, false},
                            {8, 16, 3, 2, 1, 1, false, true, true},
                            {16, 24, 1, 1, 0, 1, true, false, false},
                            {12, 12, 3, 1, 1, 12, true, true, false},
                            {3, 10, 7, 2, 3, 1, false, false, false}};
  for (const ConvCase& cc : cases) {
    SCOPED_TRACE(cc.c * 1000 + cc.m);
    GraphBuilder b;
    const float xs = 1.f / 255, ys = cc.relu ? 2.f / 255 : 4.f / 255;
    const std::string x = qdq(b, b.input("x", {1, cc.c, 13, 11}), xs, 0);
    auto [w, bias] = qweights(b, "w", {cc.m, cc.c / cc.group, cc.k, cc.k}, xs, cc.bias);
    std::vector<std::string> ins = {x, w};
    if (cc.bias) ins.push_back(bias);
    std::string y = b.node("Conv", ins,
                           {{"kernel_shape", std::vector<int64_t>{cc.k, cc.k}},
                            {"strides", std::vector<int64_t>{cc.stride, cc.stride}},
                            {"pads", std::vector<int64_t>{cc.pad, cc.pad, cc.pad, cc.pad}},
                            {"group", cc.group}});
    if (cc.relu) y = b.node("Relu", {y});
    y = qdq(b, y, ys, cc.relu ? (cc.signed_y ? -128 : 0) : (cc.signed_y ? 0 : 128), cc.signed_y);
    b.output(y,
             {1, cc.m, (13 + 2 * cc.pad - cc.k) / cc.stride + 1, (11 + 2 * cc.pad - cc.k) / cc.stride + 1});
    const Tensor input = test::random_tensor(rng, {1, cc.c, 13, 11}, 0.f, 1.f);
    std::map<std::string, int> ops;
    const Tensor expected = run_at(b.bytes(), OptLevel::kNone, input);
    for (OptLevel level : {OptLevel::kExtended, OptLevel::kAll}) {
      const Tensor got = run_at(b.bytes(), level, input, &ops);
      EXPECT_EQ(ops["QLinearConv"], 1);
      EXPECT_EQ(ops.count("Conv") + ops.count("Relu"), 0u);
      auto [worst, frac] = step_diff(got, expected, ys);
      EXPECT_LE(worst, 1.0 + 1e-3);
      EXPECT_LT(frac, 0.02);  // float vs exact integer sums: only values next to a rounding boundary move
    }
  }
}

TEST(QuantizedGraph, SmallCnnRunsOnIntegers) {
  // QDQ conv -> relu -> maxpool -> conv -> relu -> flatten -> gemm, as a QDQ quantizer lays it out.
  GraphBuilder b;
  const float xs = 1.f / 255, a1 = 3.f / 255, a2 = 3.f / 255, a3 = 4.f / 255;
  const std::string x = qdq(b, b.input("x", {1, 3, 16, 16}), xs, 0);
  auto [w1, b1] = qweights(b, "w1", {16, 3, 3, 3}, xs, true);
  std::string y = b.node("Conv", {x, w1, b1}, {{"pads", std::vector<int64_t>{1, 1, 1, 1}}});
  y = qdq(b, b.node("Relu", {y}), a1, 0);
  y = qdq(b,
          b.node("MaxPool", {y},
                 {{"kernel_shape", std::vector<int64_t>{2, 2}}, {"strides", std::vector<int64_t>{2, 2}}}),
          a1, 0);
  auto [w2, b2] = qweights(b, "w2", {32, 16, 3, 3}, a1, true);
  y = b.node("Conv", {y, w2, b2},
             {{"pads", std::vector<int64_t>{1, 1, 1, 1}}, {"strides", std::vector<int64_t>{2, 2}}});
  y = qdq(b, b.node("Relu", {y}), a2, 0);
  y = qdq(b, b.node("Flatten", {y}), a2, 0);
  auto [w3, b3] = qweights(b, "w3", {10, 32 * 4 * 4}, a2, true);
  y = b.node("Gemm", {y, w3, b3}, {{"transB", int64_t{1}}});
  y = qdq(b, y, a3, 128);
  b.output(y, {1, 10});
  const Tensor input = test::random_tensor(rng, {1, 3, 16, 16}, 0.f, 1.f);
  std::map<std::string, int> ops;
  const Tensor expected = run_at(b.bytes(), OptLevel::kNone, input);
  const Tensor got = run_at(b.bytes(), OptLevel::kAll, input, &ops);
  EXPECT_EQ(ops["QLinearConv"], 3);
  EXPECT_EQ(ops["MaxPool"], 1);
  EXPECT_EQ(ops["QuantizeLinear"], 1);    // the input
  EXPECT_EQ(ops["DequantizeLinear"], 1);  // the output
  for (const char* op : {"Conv", "Gemm", "Relu", "BlockedConv"}) EXPECT_EQ(ops.count(op), 0u) << op;
  auto [worst, frac] = step_diff(got, expected, a3);
  EXPECT_LE(worst, 4.0);  // one-step differences of earlier layers propagate a little
  EXPECT_LT(frac, 0.5);
}

TEST(QuantizedGraph, ResidualAddAndMulAreExact) {
  // conv -> relu, then residual Add (+ Relu) and an elementwise Mul, each between DQ inputs and a Q.
  GraphBuilder b;
  const float xs = 1.f / 255, a1 = 2.f / 255;
  const std::string x = qdq(b, b.input("x", {1, 8, 9, 9}), xs, 0);
  auto [w, bias] = qweights(b, "w", {8, 8, 3, 3}, xs, true);
  const std::string c = qdq(
      b, b.node("Relu", {b.node("Conv", {x, w, bias}, {{"pads", std::vector<int64_t>{1, 1, 1, 1}}})}), a1, 0);
  std::string y = qdq(b, b.node("Relu", {b.node("Add", {c, x})}), 3.f / 255, 0);
  y = qdq(b, b.node("Mul", {y, c}), 0.5f / 255, 0);
  b.output(y, {1, 8, 9, 9});
  const Tensor input = test::random_tensor(rng, {1, 8, 9, 9}, 0.f, 1.f);
  std::map<std::string, int> ops;
  const Tensor expected = run_at(b.bytes(), OptLevel::kNone, input);
  const Tensor got = run_at(b.bytes(), OptLevel::kAll, input, &ops);
  EXPECT_EQ(ops["QAdd"], 1);
  EXPECT_EQ(ops["QMul"], 1);
  EXPECT_EQ(ops.count("Add") + ops.count("Mul") + ops.count("Relu"), 0u);
  // QAdd / QMul are exact; a one-step difference of the conv (rare) is amplified by the finer output scale.
  auto [worst, frac] = step_diff(got, expected, 0.5f / 255);
  EXPECT_LE(worst, 8.0);
  EXPECT_LT(frac, 0.02);
}

TEST(QuantizedGraph, ActivationsBecomeLookupTablesExactly) {
  const std::vector<std::pair<std::string, std::vector<std::pair<std::string, test::AttrValue>>>> acts = {
      {"Sigmoid", {}},
      {"HardSigmoid", {{"alpha", 0.2f}, {"beta", 0.5f}}},
      {"HardSwish", {}},
      {"Tanh", {}},
      {"LeakyRelu", {{"alpha", 0.1f}}},
      {"Relu", {}}};
  for (bool s8 : {false, true})
    for (const auto& [op, attrs] : acts) {
      SCOPED_TRACE(op);
      GraphBuilder b(14);
      const std::string x = qdq(b, b.input("x", {2, 3, 5, 7}), 0.05f, s8 ? -3 : 128, s8);
      b.output(qdq(b, b.node(op, {x}, attrs), 0.01f, s8 ? 0 : 7, s8), {2, 3, 5, 7});
      const Tensor input = test::random_tensor(rng, {2, 3, 5, 7}, -7.f, 7.f);
      std::map<std::string, int> ops;
      // Exact against the float graph on the reference kernels (the oracle the table is built with);
      // optimized float activations may differ from them in the last bit, hence by a step after Q.
      const Tensor expected = run_at(b.bytes(), OptLevel::kNone, input, nullptr, true);
      const Tensor got = run_at(b.bytes(), OptLevel::kAll, input, &ops);
      EXPECT_EQ(ops["QLut"], 1);
      EXPECT_EQ(ops.count(op), 0u);
      EXPECT_EQ(step_diff(got, expected, 0.01f).first, 0.0);
    }
}

// Concat of inputs quantized with other parameters than the output (SqueezeNet's fire modules): the
// inputs are requantized by lookup tables and concatenated as bytes, exactly the float QDQ graph's values.
TEST(QuantizedGraph, ConcatWithOtherParametersRequantizesExactly) {
  for (bool s8 : {false, true}) {
    SCOPED_TRACE(s8);
    GraphBuilder b;
    const std::string x0 = qdq(b, b.input("a", {1, 3, 4, 5}), 0.02f, s8 ? 5 : 128, s8);
    const std::string x1 = qdq(b, b.input("b", {1, 2, 4, 5}), 0.05f, s8 ? -7 : 100, s8);
    const std::string x2 = qdq(b, b.input("c", {1, 4, 4, 5}), 0.03f, s8 ? 2 : 120, s8);  // = the output's
    b.output(qdq(b, b.node("Concat", {x0, x1, x2}, {{"axis", int64_t{1}}}), 0.03f, s8 ? 2 : 120, s8),
             {1, 9, 4, 5});
    std::vector<Tensor> inputs = {test::random_tensor(rng, {1, 3, 4, 5}, -4.f, 4.f),
                                  test::random_tensor(rng, {1, 2, 4, 5}, -8.f, 8.f),
                                  test::random_tensor(rng, {1, 4, 4, 5}, -4.f, 4.f)};
    auto run = [&](OptLevel level, std::map<std::string, int>* ops) {
      auto m = onnx_io::load_model_from_bytes(b.bytes(), "t.onnx", ".");
      EXPECT_TRUE(m.is_ok());
      OptimizeOptions o;
      o.level = level;
      EXPECT_TRUE(optimize(*m, o).is_ok());
      if (ops) *ops = op_counts(m->graph);
      SessionOptions so;
      so.optimization = OptLevel::kNone;
      auto sess = make_session(std::move(m).value(), so);
      EXPECT_TRUE(sess.is_ok());
      auto out = (*sess)->run(inputs);
      EXPECT_TRUE(out.is_ok()) << out.status().to_string();
      return (*out)[0].clone().value();
    };
    std::map<std::string, int> ops;
    const Tensor expected = run(OptLevel::kNone, nullptr);
    const Tensor got = run(OptLevel::kAll, &ops);
    EXPECT_EQ(ops["QLut"], 2);  // the third input already has the output's parameters
    EXPECT_EQ(ops["Concat"], 1);
    EXPECT_EQ(ops["DequantizeLinear"], 1);  // only the graph output's
    EXPECT_EQ(step_diff(got, expected, 0.03f).first, 0.0);
  }
}

// SiLU as the quantizer writes it, Q(Mul(DQ(x), DQ(Q(Sigmoid(DQ(x)))))), and x * HardSigmoid(x): one table
// of x's byte, exactly the float graph's values (reference kernels, the tables' oracle).
TEST(QuantizedGraph, SiluBecomesOneLookupTableExactly) {
  for (const char* gate : {"Sigmoid", "HardSigmoid"})
    for (bool s8 : {false, true}) {
      SCOPED_TRACE(std::string(gate) + (s8 ? " int8" : " uint8"));
      GraphBuilder b(14);
      const std::string x = qdq(b, b.input("x", {2, 3, 5, 7}), 0.05f, s8 ? -3 : 128, s8);
      const std::string g = qdq(b, b.node(gate, {x}), 1.f / 255, s8 ? -128 : 0, s8);
      b.output(qdq(b, b.node("Mul", {x, g}), 0.03f, s8 ? -20 : 10, s8), {2, 3, 5, 7});
      const Tensor input = test::random_tensor(rng, {2, 3, 5, 7}, -7.f, 7.f);
      std::map<std::string, int> ops;
      const Tensor expected = run_at(b.bytes(), OptLevel::kNone, input, nullptr, true);
      const Tensor got = run_at(b.bytes(), OptLevel::kAll, input, &ops);
      EXPECT_EQ(ops["QLut"], 1);
      EXPECT_EQ(ops.count("QMul") + ops.count("Mul") + ops.count(gate), 0u);
      EXPECT_EQ(step_diff(got, expected, 0.03f).first, 0.0);
    }
}

// Q(GlobalAveragePool(DQ(x))) runs as verge.QGlobalAveragePool: an integer sum scaled once, within one
// output step of the float graph (which sums dequantized floats).
TEST(QuantizedGraph, GlobalAveragePoolRunsOnIntegers) {
  for (bool s8 : {false, true}) {
    SCOPED_TRACE(s8);
    GraphBuilder b;
    const std::string x = qdq(b, b.input("x", {2, 19, 13, 13}), 0.05f, s8 ? 4 : 120, s8);
    b.output(qdq(b, b.node("GlobalAveragePool", {x}), 0.01f, s8 ? -5 : 100, s8), {2, 19, 1, 1});
    const Tensor input = test::random_tensor(rng, {2, 19, 13, 13}, -3.f, 6.f);
    std::map<std::string, int> ops;
    const Tensor expected = run_at(b.bytes(), OptLevel::kNone, input);
    const Tensor got = run_at(b.bytes(), OptLevel::kAll, input, &ops);
    EXPECT_EQ(ops["QGlobalAveragePool"], 1);
    EXPECT_EQ(ops.count("GlobalAveragePool"), 0u);
    EXPECT_LE(step_diff(got, expected, 0.01f).first, 1.0);
    // The reference kernel of the fused graph gives the same bytes as the optimized one.
    const Tensor got_ref = run_at(b.bytes(), OptLevel::kAll, input, nullptr, true);
    EXPECT_EQ(step_diff(got, got_ref, 0.01f).first, 0.0);
  }
}

// AveragePool between Q/DQ pairs runs as verge.QAveragePool on the bytes: within one step of the float
// graph (rounding only), across pads with and without count_include_pad, strides, ceil_mode.
TEST(QuantizedGraph, AveragePoolRunsOnIntegers) {
  struct Case {
    int64_t k, stride, pad, include_pad, ceil;
  };
  for (bool s8 : {false, true})
    for (Case cs : {Case{3, 1, 1, 0, 0}, Case{3, 1, 1, 1, 0}, Case{2, 2, 0, 0, 0}, Case{3, 2, 1, 0, 1},
                    Case{3, 2, 1, 1, 1}, Case{2, 2, 0, 1, 1}, Case{5, 3, 2, 0, 0}}) {
      SCOPED_TRACE(std::to_string(s8) + " k" + std::to_string(cs.k) + " s" + std::to_string(cs.stride) +
                   " p" + std::to_string(cs.pad) + " cip" + std::to_string(cs.include_pad) + " ceil" +
                   std::to_string(cs.ceil));
      GraphBuilder b;
      const std::string x = qdq(b, b.input("x", {2, 5, 11, 13}), 0.05f, s8 ? 4 : 120, s8);
      const std::string pool = b.node("AveragePool", {x},
                                      {{"kernel_shape", std::vector<int64_t>{cs.k, cs.k}},
                                       {"strides", std::vector<int64_t>{cs.stride, cs.stride}},
                                       {"pads", std::vector<int64_t>{cs.pad, cs.pad, cs.pad, cs.pad}},
                                       {"count_include_pad", cs.include_pad},
                                       {"ceil_mode", cs.ceil}});
      const int64_t oh = (11 + 2 * cs.pad - cs.k + (cs.ceil ? cs.stride - 1 : 0)) / cs.stride + 1;
      const int64_t ow = (13 + 2 * cs.pad - cs.k + (cs.ceil ? cs.stride - 1 : 0)) / cs.stride + 1;
      b.output(qdq(b, pool, 0.03f, s8 ? -5 : 100, s8), {2, 5, oh, ow});
      const Tensor input = test::random_tensor(rng, {2, 5, 11, 13}, -3.f, 6.f);
      std::map<std::string, int> ops;
      const Tensor expected = run_at(b.bytes(), OptLevel::kNone, input);
      const Tensor got = run_at(b.bytes(), OptLevel::kAll, input, &ops);
      EXPECT_EQ(ops["QAveragePool"], 1);
      EXPECT_EQ(ops.count("AveragePool"), 0u);
      auto [worst, frac] = step_diff(got, expected, 0.03f);
      EXPECT_LE(worst, 1.0 + 1e-4);  // one step, measured in float
      EXPECT_LT(frac, 0.05);
    }
}

// Selection ops between Q/DQ pairs with equal parameters run on the bytes, exactly: nearest Resize (the
// 8-bit kernel), Slice, Gather; a linear Resize stays float.
TEST(QuantizedGraph, NearestResizeSliceGatherRunOnIntegers) {
  for (bool s8 : {false, true}) {
    SCOPED_TRACE(s8);
    GraphBuilder b;
    const float s = 0.04f;
    const int zp = s8 ? -3 : 117;
    std::string y = qdq(b, b.input("x", {1, 6, 5, 7}), s, zp, s8);
    Tensor scales = Tensor::allocate(DType::kFloat32, {4}).value();
    const float sc[4] = {1, 1, 2, 2};
    std::copy(sc, sc + 4, scales.data<float>());
    const std::string roi = b.constant("roi", Tensor::allocate(DType::kFloat32, {0}).value());
    y = qdq(b, b.node("Resize", {y, roi, b.constant("scales", scales)}, {{"mode", std::string("nearest")}}),
            s, zp, s8);
    auto ints = [](std::vector<int64_t> v) {
      Tensor t = Tensor::allocate(DType::kInt64, {static_cast<int64_t>(v.size())}).value();
      std::copy(v.begin(), v.end(), t.data<int64_t>());
      return t;
    };
    y = qdq(b,
            b.node("Slice", {y, b.constant("st", ints({1, 2})), b.constant("en", ints({5, 12})),
                             b.constant("ax", ints({1, 2}))}),
            s, zp, s8);
    y = qdq(b, b.node("Gather", {y, b.constant("idx", ints({3, 0, 2}))}, {{"axis", int64_t{1}}}), s, zp, s8);
    const std::string lin =
        b.node("Resize", {y, roi, b.constant("scales2", scales)}, {{"mode", std::string("linear")}});
    b.output(qdq(b, lin, s, zp, s8), {1, 3, 20, 28});
    const Tensor input = test::random_tensor(rng, {1, 6, 5, 7}, -4.f, 6.f);
    std::map<std::string, int> ops;
    const Tensor expected = run_at(b.bytes(), OptLevel::kNone, input);
    const Tensor got = run_at(b.bytes(), OptLevel::kAll, input, &ops);
    EXPECT_EQ(ops["Resize"], 2);  // the nearest one on bytes, the linear one in float
    EXPECT_EQ(ops["Slice"], 1);
    EXPECT_EQ(ops["Gather"], 1);
    EXPECT_EQ(ops["QuantizeLinear"], 2);    // the input, after the linear Resize
    EXPECT_EQ(ops["DequantizeLinear"], 2);  // before the linear Resize, the output
    EXPECT_EQ(step_diff(got, expected, s).first, 0.0);
  }
}

TEST(QuantizedGraph, QdqPairsCancel) {
  GraphBuilder b;
  const std::string x = qdq(b, b.input("x", {2, 5}), 0.1f, 10);
  const std::string y =
      qdq(b, b.node("Reshape", {x, b.constant("shape", Tensor::from_vector<int64_t>({1}, {10}))}), 0.1f, 10);
  b.output(qdq(b, y, 0.1f, 10), {10});
  const Tensor input = test::random_tensor(rng, {2, 5}, -2.f, 2.f);
  std::map<std::string, int> ops;
  const Tensor expected = run_at(b.bytes(), OptLevel::kNone, input);
  const Tensor got = run_at(b.bytes(), OptLevel::kExtended, input, &ops);
  EXPECT_EQ(ops["QuantizeLinear"], 1);
  EXPECT_EQ(ops["DequantizeLinear"], 1);
  EXPECT_EQ(step_diff(got, expected, 0.1f).first, 0.0);
}

}  // namespace
}  // namespace verge
