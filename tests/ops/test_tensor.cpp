// Reference kernels of shape and data-movement ops against hand-computed values. Shape-carrying inputs
// are tested both as initializers (plan-time path) and as graph inputs (run-time path).
#include <limits>

#include "op_test.h"

namespace verge::test {
namespace {

constexpr int64_t kI64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kI64Min = std::numeric_limits<int64_t>::min();

Tensor BF(Shape s, std::vector<float> v) {
  std::vector<bfloat16_t> b;
  for (float x : v) b.push_back(bfloat16_t(x));
  return T_<bfloat16_t>(std::move(s), b);
}

void expect_error(OpTest& t, std::string_view needle) {
  Status st = t.run_expect_error();
  EXPECT_NE(st.message().find(needle), std::string::npos) << st.message();
}

}  // namespace

// --- Identity -----------------------------------------------------------------------------------------

TEST(Tensor, IdentityAnyDtype) {
  OpTest("Identity").input("x", I8({3}, {-1, 0, 7})).output("y", I8({3}, {-1, 0, 7})).run();
  OpTest("Identity").input("x", B({2}, {true, false})).output("y", B({2}, {true, false})).run();
  OpTest("Identity").input("x", H({2}, {1.5f, -2})).output("y", H({2}, {1.5f, -2})).run();
  OpTest("Identity").input("x", F({0, 2}, {})).output("y", F({0, 2}, {})).run();
}

// --- Dropout ------------------------------------------------------------------------------------------

TEST(Tensor, DropoutInferenceCopiesAndMaskIsTrue) {
  OpTest("Dropout")
      .input("x", F({2, 2}, {1, -2, 3, 4}))
      .output("y", F({2, 2}, {1, -2, 3, 4}))
      .output("mask", B({2, 2}, {true, true, true, true}))
      .run();
  // training_mode = false given explicitly: still a copy, whatever the ratio.
  OpTest("Dropout")
      .input("x", D({3}, {1, 2, 3}))
      .constant_input("ratio", F({}, {0.9f}))
      .input("training_mode", B({}, {false}))
      .output("y", D({3}, {1, 2, 3}))
      .run();
}

TEST(Tensor, DropoutOpset7RatioAttribute) {
  OpTest("Dropout", 7).input("x", F({3}, {1, 2, 3})).attr("ratio", 0.3f).output("y", F({3}, {1, 2, 3})).run();
}

TEST(Tensor, DropoutTrainingMatchesNumpySeededStream) {
  // np.random.seed(0); np.random.uniform(0, 1, 8) = .549 .715 .603 .545 .424 .646 .438 .892: with ratio 0.5
  // elements 4 and 6 are dropped, the rest scaled by 2.
  OpTest("Dropout", 13)
      .input("x", F({8}, {1, 2, 3, 4, 5, 6, 7, 8}))
      .input("ratio", F({}, {0.5f}))
      .input("training_mode", B({}, {true}))
      .attr("seed", int64_t{0})
      .output("y", F({8}, {2, 4, 6, 8, 0, 12, 0, 16}))
      .output("mask", B({8}, {true, true, true, true, false, true, false, true}))
      .run();
  // np.random.seed(3); uniform(0, 1, 6) = .551 .708 .291 .511 .893 .896: ratio 0.75 keeps the last two, x4.
  OpTest("Dropout", 13)
      .input("x", F({2, 3}, {1, 2, 3, 4, 5, 6}))
      .constant_input("ratio", F({}, {0.75f}))
      .constant_input("training_mode", B({}, {true}))
      .attr("seed", int64_t{3})
      .output("y", F({2, 3}, {0, 0, 0, 0, 20, 24}))
      .run();
}

TEST(Tensor, DropoutTrainingZeroRatioIsIdentity) {
  OpTest("Dropout", 13)
      .input("x", H({3}, {1, 2, 3}))
      .input("ratio", F({}, {0.f}))
      .input("training_mode", B({}, {true}))
      .output("y", H({3}, {1, 2, 3}))
      .output("mask", B({3}, {true, true, true}))
      .run();
}

TEST(Tensor, DropoutErrors) {
  OpTest bad_ratio("Dropout", 13);
  bad_ratio.input("x", F({2}, {1, 2}))
      .input("ratio", F({}, {1.f}))
      .input("training_mode", B({}, {true}))
      .output("y", F({2}, {0, 0}));
  expect_error(bad_ratio, "ratio must be in [0, 1)");
  OpTest not_scalar("Dropout", 13);
  not_scalar.input("x", F({2}, {1, 2}))
      .input("ratio", F({2}, {0.1f, 0.2f}))
      .output("y", F({2}, {1, 2}))
      .skip_checker();
  expect_error(not_scalar, "'ratio' must be a scalar");
}

// --- Constant -----------------------------------------------------------------------------------------

TEST(Tensor, ConstantValueForms) {
  OpTest("Constant").attr("value", I32({2, 2}, {1, -2, 3, 4})).output("y", I32({2, 2}, {1, -2, 3, 4})).run();
  OpTest("Constant").attr("value", B({2}, {false, true})).output("y", B({2}, {false, true})).run();
  OpTest("Constant").attr("value_float", 2.5f).output("y", F({}, {2.5f})).run();
  OpTest("Constant").attr("value_floats", std::vector<float>{1, 2}).output("y", F({2}, {1, 2})).run();
  OpTest("Constant").attr("value_int", int64_t{-7}).output("y", I64({}, {-7})).run();
  OpTest("Constant").attr("value_ints", std::vector<int64_t>{3, 4, 5}).output("y", I64({3}, {3, 4, 5})).run();
}

TEST(Tensor, ConstantStringIsUnsupported) {
  OpTest t("Constant");
  t.attr("value_string", "hello").output("y", F({}, {0}));
  Status st = t.run_expect_error();
  EXPECT_EQ(st.code(), StatusCode::kUnsupported) << st.to_string();
  EXPECT_NE(st.message().find("value_string"), std::string::npos) << st.message();
}

TEST(Tensor, ConstantNeedsExactlyOneValue) {
  OpTest t("Constant");
  t.attr("value_float", 1.f).attr("value_int", int64_t{1}).output("y", F({}, {1})).skip_checker();
  expect_error(t, "exactly one");
}

// --- ConstantOfShape ----------------------------------------------------------------------------------

TEST(Tensor, ConstantOfShapeValueAndDefault) {
  OpTest("ConstantOfShape")
      .constant_input("shape", I64({2}, {2, 3}))
      .attr("value", I32({1}, {7}))
      .output("y", I32({2, 3}, {7, 7, 7, 7, 7, 7}))
      .run();
  OpTest("ConstantOfShape")
      .input("shape", I64({1}, {3}))
      .output("y", F({3}, {0, 0, 0}))
      .run();  // run-time shape
  OpTest("ConstantOfShape")
      .input("shape", I64({2}, {2, 0}))
      .attr("value", B({1}, {true}))
      .output("y", B({2, 0}, {}))
      .run();
  OpTest("ConstantOfShape")
      .constant_input("shape", I64({0}, {}))
      .attr("value", H({1}, {1.5f}))
      .output("y", H({}, {1.5f}))
      .run();
}

TEST(Tensor, ConstantOfShapeErrors) {
  OpTest neg("ConstantOfShape");
  neg.input("shape", I64({2}, {2, -1})).output("y", F({2}, {0, 0}));
  expect_error(neg, "negative dimension");
  OpTest two("ConstantOfShape");
  two.constant_input("shape", I64({1}, {2}))
      .attr("value", F({2}, {1, 2}))
      .output("y", F({2}, {1, 1}))
      .skip_checker();
  expect_error(two, "exactly one element");
  OpTest huge("ConstantOfShape");
  huge.input("shape", I64({3}, {1 << 20, 1 << 20, 1 << 20})).output("y", F({1}, {0}));
  expect_error(huge, "elements (limit");
}

// --- EyeLike ------------------------------------------------------------------------------------------

TEST(Tensor, EyeLike) {
  OpTest("EyeLike")
      .input("x", F({2, 3}, {5, 5, 5, 5, 5, 5}))
      .output("y", F({2, 3}, {1, 0, 0, 0, 1, 0}))
      .run();
  OpTest("EyeLike")
      .input("x", F({3, 4}, std::vector<float>(12, 9)))
      .attr("k", int64_t{1})
      .attr("dtype", int64_t{6})  // int32
      .output("y", I32({3, 4}, {0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}))
      .run();
  OpTest("EyeLike")
      .input("x", I64({3, 2}, {0, 0, 0, 0, 0, 0}))
      .attr("k", int64_t{-2})
      .attr("dtype", int64_t{9})  // bool
      .output("y", B({3, 2}, {false, false, false, false, true, false}))
      .run();
  OpTest("EyeLike")
      .input("x", H({2, 2}, {0, 0, 0, 0}))
      .attr("k", int64_t{5})
      .output("y", H({2, 2}, {0, 0, 0, 0}))
      .run();
}

TEST(Tensor, EyeLikeNeeds2D) {
  OpTest t("EyeLike");
  t.input("x", F({2}, {1, 2})).output("y", F({2}, {1, 0})).skip_checker();
  expect_error(t, "must be 2-D");
}

// --- Range --------------------------------------------------------------------------------------------

TEST(Tensor, Range) {
  OpTest("Range")
      .constant_input("start", F({}, {1}))
      .constant_input("limit", F({}, {5}))
      .constant_input("delta", F({}, {1.5f}))
      .output("y", F({3}, {1, 2.5f, 4}))
      .run();
  OpTest("Range")
      .input("start", I32({}, {10}))
      .input("limit", I32({}, {4}))
      .input("delta", I32({}, {-3}))
      .output("y", I32({2}, {10, 7}))
      .run();
  OpTest("Range")
      .input("start", I64({}, {3}))
      .input("limit", I64({}, {1}))
      .input("delta", I64({}, {2}))
      .output("y", I64({0}, {}))
      .run();
  // Extreme int64 bounds: no overflow in the count or the values.
  OpTest("Range")
      .input("start", I64({}, {kI64Min}))
      .input("limit", I64({}, {kI64Max}))
      .input("delta", I64({}, {int64_t{1} << 62}))
      .output("y", I64({4}, {kI64Min, kI64Min + (int64_t{1} << 62), 0, int64_t{1} << 62}))
      .run();
}

TEST(Tensor, RangeErrors) {
  OpTest zero("Range");
  zero.input("start", I32({}, {0}))
      .input("limit", I32({}, {4}))
      .input("delta", I32({}, {0}))
      .output("y", I32({1}, {0}));
  expect_error(zero, "delta must not be zero");
  OpTest huge("Range");
  huge.input("start", I64({}, {0}))
      .input("limit", I64({}, {int64_t{1} << 40}))
      .input("delta", I64({}, {1}))
      .output("y", I64({1}, {0}));
  expect_error(huge, "would produce more than");
  OpTest mixed("Range");
  mixed.input("start", I32({}, {0}))
      .input("limit", I64({}, {4}))
      .input("delta", I32({}, {1}))
      .output("y", I32({1}, {0}))
      .skip_checker();
  expect_error(mixed, "same dtype");
}

// --- Shape / Size -------------------------------------------------------------------------------------

TEST(Tensor, Shape) {
  const Tensor x = F({2, 3, 4}, std::vector<float>(24, 0));
  OpTest("Shape").input("x", x).output("y", I64({3}, {2, 3, 4})).run();
  OpTest("Shape", 15).input("x", x).attr("start", int64_t{-1}).output("y", I64({1}, {4})).run();
  OpTest("Shape", 15).input("x", x).attr("end", int64_t{-1}).output("y", I64({2}, {2, 3})).run();
  OpTest("Shape", 15)
      .input("x", x)
      .attr("start", int64_t{1})
      .attr("end", int64_t{2})
      .output("y", I64({1}, {3}))
      .run();
  OpTest("Shape", 15)
      .input("x", x)
      .attr("start", int64_t{-10})
      .attr("end", int64_t{10})
      .output("y", I64({3}, {2, 3, 4}))
      .run();
  OpTest("Shape", 15)
      .input("x", x)
      .attr("start", int64_t{2})
      .attr("end", int64_t{1})
      .output("y", I64({0}, {}))
      .run();
  OpTest("Shape").constant_input("x", B({0, 5}, {})).output("y", I64({2}, {0, 5})).run();
  OpTest("Shape").input("x", I8({}, {1})).output("y", I64({0}, {})).run();
}

TEST(Tensor, Size) {
  OpTest("Size").input("x", F({2, 3}, {1, 2, 3, 4, 5, 6})).output("y", I64({}, {6})).run();
  OpTest("Size").input("x", U8({}, {1})).output("y", I64({}, {1})).run();
  OpTest("Size").input("x", B({4, 0}, {})).output("y", I64({}, {0})).run();
}

// --- Reshape ------------------------------------------------------------------------------------------

TEST(Tensor, Reshape) {
  const Tensor x = I32({2, 3, 2}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  OpTest("Reshape")
      .input("x", x)
      .constant_input("shape", I64({2}, {0, -1}))
      .output("y", I32({2, 6}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}))
      .run();
  OpTest("Reshape")
      .input("x", x)
      .input("shape", I64({3}, {-1, 2, 2}))
      .output("y", I32({3, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}))
      .run();
  OpTest("Reshape")
      .input("x", x)
      .input("shape", I64({1}, {12}))
      .output("y", I32({12}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}))
      .run();
  OpTest("Reshape", 5)
      .input("x", BF({4}, {1, 2, 3, 4}))
      .constant_input("shape", I64({2}, {2, 2}))
      .output("y", BF({2, 2}, {1, 2, 3, 4}))
      .run();
}

