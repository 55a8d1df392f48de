// Reference kernels of reductions, arg-reductions, the softmax family, CumSum, TopK and normalizations
// against hand-computed values.
#include <cmath>
#include <limits>

#include "op_test.h"
#include "verge/session.h"

namespace verge::test {
namespace {
constexpr float kInf = std::numeric_limits<float>::infinity();

void expect_error(OpTest& t, const std::string& text) {
  Status st = t.run_expect_error();
  EXPECT_NE(st.message().find(text), std::string::npos) << st.message();
}

// Runs one session on two feeds that differ only in the value of a runtime input (axes, K, axis): the
// kernels must read such values at run time, not keep what the first run saw.
void expect_values(Session& s, std::initializer_list<Tensor> feeds, const Tensor& expected,
                   size_t output = 0) {
  auto r = s.run(feeds);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  ASSERT_EQ((*r)[output].shape(), expected.shape());
  for (int64_t i = 0; i < expected.numel(); ++i)
    EXPECT_EQ((*r)[output].get_as_double(i), expected.get_as_double(i)) << "element " << i;
}
}  // namespace

// ---------------------------------------------------------------------------------------------------
// ReduceSum: axes is an input (opset 13).
TEST(Reduce, ReduceSumConstantAxesKeepdims) {
  OpTest("ReduceSum")
      .input("X", F({2, 3}, {1, 2, 3, 4, 5, 6}))
      .constant_input("axes", I64({1}, {1}))
      .output("Y", F({2, 1}, {6, 15}))
      .run();
}

TEST(Reduce, ReduceSumRuntimeAxesNoKeepdims) {
  OpTest("ReduceSum")
      .input("X", F({2, 3}, {1, 2, 3, 4, 5, 6}))
      .input("axes", I64({1}, {0}))
      .attr("keepdims", 0)
      .output("Y", F({3}, {5, 7, 9}))
      .run();
}

TEST(Reduce, RuntimeValuesChangeBetweenRuns) {
  const Tensor x = F({2, 3}, {1, 2, 3, 4, 5, 6});
  {
    OpTest t("ReduceSum");
    t.input("X", x).input("axes", I64({1}, {0})).output("Y", F({1, 3}, {5, 7, 9}));
    auto s = Session::load_from_memory(t.model_bytes());
    ASSERT_TRUE(s.is_ok()) << s.status().to_string();
    expect_values(**s, {x, I64({1}, {0})}, F({1, 3}, {5, 7, 9}));
    expect_values(**s, {x, I64({1}, {1})}, F({2, 1}, {6, 15}));
  }
  {
    OpTest t("TopK");
    t.input("X", x)
        .input("K", I64({1}, {2}))
        .output("V", F({2, 2}, {3, 2, 6, 5}))
        .output("I", I64({2, 2}, {2, 1, 2, 1}));
    auto s = Session::load_from_memory(t.model_bytes());
    ASSERT_TRUE(s.is_ok()) << s.status().to_string();
    expect_values(**s, {x, I64({1}, {2})}, F({2, 2}, {3, 2, 6, 5}));
    expect_values(**s, {x, I64({1}, {1})}, I64({2, 1}, {2, 2}), 1);
  }
  {
    OpTest t("CumSum");
    t.input("X", x).input("axis", I64({}, {0})).output("Y", F({2, 3}, {1, 2, 3, 5, 7, 9}));
    auto s = Session::load_from_memory(t.model_bytes());
    ASSERT_TRUE(s.is_ok()) << s.status().to_string();
    expect_values(**s, {x, I64({}, {0})}, F({2, 3}, {1, 2, 3, 5, 7, 9}));
    expect_values(**s, {x, I64({}, {1})}, F({2, 3}, {1, 3, 6, 4, 9, 15}));
  }
}

TEST(Reduce, ReduceSumNoAxesReducesAll) {
  OpTest("ReduceSum").input("X", F({2, 3}, {1, 2, 3, 4, 5, 6})).output("Y", F({1, 1}, {21})).run();
  OpTest("ReduceSum")
      .input("X", F({2, 3}, {1, 2, 3, 4, 5, 6}))
      .constant_input("axes", I64({0}, {}))
      .attr("keepdims", 0)
      .output("Y", F({}, {21}))
      .run();
}

TEST(Reduce, ReduceSumNoopWithEmptyAxes) {
  OpTest("ReduceSum")
      .input("X", F({2, 2}, {1, 2, 3, 4}))
      .input("axes", I64({0}, {}))
      .attr("noop_with_empty_axes", 1)
      .output("Y", F({2, 2}, {1, 2, 3, 4}))
      .run();
}

TEST(Reduce, ReduceSumOpset11AxesAttribute) {
  OpTest("ReduceSum", 11)
      .input("X", F({2, 3}, {1, 2, 3, 4, 5, 6}))
      .attr("axes", std::vector<int64_t>{-1})
      .attr("keepdims", 0)
      .output("Y", F({2}, {6, 15}))
      .run();
}

TEST(Reduce, ReduceSumInt32WrapsWithoutUB) {
  OpTest("ReduceSum")
      .input("X", I32({3}, {2147483647, 1, 0}))
      .attr("keepdims", 0)
      .output("Y", I32({}, {-2147483647 - 1}))
      .run();
}

TEST(Reduce, ReduceSumAxisOutOfRange) {
  OpTest t("ReduceSum");
  t.input("X", F({2, 3}, {1, 2, 3, 4, 5, 6}))
      .constant_input("axes", I64({1}, {2}))
      .output("Y", F({2}, {0, 0}));
  expect_error(t, "axis 2 is out of range for rank 2");
}

TEST(Reduce, ReduceSumRuntimeAxisOutOfRangeIsDataError) {
  OpTest t("ReduceSum");
  t.input("X", F({2, 3}, {1, 2, 3, 4, 5, 6})).input("axes", I64({1}, {-3})).output("Y", F({2}, {0, 0}));
  Status st = t.run_expect_error();
  EXPECT_EQ(st.code(), StatusCode::kOutOfRange) << st.to_string();
  EXPECT_NE(st.message().find("axis -3 is out of range for rank 2"), std::string::npos) << st.message();
}

TEST(Reduce, ReduceSumRepeatedAxis) {
  OpTest t("ReduceSum");
  t.input("X", F({2, 3}, {1, 2, 3, 4, 5, 6}))
      .constant_input("axes", I64({2}, {1, -1}))
      .output("Y", F({2}, {0, 0}));
  expect_error(t, "appears more than once");
}

// ---------------------------------------------------------------------------------------------------
// The other Reduce* keep the axes attribute (opset 17).
TEST(Reduce, ReduceMean) {
  OpTest("ReduceMean")
      .input("X", F({2, 3}, {1, 2, 3, 4, 5, 6}))
      .attr("axes", std::vector<int64_t>{0})
      .output("Y", F({1, 3}, {2.5f, 3.5f, 4.5f}))
      .run();
}

TEST(Reduce, ReduceMeanInt32Truncates) {
  OpTest("ReduceMean").input("X", I32({3}, {1, 2, 4})).attr("keepdims", 0).output("Y", I32({}, {2})).run();
}

TEST(Reduce, ReduceMaxMin) {
  OpTest("ReduceMax")
      .input("X", F({2, 3}, {1, 7, 3, -4, -5, -6}))
      .attr("axes", std::vector<int64_t>{1})
      .attr("keepdims", 0)
      .output("Y", F({2}, {7, -4}))
      .run();
  OpTest("ReduceMin")
      .input("X", F({2, 3}, {1, 7, 3, -4, -5, -6}))
      .attr("axes", std::vector<int64_t>{1})
      .attr("keepdims", 0)
      .output("Y", F({2}, {1, -6}))
      .run();
  OpTest("ReduceMax").input("X", I8({4}, {-128, 5, -3, 2})).output("Y", I8({1}, {5})).run();
}

TEST(Reduce, ReduceMaxPropagatesNaN) {
  OpTest("ReduceMax").input("X", F({3}, {1, NAN, 3})).output("Y", F({1}, {NAN})).run();
}

TEST(Reduce, ReductionsOverEmptySet) {
  const Tensor x = F({2, 0}, {});
  auto run = [&](const char* op, float v) {
    OpTest(op).input("X", x).attr("axes", std::vector<int64_t>{1}).output("Y", F({2, 1}, {v, v})).run();
  };
  run("ReduceMin", kInf);
  run("ReduceMax", -kInf);
  run("ReduceProd", 1);
  run("ReduceL1", 0);
  run("ReduceL2", 0);
  run("ReduceSumSquare", 0);
  run("ReduceLogSum", -kInf);
  run("ReduceLogSumExp", -kInf);
  run("ReduceMean", NAN);
  OpTest("ReduceSum")
      .input("X", x)
      .constant_input("axes", I64({1}, {1}))
      .output("Y", F({2, 1}, {0, 0}))
      .run();
}

TEST(Reduce, ReduceProdL1L2SumSquare) {
  const Tensor x = F({2, 2}, {-1, 2, -3, 4});
  const std::vector<int64_t> axes{1};
  OpTest("ReduceProd").input("X", x).attr("axes", axes).output("Y", F({2, 1}, {-2, -12})).run();
  OpTest("ReduceL1").input("X", x).attr("axes", axes).output("Y", F({2, 1}, {3, 7})).run();
  OpTest("ReduceL2").input("X", x).attr("axes", axes).output("Y", F({2, 1}, {2.2360680f, 5})).run();
  OpTest("ReduceSumSquare").input("X", x).attr("axes", axes).output("Y", F({2, 1}, {5, 25})).run();
  OpTest("ReduceL1").input("X", I64({3}, {-5, 2, -1})).output("Y", I64({1}, {8})).run();
}

TEST(Reduce, ReduceLogSumAndLogSumExp) {
  OpTest("ReduceLogSum")
      .input("X", F({2, 2}, {1, 2, 3, 4}))
      .attr("axes", std::vector<int64_t>{1})
      .output("Y", F({2, 1}, {1.0986123f, 1.9459101f}))
      .run();
  // Large inputs must not overflow: log(e^1000 + e^1000) = 1000 + log 2.
  OpTest("ReduceLogSumExp").input("X", F({2}, {1000, 1000})).output("Y", F({1}, {1000.6931472f})).run();
  OpTest("ReduceLogSumExp").input("X", D({2}, {0, 0})).output("Y", D({1}, {0.69314718055994531})).run();
}

TEST(Reduce, ReduceAttributeAxisOutOfRange) {
  OpTest t("ReduceMean");
  t.input("X", F({2, 3}, {1, 2, 3, 4, 5, 6}))
      .attr("axes", std::vector<int64_t>{2})
      .output("Y", F({2}, {0, 0}));
  t.skip_checker();
  expect_error(t, "axis 2 is out of range for rank 2");
}

// ---------------------------------------------------------------------------------------------------
TEST(Reduce, ArgMaxArgMin) {
  const Tensor x = F({2, 3}, {1, 3, 3, 5, 2, 5});
  OpTest("ArgMax").input("X", x).attr("axis", 1).output("Y", I64({2, 1}, {1, 0})).run();
  OpTest("ArgMax")
      .input("X", x)
      .attr("axis", 1)
      .attr("select_last_index", 1)
      .output("Y", I64({2, 1}, {2, 2}))
      .run();
  OpTest("ArgMin").input("X", x).attr("keepdims", 0).output("Y", I64({3}, {0, 1, 0})).run();
  OpTest("ArgMin")
      .input("X", I32({4}, {2, 1, 1, 3}))
      .attr("select_last_index", 1)
      .attr("keepdims", 0)
      .output("Y", I64({}, {2}))
      .run();
  OpTest("ArgMax")
      .input("X", F({2, 3}, {1, 3, 3, 5, 2, 5}))
      .attr("axis", -2)
      .output("Y", I64({1, 3}, {1, 0, 1}))
      .run();
}

TEST(Reduce, ArgMaxAxisOutOfRange) {
  OpTest t("ArgMax");
  t.input("X", F({2, 3}, {1, 2, 3, 4, 5, 6})).attr("axis", 2).output("Y", I64({2}, {0, 0})).skip_checker();
  expect_error(t, "axis 2 is out of range for rank 2");
}

// ---------------------------------------------------------------------------------------------------
TEST(Reduce, SoftmaxAndLogSoftmax) {
  const Tensor x = F({1, 3}, {0, std::log(2.f), std::log(3.f)});
  OpTest("Softmax").input("X", x).output("Y", F({1, 3}, {1 / 6.f, 1 / 3.f, 0.5f})).run();
  OpTest("LogSoftmax").input("X", x).output("Y", F({1, 3}, {-1.7917595f, -1.0986123f, -0.6931472f})).run();
  OpTest("Softmax")
      .input("X", F({2, 2}, {0, 1, std::log(3.f), 1}))
      .attr("axis", 0)
      .output("Y", F({2, 2}, {0.25f, 0.5f, 0.75f, 0.5f}))
      .run();
  OpTest("Softmax").input("X", F({2}, {1000, 1000})).output("Y", F({2}, {0.5f, 0.5f})).run();
  OpTest("Softmax")
      .input("X", H({2}, {0, std::log(3.f)}))
      .output("Y", H({2}, {0.25f, 0.75f}))
      .tolerance(1e-3, 1e-3)
      .run();
}

TEST(Reduce, SoftmaxOpset11LastAxis) {
  OpTest("Softmax", 11)
      .input("X", F({2, 2}, {0, std::log(3.f), 1, 1}))
      .output("Y", F({2, 2}, {0.25f, 0.75f, 0.5f, 0.5f}))
      .run();
}

TEST(Reduce, Hardmax) {
  OpTest("Hardmax")
      .input("X", F({2, 3}, {1, 3, 3, 0, -1, -2}))
      .output("Y", F({2, 3}, {0, 1, 0, 1, 0, 0}))
      .run();
  OpTest("Hardmax")
      .input("X", F({2, 2}, {1, 5, 2, 4}))
      .attr("axis", 0)
      .output("Y", F({2, 2}, {0, 1, 1, 0}))
      .run();
}

TEST(Reduce, SoftmaxAxisOutOfRange) {
  OpTest t("Softmax");
  t.input("X", F({2, 2}, {1, 2, 3, 4})).attr("axis", 2).output("Y", F({2, 2}, {0, 0, 0, 0})).skip_checker();
  expect_error(t, "axis 2 is out of range for rank 2");
}

// ---------------------------------------------------------------------------------------------------
TEST(Reduce, CumSum1D) {
  const Tensor x = F({5}, {1, 2, 3, 4, 5});
  OpTest("CumSum")
      .input("X", x)
      .constant_input("axis", I32({}, {0}))
      .output("Y", F({5}, {1, 3, 6, 10, 15}))
      .run();
  OpTest("CumSum")
      .input("X", x)
      .constant_input("axis", I32({}, {0}))
      .attr("exclusive", 1)
      .output("Y", F({5}, {0, 1, 3, 6, 10}))
      .run();
  OpTest("CumSum")
      .input("X", x)
      .constant_input("axis", I32({}, {0}))
      .attr("reverse", 1)
      .output("Y", F({5}, {15, 14, 12, 9, 5}))
      .run();
  OpTest("CumSum")
      .input("X", x)
      .constant_input("axis", I32({}, {0}))
      .attr("reverse", 1)
      .attr("exclusive", 1)
      .output("Y", F({5}, {14, 12, 9, 5, 0}))
      .run();
}

TEST(Reduce, CumSumRuntimeAxis) {
  const Tensor x = I64({2, 3}, {1, 2, 3, 4, 5, 6});
  OpTest("CumSum")
      .input("X", x)
      .input("axis", I64({}, {1}))
      .output("Y", I64({2, 3}, {1, 3, 6, 4, 9, 15}))
      .run();
  OpTest("CumSum")
      .input("X", x)
      .input("axis", I64({1}, {-2}))
      .output("Y", I64({2, 3}, {1, 2, 3, 5, 7, 9}))
      .run();
}

TEST(Reduce, CumSumAxisOutOfRange) {
  OpTest t("CumSum");
  t.input("X", F({2, 3}, {1, 2, 3, 4, 5, 6})).input("axis", I64({}, {2})).output("Y", F({2, 3}, {}));
  Status st = t.run_expect_error();
  EXPECT_EQ(st.code(), StatusCode::kOutOfRange) << st.to_string();
  EXPECT_NE(st.message().find("axis 2 is out of range for rank 2"), std::string::npos) << st.message();
  OpTest t2("CumSum");
  t2.input("X", F({2, 3}, {1, 2, 3, 4, 5, 6}))
      .constant_input("axis", I64({}, {-3}))
      .output("Y", F({2, 3}, {}));
  expect_error(t2, "axis -3 is out of range for rank 2");
}

// ---------------------------------------------------------------------------------------------------
TEST(Reduce, TopKLargestConstantAndRuntimeK) {
  const Tensor x = F({3, 4}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  const Tensor values = F({3, 3}, {3, 2, 1, 7, 6, 5, 11, 10, 9});
  const Tensor indices = I64({3, 3}, {3, 2, 1, 3, 2, 1, 3, 2, 1});
  OpTest("TopK")
      .input("X", x)
      .constant_input("K", I64({1}, {3}))
      .attr("axis", 1)
      .output("V", values)
      .output("I", indices)
      .run();
  OpTest("TopK").input("X", x).input("K", I64({1}, {3})).output("V", values).output("I", indices).run();
}

TEST(Reduce, TopKSmallestNegativeAxisAndZeroK) {
  const Tensor x = F({3, 4}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  OpTest("TopK")
      .input("X", x)
      .input("K", I64({1}, {2}))
      .attr("largest", 0)
      .output("V", F({3, 2}, {0, 1, 4, 5, 8, 9}))
      .output("I", I64({3, 2}, {0, 1, 0, 1, 0, 1}))
      .run();
  OpTest("TopK")
      .input("X", x)
      .input("K", I64({1}, {1}))
      .attr("axis", -2)
      .output("V", F({1, 4}, {8, 9, 10, 11}))
      .output("I", I64({1, 4}, {2, 2, 2, 2}))
      .run();
  OpTest("TopK")
      .input("X", x)
      .input("K", I64({1}, {0}))
      .output("V", F({3, 0}, {}))
      .output("I", I64({3, 0}, {}))
      .run();
}

TEST(Reduce, TopKTiesKeepLowerIndexFirst) {
  const Tensor x = I32({1, 5}, {3, 1, 3, 2, 3});
  OpTest("TopK")
      .input("X", x)
      .input("K", I64({1}, {2}))
      .output("V", I32({1, 2}, {3, 3}))
      .output("I", I64({1, 2}, {0, 2}))
      .run();
  OpTest("TopK")
      .input("X", x)
      .input("K", I64({1}, {3}))
      .attr("largest", 0)
      .output("V", I32({1, 3}, {1, 2, 3}))
      .output("I", I64({1, 3}, {1, 3, 0}))
      .run();
}

TEST(Reduce, TopKOpset1KAttribute) {
  OpTest("TopK", 1)
      .input("X", F({1, 3}, {2, 9, 4}))
      .attr("k", int64_t{2})
      .output("V", F({1, 2}, {9, 4}))
      .output("I", I64({1, 2}, {1, 2}))
      .run();
}

TEST(Reduce, TopKKOutOfRange) {
  OpTest t("TopK");
  t.input("X", F({1, 4}, {1, 2, 3, 4}))
      .input("K", I64({1}, {5}))
      .output("V", F({1, 4}, {}))
      .output("I", I64({1, 4}, {}));
  Status st = t.run_expect_error();
  EXPECT_EQ(st.code(), StatusCode::kOutOfRange) << st.to_string();
  EXPECT_NE(st.message().find("K = 5 is out of range for axis 1 of size 4"), std::string::npos)
      << st.message();
  OpTest t2("TopK");
  t2.input("X", F({1, 4}, {1, 2, 3, 4}))
      .constant_input("K", I64({1}, {-1}))
      .output("V", F({1, 4}, {}))
      .output("I", I64({1, 4}, {}));
  expect_error(t2, "K = -1 is out of range");
}

// ---------------------------------------------------------------------------------------------------
TEST(Reduce, BatchNormInference) {
  // ch0: (x - 1) / 2 * 1 + 0; ch1: (x - 3) / 0.5 * 2 + 1.
  OpTest("BatchNormalization")
      .input("X", F({1, 2, 1, 2}, {1, 2, 3, 4}))
      .constant_input("scale", F({2}, {1, 2}))
      .constant_input("B", F({2}, {0, 1}))
      .constant_input("mean", F({2}, {1, 3}))
      .constant_input("var", F({2}, {4, 0.25f}))
      .attr("epsilon", 0.f)
      .output("Y", F({1, 2, 1, 2}, {0, 0.5f, 1, 5}))
      .run();
  // Opset 15: scale/B (T1) and mean/var (T2) may have their own float types.
  OpTest("BatchNormalization")
      .input("X", F({1, 2, 1, 2}, {1, 2, 3, 4}))
      .input("scale", D({2}, {1, 2}))
      .input("B", D({2}, {0, 1}))
      .input("mean", H({2}, {1, 3}))
      .input("var", H({2}, {4, 0.25f}))
      .attr("epsilon", 0.f)
      .output("Y", F({1, 2, 1, 2}, {0, 0.5f, 1, 5}))
      .run();
  OpTest("BatchNormalization", 9)
      .input("X", F({1, 2, 1, 2}, {1, 2, 3, 4}))
      .input("scale", F({2}, {1, 2}))
      .input("B", F({2}, {0, 1}))
      .input("mean", F({2}, {1, 3}))
      .input("var", F({2}, {4, 0.25f}))
      .attr("epsilon", 0.f)
      .output("Y", F({1, 2, 1, 2}, {0, 0.5f, 1, 5}))
      .run();
}

TEST(Reduce, BatchNormTraining) {
  // Batch mean 3, biased variance (4 + 1 + 0 + 9) / 4 = 3.5.
  const float s = 1 / std::sqrt(3.5f);
  OpTest("BatchNormalization")
      .input("X", F({2, 1, 1, 2}, {1, 2, 3, 6}))
      .input("scale", F({1}, {1}))
      .input("B", F({1}, {0}))
      .input("mean", F({1}, {1}))
      .input("var", F({1}, {2}))
      .attr("epsilon", 0.f)
      .attr("momentum", 0.5f)
      .attr("training_mode", 1)
      .output("Y", F({2, 1, 1, 2}, {-2 * s, -1 * s, 0, 3 * s}))
      .output("running_mean", F({1}, {2}))
      .output("running_var", F({1}, {2.75f}))
      .run();
}

TEST(Reduce, BatchNormErrors) {
  OpTest t("BatchNormalization");
  t.input("X", F({1, 2, 1, 1}, {1, 2}))
      .input("scale", F({3}, {1, 1, 1}))
      .input("B", F({2}, {0, 0}))
      .input("mean", F({2}, {0, 0}))
      .input("var", F({2}, {1, 1}))
      .output("Y", F({1, 2, 1, 1}, {}));
  expect_error(t, "scale must have shape [2]");
  OpTest t2("BatchNormalization");
  t2.input("X", F({1, 2, 1, 1}, {1, 2}))
      .input("scale", F({2}, {1, 1}))
      .input("B", F({2}, {0, 0}))
      .input("mean", F({2}, {0, 0}))
      .input("var", F({2}, {1, 1}))
      .output("Y", F({1, 2, 1, 1}, {}))
      .output("running_mean", F({2}, {}))
      .skip_checker();
  expect_error(t2, "only allowed with training_mode=1");
}

// ---------------------------------------------------------------------------------------------------
TEST(Reduce, InstanceNormalization) {
  // (n, c) = (0, 0): {1, 3} mean 2 std 1; (0, 1): {0, 4} mean 2 std 2, scale 2, bias 1.
  OpTest("InstanceNormalization")
      .input("X", F({1, 2, 2}, {1, 3, 0, 4}))
      .constant_input("scale", F({2}, {1, 2}))
      .constant_input("B", F({2}, {0, 1}))
      .attr("epsilon", 0.f)
      .output("Y", F({1, 2, 2}, {-1, 1, -1, 3}))
      .run();
}

TEST(Reduce, InstanceNormalizationBadScale) {
  OpTest t("InstanceNormalization");
  t.input("X", F({1, 2, 2}, {1, 3, 0, 4}))
      .input("scale", F({1}, {1}))
      .input("B", F({2}, {0, 1}))
      .output("Y", F({1, 2, 2}, {}));
  expect_error(t, "scale must have shape [2]");
}

TEST(Reduce, LayerNormalization) {
  // Rows {1, 3}: mean 2, inv std 1; {2, 6}: mean 4, inv std 0.5.
  OpTest("LayerNormalization")
      .input("X", F({2, 2}, {1, 3, 2, 6}))
      .input("Scale", F({2}, {2, 1}))
      .input("B", F({2}, {0, 1}))
      .attr("epsilon", 0.f)
      .output("Y", F({2, 2}, {-2, 2, -2, 2}))
      .output("Mean", F({2, 1}, {2, 4}))
      .output("InvStdDev", F({2, 1}, {1, 0.5f}))
      .run();
  // axis 0: all four elements, mean 3, variance 3.5; no B; Scale broadcasts.
  const float s = 1 / std::sqrt(3.5f);
  OpTest("LayerNormalization")
      .input("X", F({2, 2}, {1, 3, 2, 6}))
      .input("Scale", F({2}, {1, 2}))
      .attr("axis", 0)
      .attr("epsilon", 0.f)
      .output("Y", F({2, 2}, {-2 * s, 0, -1 * s, 6 * s}))
      .output("Mean", F({1, 1}, {3}))
      .run();
}

TEST(Reduce, LayerNormalizationBadScale) {
  OpTest t("LayerNormalization");
  t.input("X", F({2, 2}, {1, 3, 2, 6})).input("Scale", F({3}, {1, 1, 1})).output("Y", F({2, 2}, {}));
  expect_error(t, "Scale shape 3 does not broadcast to the normalized shape 2");
}

TEST(Reduce, Lrn) {
  // alpha / size = 1, beta = 1, bias = 1: y = x / (1 + sum of squares in the window).
  const Tensor x = F({1, 3, 1, 1}, {1, 2, 3});
  OpTest("LRN")
      .input("X", x)
      .attr("size", int64_t{3})
      .attr("alpha", 3.f)
      .attr("beta", 1.f)
      .output("Y", F({1, 3, 1, 1}, {1 / 6.f, 2 / 15.f, 3 / 14.f}))
      .run();
  // size 2: window [c, c + 1].
  OpTest("LRN")
      .input("X", x)
      .attr("size", int64_t{2})
      .attr("alpha", 2.f)
      .attr("beta", 1.f)
      .output("Y", F({1, 3, 1, 1}, {1 / 6.f, 2 / 14.f, 3 / 10.f}))
      .run();
}

TEST(Reduce, LrnBadSize) {
  OpTest t("LRN");
  t.input("X", F({1, 1, 1, 1}, {1})).attr("size", int64_t{0}).output("Y", F({1, 1, 1, 1}, {}));
  expect_error(t, "size must be >= 1, got 0");
}

TEST(Reduce, MeanVarianceNormalization) {
  // Default axes [0, 2, 3]: channel 0 {1, 3} -> {-1, 1}; channel 1 is constant -> 0.
  OpTest("MeanVarianceNormalization")
      .input("X", F({1, 2, 1, 2}, {1, 3, 2, 2}))
      .output("Y", F({1, 2, 1, 2}, {-1, 1, 0, 0}))
      .run();
  OpTest("MeanVarianceNormalization")
      .input("X", F({1, 4}, {0, 0, 2, 2}))
      .attr("axes", std::vector<int64_t>{0, 1})
      .output("Y", F({1, 4}, {-1, -1, 1, 1}))
      .run();
}

TEST(Reduce, MeanVarianceNormalizationDefaultAxesNeedRank4) {
  OpTest t("MeanVarianceNormalization");
  t.input("X", F({2, 2}, {1, 2, 3, 4})).output("Y", F({2, 2}, {}));
  expect_error(t, "axis 2 is out of range for rank 2");
}

}  // namespace verge::test
