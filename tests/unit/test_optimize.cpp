// The graph optimizer: each pass rewrites what it should (asserted on the resulting graph) and every
// level computes the same results as the unoptimized model.
#include <gtest/gtest.h>

#include <random>

#include "core/compare.h"
#include "graph_builder.h"
#include "import/onnx/importer.h"
#include "kernel_check.h"
#include "op_test.h"
#include "optimize/optimize.h"
#include "runtime/session_impl.h"

namespace verge {
namespace {

using test::GraphBuilder;

std::map<std::string, int> op_counts(const ir::Graph& g) {
  std::map<std::string, int> c;
  for (const ir::Node& n : g.nodes) ++c[n.op_type];
  return c;
}

// Optimizes at `level` (blocked layout with `block`) and returns the op histogram.
std::map<std::string, int> optimized_ops(const std::string& bytes, OptLevel level, int block = 16) {
  auto m = onnx_io::load_model_from_bytes(bytes, "t.onnx", ".");
  EXPECT_TRUE(m.is_ok()) << m.status().to_string();
  OptimizeOptions o;
  o.level = level;
  o.block = block;
  auto r = optimize(*m, o);
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  return op_counts(m->graph);
}

// Runs the model at every level (and both block sizes) and compares with the unoptimized result.
void expect_same_results(const std::string& bytes, const std::vector<Tensor>& inputs, double tol = 1e-5) {
  auto run = [&](OptLevel level, int block) -> Tensor {
    auto m = onnx_io::load_model_from_bytes(bytes, "t.onnx", ".");
    EXPECT_TRUE(m.is_ok());
    OptimizeOptions o;
    o.level = level;
    o.block = block;
    EXPECT_TRUE(optimize(*m, o).is_ok());
    SessionOptions so;
    so.optimization = OptLevel::kNone;  // already optimized above, with the chosen block size
    auto s = make_session(std::move(m).value(), so);
    EXPECT_TRUE(s.is_ok()) << s.status().to_string();
    auto out = (*s)->run(inputs);
    EXPECT_TRUE(out.is_ok()) << out.status().to_string();
    return out.is_ok() ? (*out)[0].clone().value() : Tensor();
  };
  const Tensor expected = run(OptLevel::kNone, 0);
  for (OptLevel level : {OptLevel::kBasic, OptLevel::kExtended, OptLevel::kAll})
    for (int block : {8, 16}) {
      if (level != OptLevel::kAll && block == 8) continue;
      Comparison c = compare_relative_to_max(run(level, block), expected, tol);
      EXPECT_TRUE(c.ok) << "level " << opt_level_name(level) << " block " << block << ": " << c.message;
    }
}

std::mt19937 rng(7);

TEST(Optimize, BatchNormFoldsIntoConvAndFuses) {
  GraphBuilder b;
  const int c = 5, m = 12;
  std::string x = b.input("x", {2, c, 9, 9});
  std::string w = b.constant("w", test::random_tensor(rng, {m, c, 3, 3}));
  std::string conv = b.node("Conv", {x, w}, {{"pads", std::vector<int64_t>{1, 1, 1, 1}}});
  std::string bn = b.node("BatchNormalization",
                          {conv, b.constant("s", test::random_tensor(rng, {m}, 0.5f, 2.f)), b.constant("bb", test::random_tensor(rng, {m})),
                           b.constant("mean", test::random_tensor(rng, {m})), b.constant("var", test::random_tensor(rng, {m}, 0.1f, 2.f))},
                          {{"epsilon", 1e-3f}});
  std::string y = b.node("Relu", {bn});
  b.output(y, {2, m, 9, 9});
  auto basic = optimized_ops(b.bytes(), OptLevel::kBasic);
  EXPECT_EQ(basic.count("BatchNormalization"), 0u);
  EXPECT_EQ(basic["Conv"], 1);
  auto ext = optimized_ops(b.bytes(), OptLevel::kExtended);
  EXPECT_EQ(ext, (std::map<std::string, int>{{"FusedConv", 1}}));
  auto all = optimized_ops(b.bytes(), OptLevel::kAll);
  EXPECT_EQ(all, (std::map<std::string, int>{{"BlockedConv", 1}, {"FromBlocked", 1}, {"ToBlocked", 1}}));
  expect_same_results(b.bytes(), {test::random_tensor(rng, {2, c, 9, 9})});
}

TEST(Optimize, SiluHardSwishAndResidualFuse) {
  GraphBuilder b;
  const int c = 20;
  std::string x = b.input("x", {1, c, 7, 7});
  std::string c1 = b.node("Conv", {x, b.constant("w1", test::random_tensor(rng, {c, c, 1, 1})), b.constant("b1", test::random_tensor(rng, {c}))});
  std::string silu = b.node("Mul", {c1, b.node("Sigmoid", {c1})});
  std::string c2 = b.node("Conv", {silu, b.constant("w2", test::random_tensor(rng, {c, 1, 3, 3}))},
                          {{"group", int64_t{c}}, {"pads", std::vector<int64_t>{1, 1, 1, 1}}});
  std::string res = b.node("Add", {c2, x});
  std::string hs = b.node("Mul", {res, b.node("HardSigmoid", {res}, {{"alpha", 1.f / 6}, {"beta", 0.5f}})});
  b.output(hs, {1, c, 7, 7});
  auto ext = optimized_ops(b.bytes(), OptLevel::kExtended);
  EXPECT_EQ(ext, (std::map<std::string, int>{{"FusedConv", 2}}));
  expect_same_results(b.bytes(), {test::random_tensor(rng, {1, c, 7, 7})});
}

TEST(Optimize, MatMulAddBecomesGemmOnlyFor2D) {
  GraphBuilder b;
  std::string x = b.input("x", {-1, 6});
  std::string y = b.node("Add", {b.node("MatMul", {x, b.constant("w", test::random_tensor(rng, {6, 4}))}),
                                 b.constant("bias", test::random_tensor(rng, {4}))});
  b.output(b.node("Relu", {y}), {-1, 4});
  auto basic = optimized_ops(b.bytes(), OptLevel::kBasic);
  EXPECT_EQ(basic["Gemm"], 1);
  EXPECT_EQ(basic.count("MatMul"), 0u);
  EXPECT_EQ(optimized_ops(b.bytes(), OptLevel::kExtended), (std::map<std::string, int>{{"FusedGemm", 1}}));
  expect_same_results(b.bytes(), {test::random_tensor(rng, {3, 6})});

  GraphBuilder b3;  // 3-D A stays MatMul + Add
  std::string x3 = b3.input("x", {2, 3, 6});
  std::string y3 = b3.node("Add", {b3.node("MatMul", {x3, b3.constant("w", test::random_tensor(rng, {6, 4}))}),
                                   b3.constant("bias", test::random_tensor(rng, {4}))});
  b3.output(y3, {2, 3, 4});
  EXPECT_EQ(optimized_ops(b3.bytes(), OptLevel::kBasic)["MatMul"], 1);
}

TEST(Optimize, ShapeSubgraphsFoldOnlyForStaticShapes) {
  // Flatten written the PyTorch-export way: Reshape(x, Concat(Gather(Shape(x), 0), [-1])).
  for (bool static_batch : {true, false}) {
    GraphBuilder b;
    std::string x = b.input("x", {static_batch ? 2 : -1, 3, 4});
    std::string n = b.node("Gather", {b.node("Shape", {x}), b.constant("zero", Tensor::scalar<int64_t>(0))});
    std::string shape = b.node("Concat", {b.node("Unsqueeze", {n, b.constant("ax", test::I64({1}, {0}))}),
                                          b.constant("minus1", test::I64({1}, {-1}))},
                               {{"axis", int64_t{0}}});
    b.output(b.node("Reshape", {x, shape}), {-1, -1});
    auto ops = optimized_ops(b.bytes(), OptLevel::kBasic);
    if (static_batch) EXPECT_EQ(ops, (std::map<std::string, int>{{"Reshape", 1}}));
    else EXPECT_EQ(ops["Shape"], 1);
    // With a symbolic batch the folded graph must still work for any batch size.
    const int64_t batch = static_batch ? 2 : 5;
    auto m = onnx_io::load_model_from_bytes(b.bytes(), "t.onnx", ".");
    ASSERT_TRUE(m.is_ok());
    auto s = make_session(std::move(m).value());
    ASSERT_TRUE(s.is_ok());
    Tensor in = test::random_tensor(rng, {batch, 3, 4});
    auto out = (*s)->run({in});
    ASSERT_TRUE(out.is_ok()) << out.status().to_string();
    EXPECT_EQ((*out)[0].shape(), (Shape{batch, 12}));
  }
}

TEST(Optimize, IdentityAndDropoutDisappearButGraphOutputsKeepTheirNames) {
  GraphBuilder b;
  std::string x = b.input("x", {4});
  std::string d = b.node("Dropout", {b.node("Identity", {x})});
  std::string y = b.node("Identity", {b.node("Relu", {d})});
  b.output(y, {4});
  auto m = onnx_io::load_model_from_bytes(b.bytes(), "t.onnx", ".");
  ASSERT_TRUE(m.is_ok());
  OptimizeOptions o;
  o.level = OptLevel::kBasic;
  ASSERT_TRUE(optimize(*m, o).is_ok());
  EXPECT_EQ(op_counts(m->graph), (std::map<std::string, int>{{"Identity", 1}, {"Relu", 1}}));
  EXPECT_EQ(m->graph.value(m->graph.outputs[0]).name, y);
}

// Squeeze-and-excitation in the blocked layout: the per-channel gate broadcasts over the spatial dims
// of blocked tensors; channel counts that are not multiples of the block exercise padding lanes.
TEST(Optimize, SqueezeExcitationStaysBlocked) {
  GraphBuilder b;
  const int c = 24, r = 6;
  std::string x = b.input("x", {1, c, 10, 10});
  std::string feat = b.node("Relu", {b.node("Conv", {x, b.constant("w", test::random_tensor(rng, {c, c, 3, 3})),
                                                   b.constant("bw", test::random_tensor(rng, {c}))},
                                            {{"pads", std::vector<int64_t>{1, 1, 1, 1}}})});
  std::string pooled = b.node("GlobalAveragePool", {feat});
  std::string s1 = b.node("Relu", {b.node("Conv", {pooled, b.constant("w1", test::random_tensor(rng, {r, c, 1, 1}))})});
  std::string gate = b.node("HardSigmoid", {b.node("Conv", {s1, b.constant("w2", test::random_tensor(rng, {c, r, 1, 1}))})});
  std::string scaled = b.node("Mul", {feat, gate});
  std::string halved = b.node("Div", {scaled, b.constant("two", Tensor::scalar<float>(2.f))});
  std::string joined = b.node("Concat", {halved, x}, {{"axis", int64_t{1}}});
  b.output(b.node("MaxPool", {joined}, {{"kernel_shape", std::vector<int64_t>{2, 2}}, {"strides", std::vector<int64_t>{2, 2}}}),
           {1, 2 * c, 5, 5});
  auto all = optimized_ops(b.bytes(), OptLevel::kAll);
  EXPECT_EQ(all["FromBlocked"], 1);  // only the graph output leaves the blocked layout
  EXPECT_EQ(all["BlockedConcat"], 1);
  EXPECT_EQ(all["BlockedPool"], 2);
  expect_same_results(b.bytes(), {test::random_tensor(rng, {1, c, 10, 10})});
}

// A ShuffleNet-v2 unit: channel Split / Slice, Concat and the Reshape-Transpose-Reshape shuffle become
// channel maps in the blocked layout, materialized once where a convolution reads them.
TEST(Optimize, ChannelShuffleBecomesChannelMaps) {
  GraphBuilder b;
  const int c = 58;  // halves of 29: nothing lines up with a block
  std::string x = b.input("x", {1, c, 6, 6});
  std::string t = b.node("Conv", {x, b.constant("w0", test::random_tensor(rng, {c, c, 1, 1}))});
  std::string x1 = b.node("Slice", {t, b.constant("s0", test::I64({1}, {0})), b.constant("e0", test::I64({1}, {c / 2})),
                                    b.constant("ax", test::I64({1}, {1}))});
  std::string x2 = b.node("Slice", {t, b.constant("s1", test::I64({1}, {c / 2})), b.constant("e1", test::I64({1}, {c})),
                                    b.constant("ax1", test::I64({1}, {1}))});
  std::string br = b.node("Relu", {b.node("Conv", {x2, b.constant("w1", test::random_tensor(rng, {c / 2, c / 2, 1, 1}))})});
  std::string cat = b.node("Concat", {x1, br}, {{"axis", int64_t{1}}});
  std::string r5 = b.node("Reshape", {cat, b.constant("shape5", test::I64({5}, {1, 2, c / 2, 6, 6}))});
  std::string tr = b.node("Transpose", {r5}, {{"perm", std::vector<int64_t>{0, 2, 1, 3, 4}}});
  std::string shuffled = b.node("Reshape", {tr, b.constant("shape4", test::I64({4}, {1, c, 6, 6}))});
  std::string parts = b.node("Split", {shuffled, b.constant("split", test::I64({2}, {c / 2, c / 2}))}, {{"axis", int64_t{1}}}, 2);
  std::string y = b.node("Conv", {parts + "_1", b.constant("w2", test::random_tensor(rng, {c / 2, c / 2, 1, 1}))});
  b.output(b.node("Concat", {parts, y}, {{"axis", int64_t{1}}}), {1, c, 6, 6});
  auto all = optimized_ops(b.bytes(), OptLevel::kAll);
  EXPECT_EQ(all.count("Transpose"), 0u);
  EXPECT_EQ(all.count("Reshape"), 0u);
  EXPECT_EQ(all.count("Slice"), 0u);
  EXPECT_EQ(all.count("Split"), 0u);
  EXPECT_EQ(all["FromBlocked"], 1);
  EXPECT_GE(all["ChannelGather"], 1);
  expect_same_results(b.bytes(), {test::random_tensor(rng, {1, c, 6, 6})});
}

TEST(Optimize, RuntimeDivisorKeepsPlanarLayout) {
  GraphBuilder b;
  const int c = 5;
  std::string x = b.input("x", {1, c, 4, 4});
  std::string d = b.input("d", {1, c, 4, 4});
  std::string conv = b.node("Conv", {x, b.constant("w", test::random_tensor(rng, {c, c, 1, 1}))});
  b.output(b.node("Div", {conv, d}), {1, c, 4, 4});
  auto all = optimized_ops(b.bytes(), OptLevel::kAll);
  EXPECT_EQ(all["Div"], 1);
  EXPECT_EQ(all["FromBlocked"], 1);  // Div runs on the planar tensor
  expect_same_results(b.bytes(), {test::random_tensor(rng, {1, c, 4, 4}), test::random_tensor(rng, {1, c, 4, 4}, 0.5f, 1.f)});
}

TEST(Optimize, BasicLevelIsStandardOnnx) {
  auto m = onnx_io::load_model(test::test_data("fmnist_cnn.onnx"));
  ASSERT_TRUE(m.is_ok());
  OptimizeOptions o;
  o.level = OptLevel::kBasic;
  ASSERT_TRUE(optimize(*m, o).is_ok());
  for (const ir::Node& n : m->graph.nodes) EXPECT_EQ(n.domain, "") << n.op_type;
  auto bytes = onnx_io::save_model_to_bytes(*m);
  ASSERT_TRUE(bytes.is_ok());
  EXPECT_EQ(bytes->find("verge"), std::string::npos);
}

TEST(Optimize, AllLevelSavesAndReloads) {
  auto m = onnx_io::load_model(test::test_data("fmnist_cnn.onnx"));
  ASSERT_TRUE(m.is_ok());
  OptimizeOptions o;
  o.level = OptLevel::kAll;
  o.block = 16;
  ASSERT_TRUE(optimize(*m, o).is_ok());
  auto bytes = onnx_io::save_model_to_bytes(*m);
  ASSERT_TRUE(bytes.is_ok());
  auto again = onnx_io::load_model_from_bytes(*bytes, "opt.onnx", ".");
  ASSERT_TRUE(again.is_ok()) << again.status().to_string();
  EXPECT_EQ(op_counts(again->graph), op_counts(m->graph));
  bool declared = false;
  for (const auto& [d, v] : again->other_opsets) declared = declared || (d == "verge" && v == 1);
  EXPECT_TRUE(declared);
}

}  // namespace
}  // namespace verge