TEST(Tensor, ReshapeAllowZero) {
  OpTest("Reshape", 14)
      .input("x", F({0, 3}, {}))
      .constant_input("shape", I64({2}, {3, 0}))
      .attr("allowzero", int64_t{1})
      .output("y", F({3, 0}, {}))
      .run();
  // Without allowzero the same shape copies input dim 1 (= 3): 3x3 has 9 elements, the input 0.
  OpTest copy("Reshape", 14);
  copy.input("x", F({0, 3}, {})).constant_input("shape", I64({2}, {3, 0})).output("y", F({3, 0}, {}));
  expect_error(copy, "(0 elements) into shape 3x3 (9 elements)");
}

TEST(Tensor, ReshapeErrors) {
  const Tensor x = F({2, 3}, {1, 2, 3, 4, 5, 6});
  OpTest two_neg("Reshape");
  two_neg.input("x", x).constant_input("shape", I64({2}, {-1, -1})).output("y", x);
  expect_error(two_neg, "more than one -1");
  OpTest count("Reshape");
  count.input("x", x).input("shape", I64({2}, {4, 2})).output("y", x);
  expect_error(count, "(6 elements) into shape 4x2 (8 elements)");
  OpTest zero_neg("Reshape", 14);
  zero_neg.input("x", x)
      .constant_input("shape", I64({2}, {0, -1}))
      .attr("allowzero", int64_t{1})
      .output("y", x);
  expect_error(zero_neg, "both 0 and -1");
  OpTest bad("Reshape");
  bad.input("x", x).constant_input("shape", I64({2}, {-2, 3})).output("y", x);
  expect_error(bad, "invalid dimension -2");
}

// --- Flatten ------------------------------------------------------------------------------------------

TEST(Tensor, Flatten) {
  const Tensor x = U8({2, 1, 3}, {1, 2, 3, 4, 5, 6});
  OpTest("Flatten").input("x", x).output("y", U8({2, 3}, {1, 2, 3, 4, 5, 6})).run();
  OpTest("Flatten").input("x", x).attr("axis", int64_t{0}).output("y", U8({1, 6}, {1, 2, 3, 4, 5, 6})).run();
  OpTest("Flatten").input("x", x).attr("axis", int64_t{3}).output("y", U8({6, 1}, {1, 2, 3, 4, 5, 6})).run();
  OpTest("Flatten").input("x", x).attr("axis", int64_t{-1}).output("y", U8({2, 3}, {1, 2, 3, 4, 5, 6})).run();
}

TEST(Tensor, FlattenAxisOutOfRange) {
  OpTest t("Flatten");
  t.input("x", F({2, 3}, {1, 2, 3, 4, 5, 6}))
      .attr("axis", int64_t{3})
      .output("y", F({6, 1}, {}))
      .skip_checker();
  expect_error(t, "axis 3 is out of range for rank 2");
}

// --- Squeeze / Unsqueeze ------------------------------------------------------------------------------

TEST(Tensor, Squeeze) {
  const Tensor x = F({1, 3, 1}, {1, 2, 3});
  OpTest("Squeeze").input("x", x).output("y", F({3}, {1, 2, 3})).run();
  OpTest("Squeeze")
      .input("x", x)
      .constant_input("axes", I64({1}, {-1}))
      .output("y", F({1, 3}, {1, 2, 3}))
      .run();
  OpTest("Squeeze").input("x", x).input("axes", I64({1}, {0})).output("y", F({3, 1}, {1, 2, 3})).run();
  OpTest("Squeeze", 11)
      .input("x", x)
      .attr("axes", std::vector<int64_t>{0, 2})
      .output("y", F({3}, {1, 2, 3}))
      .run();
}

TEST(Tensor, SqueezeErrors) {
  OpTest size("Squeeze");
  size.input("x", F({1, 3}, {1, 2, 3}))
      .constant_input("axes", I64({1}, {1}))
      .output("y", F({1, 3}, {1, 2, 3}));
  expect_error(size, "cannot squeeze axis 1 of size 3");
  OpTest range("Squeeze");
  range.input("x", F({1, 3}, {1, 2, 3})).input("axes", I64({1}, {2})).output("y", F({3}, {1, 2, 3}));
  expect_error(range, "axis 2 is out of range for rank 2");
}

TEST(Tensor, Unsqueeze) {
  const Tensor x = I64({2, 3}, {1, 2, 3, 4, 5, 6});
  OpTest("Unsqueeze")
      .input("x", x)
      .constant_input("axes", I64({2}, {0, 3}))
      .output("y", I64({1, 2, 3, 1}, {1, 2, 3, 4, 5, 6}))
      .run();
  OpTest("Unsqueeze")
      .input("x", x)
      .input("axes", I64({2}, {-1, 1}))
      .output("y", I64({2, 1, 3, 1}, {1, 2, 3, 4, 5, 6}))
      .run();
  OpTest("Unsqueeze", 11)
      .input("x", x)
      .attr("axes", std::vector<int64_t>{3, 1})
      .output("y", I64({2, 1, 3, 1}, {1, 2, 3, 4, 5, 6}))
      .run();
  OpTest("Unsqueeze")
      .input("x", F({}, {4}))
      .constant_input("axes", I64({1}, {0}))
      .output("y", F({1}, {4}))
      .run();
}

TEST(Tensor, UnsqueezeErrors) {
  OpTest dup("Unsqueeze");
  dup.input("x", F({2}, {1, 2})).constant_input("axes", I64({2}, {0, -3})).output("y", F({1, 1, 2}, {1, 2}));
  expect_error(dup, "more than once");
  OpTest range("Unsqueeze");
  range.input("x", F({2}, {1, 2})).constant_input("axes", I64({1}, {2})).output("y", F({2, 1}, {1, 2}));
  expect_error(range, "axis 2 is out of range for rank 2");
}

// --- Transpose ----------------------------------------------------------------------------------------

TEST(Tensor, Transpose) {
  OpTest("Transpose")
      .input("x", F({2, 3}, {1, 2, 3, 4, 5, 6}))
      .output("y", F({3, 2}, {1, 4, 2, 5, 3, 6}))
      .run();
  // x[i][j][k] = 100i + 10j + k, shape 2x3x2; perm (1, 2, 0): y[j][k][i] = x[i][j][k].
  OpTest("Transpose")
      .input("x", I64({2, 3, 2}, {0, 1, 10, 11, 20, 21, 100, 101, 110, 111, 120, 121}))
      .attr("perm", std::vector<int64_t>{1, 2, 0})
      .output("y", I64({3, 2, 2}, {0, 100, 1, 101, 10, 110, 11, 111, 20, 120, 21, 121}))
      .run();
  OpTest("Transpose")
      .input("x", B({1, 2, 2}, {true, false, false, false}))
      .attr("perm", std::vector<int64_t>{0, 2, 1})
      .output("y", B({1, 2, 2}, {true, false, false, false}))
      .run();
  OpTest("Transpose").input("x", H({2, 1}, {1, 2})).output("y", H({1, 2}, {1, 2})).run();
  OpTest("Transpose").input("x", I32({0, 2}, {})).output("y", I32({2, 0}, {})).run();
}

TEST(Tensor, TransposeBadPerm) {
  OpTest dup("Transpose");
  dup.input("x", F({2, 2}, {1, 2, 3, 4}))
      .attr("perm", std::vector<int64_t>{0, 0})
      .output("y", F({2, 2}, {}))
      .skip_checker();
  expect_error(dup, "not a permutation");
  OpTest len("Transpose");
  len.input("x", F({2, 2}, {1, 2, 3, 4}))
      .attr("perm", std::vector<int64_t>{1, 0, 2})
      .output("y", F({2, 2}, {}))
      .skip_checker();
  expect_error(len, "has 3 entries, but the input has rank 2");
}

// --- Concat -------------------------------------------------------------------------------------------

TEST(Tensor, Concat) {
  OpTest("Concat")
      .input("a", F({2, 1}, {1, 2}))
      .input("b", F({2, 2}, {3, 4, 5, 6}))
      .attr("axis", int64_t{1})
      .output("y", F({2, 3}, {1, 3, 4, 2, 5, 6}))
      .run();
  OpTest("Concat")
      .input("a", I8({1, 2}, {1, 2}))
      .input("b", I8({0, 2}, {}))
      .constant_input("c", I8({1, 2}, {3, 4}))
      .attr("axis", int64_t{-2})
      .output("y", I8({2, 2}, {1, 2, 3, 4}))
      .run();
  OpTest("Concat")
      .input("a", B({2}, {true, false}))
      .attr("axis", int64_t{0})
      .output("y", B({2}, {true, false}))
      .run();
}

TEST(Tensor, ConcatErrors) {
  OpTest shape("Concat");
  shape.input("a", F({2, 1}, {1, 2}))
      .input("b", F({3, 1}, {3, 4, 5}))
      .attr("axis", int64_t{1})
      .output("y", F({2, 2}, {}))
      .skip_checker();
  expect_error(shape, "incompatible");
  OpTest axis("Concat");
  axis.input("a", F({2}, {1, 2}))
      .input("b", F({2}, {3, 4}))
      .attr("axis", int64_t{1})
      .output("y", F({4}, {}))
      .skip_checker();
  expect_error(axis, "axis 1 is out of range for rank 1");
}

// --- Split --------------------------------------------------------------------------------------------

TEST(Tensor, Split) {
  const Tensor x = F({2, 4}, {1, 2, 3, 4, 5, 6, 7, 8});
  OpTest("Split")
      .input("x", x)
      .attr("axis", int64_t{1})
      .output("a", F({2, 2}, {1, 2, 5, 6}))
      .output("b", F({2, 2}, {3, 4, 7, 8}))
      .run();
  OpTest("Split")
      .input("x", x)
      .constant_input("split", I64({3}, {1, 0, 3}))
      .attr("axis", int64_t{-1})
      .output("a", F({2, 1}, {1, 5}))
      .output("b", F({2, 0}, {}))
      .output("c", F({2, 3}, {2, 3, 4, 6, 7, 8}))
      .run();
  OpTest("Split")
      .input("x", x)
      .input("split", I64({2}, {1, 1}))
      .output("a", F({1, 4}, {1, 2, 3, 4}))
      .output("b", F({1, 4}, {5, 6, 7, 8}))
      .run();
  OpTest("Split", 11)
      .input("x", U8({5}, {1, 2, 3, 4, 5}))
      .attr("split", std::vector<int64_t>{2, 3})
      .output("a", U8({2}, {1, 2}))
      .output("b", U8({3}, {3, 4, 5}))
      .run();
}

TEST(Tensor, SplitErrors) {
  OpTest uneven("Split");
  uneven.input("x", F({5}, {1, 2, 3, 4, 5})).output("a", F({3}, {})).output("b", F({2}, {}));
  expect_error(uneven, "cannot split axis 0 of size 5 into 2 equal parts");
  OpTest sum("Split");
  sum.input("x", F({5}, {1, 2, 3, 4, 5}))
      .input("split", I64({2}, {2, 2}))
      .output("a", F({2}, {}))
      .output("b", F({2}, {}));
  expect_error(sum, "sums to 4");
  OpTest count("Split");
  count.input("x", F({4}, {1, 2, 3, 4}))
      .constant_input("split", I64({3}, {2, 1, 1}))
      .output("a", F({2}, {}))
      .output("b", F({1}, {}));
  expect_error(count, "but the node has 2 outputs");
}

// --- Slice --------------------------------------------------------------------------------------------

TEST(Tensor, Slice) {
  // x[i][j] = 10i + j, shape 3x4.
  const Tensor x = I32({3, 4}, {0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23});
  OpTest("Slice")
      .input("x", x)
      .constant_input("starts", I64({2}, {1, 0}))
      .constant_input("ends", I64({2}, {3, 3}))
      .output("y", I32({2, 3}, {10, 11, 12, 20, 21, 22}))
      .run();
  // Negative steps with INT64_MIN end: reverse axis 1 fully, every second element.
  OpTest("Slice")
      .input("x", x)
      .input("starts", I64({1}, {-1}))
      .input("ends", I64({1}, {kI64Min}))
      .input("axes", I64({1}, {1}))
      .input("steps", I64({1}, {-2}))
      .output("y", I32({3, 2}, {3, 1, 13, 11, 23, 21}))
      .run();
  // Out-of-range starts/ends clamp; negative axis; INT64_MAX end.
  OpTest("Slice")
      .input("x", x)
      .constant_input("starts", I32({2}, {-100, 2}))
      .constant_input("ends", I32({2}, {2147483647, 100}))
      .constant_input("axes", I32({2}, {-2, -1}))
      .output("y", I32({3, 2}, {2, 3, 12, 13, 22, 23}))
      .run();
  OpTest("Slice")
      .input("x", x)
      .constant_input("starts", I64({1}, {5}))
      .constant_input("ends", I64({1}, {kI64Max}))
      .output("y", I32({0, 4}, {}))
      .run();
  // INT64_MIN step: exactly one element.
  OpTest("Slice")
      .input("x", x)
      .constant_input("starts", I64({1}, {2}))
      .constant_input("ends", I64({1}, {kI64Min}))
      .constant_input("axes", I64({1}, {0}))
      .constant_input("steps", I64({1}, {kI64Min}))
      .output("y", I32({1, 4}, {20, 21, 22, 23}))
      .run();
}

TEST(Tensor, SliceOpset1Attributes) {
  OpTest("Slice", 1)
      .input("x", H({2, 3}, {1, 2, 3, 4, 5, 6}))
      .attr("starts", std::vector<int64_t>{1})
      .attr("ends", std::vector<int64_t>{1000})
      .attr("axes", std::vector<int64_t>{1})
      .output("y", H({2, 2}, {2, 3, 5, 6}))
      .run();
}

TEST(Tensor, SliceErrors) {
  const Tensor x = F({4}, {1, 2, 3, 4});
  OpTest zero("Slice");
  zero.input("x", x)
      .input("starts", I64({1}, {0}))
      .input("ends", I64({1}, {4}))
      .input("axes", I64({1}, {0}))
      .input("steps", I64({1}, {0}))
      .output("y", x);
  expect_error(zero, "contains 0");
  OpTest len("Slice");
  len.input("x", x)
      .constant_input("starts", I64({1}, {0}))
      .constant_input("ends", I64({2}, {4, 4}))
      .output("y", x);
  expect_error(len, "'ends' has 2 values, but 'starts' has 1");
  OpTest axis("Slice");
  axis.input("x", x)
      .constant_input("starts", I64({1}, {0}))
      .constant_input("ends", I64({1}, {4}))
      .constant_input("axes", I64({1}, {1}))
      .output("y", x);
  expect_error(axis, "axis 1 is out of range for rank 1");
}

}  // namespace verge::test
