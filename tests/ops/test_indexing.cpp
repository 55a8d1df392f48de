// Reference kernels of indexing and tiling ops against hand-computed values: Gather, GatherElements,
// GatherND, ScatterElements, ScatterND, Tile, Expand, Pad, DepthToSpace, SpaceToDepth, OneHot, NonZero,
// Trilu. Shape-carrying inputs are tested both as initializers (plan time) and as graph inputs (run time).
#include <cmath>
#include <cstring>
#include <limits>

#include "op_test.h"
#include "verge/session.h"

namespace verge::test {
namespace {

void expect_error(Status st, StatusCode code, const std::string& fragment) {
  EXPECT_EQ(st.code(), code) << st.to_string();
  EXPECT_NE(st.message().find(fragment), std::string::npos) << st.message();
}

Tensor BF16(Shape s, std::vector<float> v) {
  Tensor t = Tensor::allocate(DType::kBFloat16, std::move(s)).value();
  for (size_t i = 0; i < v.size(); ++i) t.data<bfloat16_t>()[i] = bfloat16_t(v[i]);
  return t;
}

}  // namespace

// --- Gather -----------------------------------------------------------------------------------------
TEST(Indexing, GatherAxis0) {
  OpTest("Gather")
      .input("data", F({3, 2}, {1, 2, 3, 4, 5, 6}))
      .input("indices", I64({2}, {2, 0}))
      .output("y", F({2, 2}, {5, 6, 1, 2}))
      .run();
}

TEST(Indexing, GatherAxis1NegativeIndices2D) {
  OpTest("Gather")
      .input("data", I32({2, 3}, {1, 2, 3, 4, 5, 6}))
      .input("indices", I32({2, 2}, {0, -1, 1, 1}))
      .attr("axis", 1)
      .output("y", I32({2, 2, 2}, {1, 3, 2, 2, 4, 6, 5, 5}))
      .run();
}

TEST(Indexing, GatherScalarIndexFloat16AndBool) {
  OpTest("Gather")
      .input("data", H({3}, {1.5f, 2.5f, -3}))
      .input("i", I64({}, {-1}))
      .output("y", H({}, {-3}))
      .run();
  OpTest("Gather")
      .input("data", B({2, 2}, {true, false, false, false}))
      .constant_input("i", I64({1}, {0}))
      .attr("axis", -1)
      .output("y", B({2, 1}, {true, false}))
      .run();
}

TEST(Indexing, GatherOpset1) {
  OpTest("Gather", 1)
      .input("data", U8({3}, {7, 8, 9}))
      .input("i", I64({2}, {2, 2}))
      .output("y", U8({2}, {9, 9}))
      .run();
}

TEST(Indexing, GatherIndexOutOfRangeIsAnError) {
  expect_error(OpTest("Gather")
                   .input("data", F({3}, {1, 2, 3}))
                   .input("indices", I64({2}, {0, 3}))
                   .output("y", F({2}, {0, 0}))
                   .run_expect_error(),
               StatusCode::kOutOfRange, "index 3 is out of range for axis 0 of size 3");
  expect_error(OpTest("Gather")
                   .input("data", F({3}, {1, 2, 3}))
                   .input("indices", I32({1}, {-4}))
                   .output("y", F({1}, {0}))
                   .run_expect_error(),
               StatusCode::kOutOfRange, "index -4 is out of range");
  expect_error(OpTest("Gather")
                   .input("data", F({3}, {1, 2, 3}))
                   .input("indices", I64({1}, {std::numeric_limits<int64_t>::min()}))
                   .output("y", F({1}, {0}))
                   .run_expect_error(),
               StatusCode::kOutOfRange, "is out of range for axis 0 of size 3");
}

TEST(Indexing, GatherBadAxisIsAnError) {
  expect_error(OpTest("Gather")
                   .input("data", F({2, 2}, {1, 2, 3, 4}))
                   .input("indices", I64({1}, {0}))
                   .attr("axis", 2)
                   .output("y", F({1}, {0}))
                   .skip_checker()
                   .run_expect_error(),
               StatusCode::kInvalidModel, "axis 2 is out of range for rank 2");
}

// --- GatherElements ---------------------------------------------------------------------------------
TEST(Indexing, GatherElementsAxis1) {
  OpTest("GatherElements")
      .input("data", F({2, 2}, {1, 2, 3, 4}))
      .input("indices", I64({2, 2}, {0, 0, 1, 0}))
      .attr("axis", 1)
      .output("y", F({2, 2}, {1, 1, 4, 3}))
      .run();
}

TEST(Indexing, GatherElementsAxis0NegativeAndSmallerIndices) {
  // data 3x3 = 1..9; indices 2x2 along axis 0: y[i][j] = data[ind[i][j]][j]
  OpTest("GatherElements")
      .input("data", I8({3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9}))
      .input("indices", I32({2, 2}, {-1, 0, 1, -3}))
      .output("y", I8({2, 2}, {7, 2, 4, 2}))
      .run();
}

TEST(Indexing, GatherElementsOutOfRange) {
  expect_error(OpTest("GatherElements")
                   .input("data", F({2, 2}, {1, 2, 3, 4}))
                   .input("indices", I64({2, 2}, {0, 0, 2, 0}))
                   .attr("axis", 1)
                   .output("y", F({2, 2}, {0, 0, 0, 0}))
                   .run_expect_error(),
               StatusCode::kOutOfRange, "index 2 is out of range for axis 1 of size 2");
}

// --- GatherND ---------------------------------------------------------------------------------------
TEST(Indexing, GatherNDElementsAndSlices) {
  OpTest("GatherND")
      .input("data", I32({2, 2}, {0, 1, 2, 3}))
      .input("indices", I64({2, 2}, {0, 0, 1, 1}))
      .output("y", I32({2}, {0, 3}))
      .run();
  OpTest("GatherND")
      .input("data", F({2, 2}, {0, 1, 2, 3}))
      .input("indices", I64({2, 1}, {1, -2}))
      .output("y", F({2, 2}, {2, 3, 0, 1}))
      .run();
}

TEST(Indexing, GatherNDBatchDims) {
  OpTest("GatherND")
      .input("data", I64({2, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7}))
      .input("indices", I64({2, 1}, {1, 0}))
      .attr("batch_dims", 1)
      .output("y", I64({2, 2}, {2, 3, 4, 5}))
      .run();
  // batch_dims=1 with full coordinates: y[b][t] = data[b][ind[b][t][0]][ind[b][t][1]]
  OpTest("GatherND")
      .input("data", I64({2, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7}))
      .input("indices", I64({2, 1, 2}, {1, 0, 0, 1}))
      .attr("batch_dims", 1)
      .output("y", I64({2, 1}, {2, 5}))
      .run();
}

TEST(Indexing, GatherNDErrors) {
  expect_error(OpTest("GatherND")
                   .input("data", F({2, 2}, {0, 1, 2, 3}))
                   .input("indices", I64({1, 2}, {0, 2}))
                   .output("y", F({1}, {0}))
                   .run_expect_error(),
               StatusCode::kOutOfRange, "index 2 is out of range for axis 1 of size 2");
  expect_error(OpTest("GatherND")
                   .input("data", F({2, 2}, {0, 1, 2, 3}))
                   .input("indices", I64({1, 3}, {0, 0, 0}))
                   .output("y", F({1}, {0}))
                   .skip_checker()
                   .run_expect_error(),
               StatusCode::kInvalidModel, "last dimension of 'indices' (3)");
}

// --- ScatterElements --------------------------------------------------------------------------------
TEST(Indexing, ScatterElementsAxis0) {
  OpTest("ScatterElements")
      .input("data", F({3, 3}, {0, 0, 0, 0, 0, 0, 0, 0, 0}))
      .input("indices", I64({2, 3}, {1, 0, 2, 0, 2, 1}))
      .input("updates", F({2, 3}, {1, 1.1f, 1.2f, 2, 2.1f, 2.2f}))
      .output("y", F({3, 3}, {2, 1.1f, 0, 1, 0, 2.2f, 0, 2.1f, 1.2f}))
      .run();
}

TEST(Indexing, ScatterElementsAxis1NegativeIndices) {
  OpTest("ScatterElements")
      .input("data", F({1, 5}, {1, 2, 3, 4, 5}))
      .input("indices", I32({1, 2}, {1, -3}))
      .input("updates", F({1, 2}, {1.1f, 2.1f}))
      .attr("axis", 1)
      .output("y", F({1, 5}, {1, 1.1f, 2.1f, 4, 5}))
      .run();
}

TEST(Indexing, ScatterElementsReductions) {
  OpTest("ScatterElements", 16)
      .input("data", F({1, 5}, {1, 2, 3, 4, 5}))
      .input("indices", I64({1, 2}, {1, 1}))
      .input("updates", F({1, 2}, {1.1f, 2.1f}))
      .attr("axis", 1)
      .attr("reduction", "add")
      .output("y", F({1, 5}, {1, 5.2f, 3, 4, 5}))
      .run();
  OpTest("ScatterElements", 16)
      .input("data", I32({4}, {1, 2, 3, 4}))
      .input("indices", I64({3}, {3, 0, 3}))
      .input("updates", I32({3}, {2, 5, 10}))
      .attr("reduction", "mul")
      .output("y", I32({4}, {5, 2, 3, 80}))
      .run();
  // int8 add wraps without UB
  OpTest("ScatterElements", 16)
      .input("data", I8({2}, {127, 0}))
      .input("indices", I64({1}, {0}))
      .input("updates", I8({1}, {1}))
      .attr("reduction", "add")
      .output("y", I8({2}, {-128, 0}))
      .run();
}

TEST(Indexing, ScatterElementsErrors) {
  expect_error(OpTest("ScatterElements")
                   .input("data", F({1, 5}, {1, 2, 3, 4, 5}))
                   .input("indices", I64({1, 2}, {1, 5}))
                   .input("updates", F({1, 2}, {1, 2}))
                   .attr("axis", 1)
                   .output("y", F({1, 5}, {0, 0, 0, 0, 0}))
                   .run_expect_error(),
               StatusCode::kOutOfRange, "index 5 is out of range for axis 1 of size 5");
  expect_error(OpTest("ScatterElements")
                   .input("data", F({1, 5}, {1, 2, 3, 4, 5}))
                   .input("indices", I64({1, 2}, {1, 2}))
                   .input("updates", F({1, 3}, {1, 2, 3}))
                   .attr("axis", 1)
                   .output("y", F({1, 5}, {0, 0, 0, 0, 0}))
                   .skip_checker()
                   .run_expect_error(),
               StatusCode::kInvalidModel, "'updates' shape 1x3 must equal 'indices' shape 1x2");
}

// --- ScatterND --------------------------------------------------------------------------------------
TEST(Indexing, ScatterNDElements) {
  OpTest("ScatterND")
      .input("data", F({8}, {1, 2, 3, 4, 5, 6, 7, 8}))
      .input("indices", I64({4, 1}, {4, 3, 1, 7}))
      .input("updates", F({4}, {9, 10, 11, 12}))
      .output("y", F({8}, {1, 11, 3, 10, 9, 6, 7, 12}))
      .run();
}

TEST(Indexing, ScatterNDSlicesNegativeIndexBFloat16) {
  OpTest("ScatterND")
      .input("data", BF16({2, 3}, {0, 0, 0, 0, 0, 0}))
      .input("indices", I64({1, 1}, {-1}))
      .input("updates", BF16({1, 3}, {7, 8, 9}))
      .output("y", BF16({2, 3}, {0, 0, 0, 7, 8, 9}))
      .run();
}

TEST(Indexing, ScatterNDReductions) {
  OpTest("ScatterND", 16)
      .input("data", D({4}, {1, 2, 3, 4}))
      .input("indices", I64({3, 1}, {0, 0, 3}))
      .input("updates", D({3}, {5, 6, 7}))
      .attr("reduction", "add")
      .output("y", D({4}, {12, 2, 3, 11}))
      .run();
  OpTest("ScatterND", 16)
      .input("data", I64({2, 2}, {1, 2, 3, 4}))
      .input("indices", I64({2, 1}, {1, 1}))
      .input("updates", I64({2, 2}, {3, 4, 5, 6}))
      .attr("reduction", "mul")
      .output("y", I64({2, 2}, {1, 2, 45, 96}))
      .run();
}

TEST(Indexing, ScatterNDErrors) {
  expect_error(OpTest("ScatterND")
                   .input("data", F({4}, {1, 2, 3, 4}))
                   .input("indices", I64({1, 1}, {-5}))
                   .input("updates", F({1}, {9}))
                   .output("y", F({4}, {0, 0, 0, 0}))
                   .run_expect_error(),
               StatusCode::kOutOfRange, "index -5 is out of range for axis 0 of size 4");
  expect_error(OpTest("ScatterND", 16)
                   .input("data", F({4}, {1, 2, 3, 4}))
                   .input("indices", I64({1, 1}, {0}))
                   .input("updates", F({1}, {9}))
                   .attr("reduction", "max")
                   .output("y", F({4}, {0, 0, 0, 0}))
                   .skip_checker()
                   .run_expect_error(),
               StatusCode::kInvalidModel, "reduction 'max' is not one of none, add, mul");
  expect_error(OpTest("ScatterND")
                   .input("data", F({2, 2}, {1, 2, 3, 4}))
                   .input("indices", I64({1, 1}, {0}))
                   .input("updates", F({1, 3}, {1, 2, 3}))
                   .output("y", F({2, 2}, {0, 0, 0, 0}))
                   .skip_checker()
                   .run_expect_error(),
               StatusCode::kInvalidModel, "'updates' must have shape 1x2");
}

// --- Tile -------------------------------------------------------------------------------------------
TEST(Indexing, TilePlanTimeRepeats) {
  OpTest("Tile")
      .input("x", F({2, 2}, {1, 2, 3, 4}))
      .constant_input("repeats", I64({2}, {2, 2}))
      .output("y", F({4, 4}, {1, 2, 1, 2, 3, 4, 3, 4, 1, 2, 1, 2, 3, 4, 3, 4}))
      .run();
}

TEST(Indexing, TileRunTimeRepeats) {
  OpTest("Tile")
      .input("x", I8({1, 3}, {1, 2, 3}))
      .input("repeats", I64({2}, {2, 1}))
      .output("y", I8({2, 3}, {1, 2, 3, 1, 2, 3}))
      .run();
  OpTest("Tile")
      .input("x", B({2, 1}, {true, false}))
      .input("repeats", I64({2}, {1, 3}))
      .output("y", B({2, 3}, {true, true, true, false, false, false}))
      .run();
  OpTest("Tile").input("x", F({2}, {1, 2})).input("repeats", I64({1}, {0})).output("y", F({0}, {})).run();
}

TEST(Indexing, TileErrors) {
  expect_error(OpTest("Tile")
                   .input("x", F({2}, {1, 2}))
                   .input("repeats", I64({1}, {-1}))
                   .output("y", F({2}, {0, 0}))
                   .run_expect_error(),
               StatusCode::kInvalidModel, "repeats must be >= 0");
  expect_error(OpTest("Tile")
                   .input("x", F({2, 2}, {1, 2, 3, 4}))
                   .input("repeats", I64({2}, {int64_t{1} << 20, int64_t{1} << 20}))
                   .output("y", F({2, 2}, {0, 0, 0, 0}))
                   .run_expect_error(),
               StatusCode::kOutOfRange, "more than 2^31 elements");
  expect_error(OpTest("Tile")
                   .input("x", F({2, 2}, {1, 2, 3, 4}))
                   .constant_input("repeats", I64({1}, {2}))
                   .output("y", F({2, 2}, {0, 0, 0, 0}))
                   .skip_checker()
                   .run_expect_error(),
               StatusCode::kInvalidModel, "'repeats' must be a 1-D tensor of 2 values");
}

// --- Expand -----------------------------------------------------------------------------------------
TEST(Indexing, ExpandPlanTimeShape) {
  OpTest("Expand")
      .input("x", F({3, 1}, {1, 2, 3}))
      .constant_input("shape", I64({3}, {2, 1, 4}))
      .output("y", F({2, 3, 4}, {1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3}))
      .run();
}

TEST(Indexing, ExpandRunTimeShape) {
  // shape [1] keeps the larger input dim (bidirectional broadcast)
  OpTest("Expand")
      .input("x", I32({3}, {1, 2, 3}))
      .input("shape", I64({1}, {1}))
      .output("y", I32({3}, {1, 2, 3}))
      .run();
  OpTest("Expand")
      .input("x", B({1, 2}, {true, false}))
      .input("shape", I64({2}, {2, 2}))
      .output("y", B({2, 2}, {true, false, true, false}))
      .run();
  OpTest("Expand")
      .input("x", H({}, {2.5f}))
      .input("shape", I64({2}, {1, 3}))
      .output("y", H({1, 3}, {2.5f, 2.5f, 2.5f}))
      .run();
}

TEST(Indexing, ExpandErrors) {
  expect_error(OpTest("Expand")
                   .input("x", F({3}, {1, 2, 3}))
                   .input("shape", I64({1}, {4}))
                   .output("y", F({4}, {0, 0, 0, 0}))
                   .run_expect_error(),
               StatusCode::kInvalidModel, "input shape 3 cannot be expanded to shape [4]");
  expect_error(OpTest("Expand")
                   .input("x", F({1}, {1}))
                   .input("shape", I64({3}, {1 << 20, 1 << 20, 4}))
                   .output("y", F({1}, {0}))
                   .run_expect_error(),
               StatusCode::kOutOfRange, "more than 2^31 elements");
}

// --- Pad --------------------------------------------------------------------------------------------
TEST(Indexing, PadConstant) {
  OpTest("Pad")
      .input("x", F({3, 2}, {1, 1.2f, 2.3f, 3.4f, 4.5f, 5.7f}))
      .constant_input("pads", I64({4}, {0, 2, 0, 0}))
      .output("y", F({3, 4}, {0, 0, 1, 1.2f, 0, 0, 2.3f, 3.4f, 0, 0, 4.5f, 5.7f}))
      .run();
  OpTest("Pad")
      .input("x", I32({2}, {1, 2}))
      .input("pads", I64({2}, {1, 2}))
      .input("value", I32({}, {-7}))
      .output("y", I32({5}, {-7, 1, 2, -7, -7}))
      .run();
}

TEST(Indexing, PadReflectAndEdge) {
  OpTest("Pad")
      .input("x", F({4}, {1, 2, 3, 4}))
      .input("pads", I64({2}, {2, 3}))
      .attr("mode", "reflect")
      .output("y", F({9}, {3, 2, 1, 2, 3, 4, 3, 2, 1}))
      .run();
  // pads wider than the input keep reflecting (numpy semantics)
  OpTest("Pad")
      .input("x", U8({3}, {1, 2, 3}))
      .constant_input("pads", I64({2}, {5, 0}))
      .attr("mode", "reflect")
      .output("y", U8({8}, {2, 1, 2, 3, 2, 1, 2, 3}))
      .run();
  OpTest("Pad")
      .input("x", F({2, 2}, {1, 2, 3, 4}))
      .input("pads", I64({4}, {1, 0, 0, 1}))
      .attr("mode", "edge")
      .output("y", F({3, 3}, {1, 2, 2, 1, 2, 2, 3, 4, 4}))
      .run();
}

TEST(Indexing, PadNegativeCrops) {
  OpTest("Pad")
      .input("x", F({2, 3}, {1, 2, 3, 4, 5, 6}))
      .input("pads", I64({4}, {0, -1, 1, 1}))
      .output("y", F({3, 3}, {2, 3, 0, 5, 6, 0, 0, 0, 0}))
      .run();
}

TEST(Indexing, PadOpset2AttributesWithDoubleData) {
  OpTest("Pad", 2)
      .input("x", D({2}, {1, 2}))
      .attr("pads", std::vector<int64_t>{1, 1})
      .attr("value", 7.5f)
      .output("y", D({4}, {7.5, 1, 2, 7.5}))
      .run();
  OpTest("Pad", 2)
      .input("x", F({1, 2}, {1, 2}))
      .attr("pads", std::vector<int64_t>{0, 1, 0, 0})
      .attr("mode", "edge")
      .output("y", F({1, 3}, {1, 1, 2}))
      .run();
}

TEST(Indexing, PadErrors) {
  expect_error(OpTest("Pad")
                   .input("x", F({2, 2}, {1, 2, 3, 4}))
                   .input("pads", I64({6}, {0, 0, 0, 0, 0, 0}))
                   .output("y", F({2, 2}, {0, 0, 0, 0}))
                   .run_expect_error(),
               StatusCode::kInvalidModel, "pads must have 4 values (2 per padded axis), got 6");
  expect_error(OpTest("Pad")
                   .input("x", F({2}, {1, 2}))
                   .input("pads", I64({2}, {-2, -1}))
                   .output("y", F({1}, {0}))
                   .run_expect_error(),
               StatusCode::kInvalidModel, "to a negative size");
  expect_error(
      OpTest("Pad")
          .input("x", F({2}, {1, 2}))
          .input("pads", I64({2}, {std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()}))
          .output("y", F({1}, {0}))
          .run_expect_error(),
      StatusCode::kOutOfRange, "has values out of range");
  expect_error(OpTest("Pad")
                   .input("x", F({2}, {1, 2}))
                   .constant_input("pads", I64({2}, {0, 0}))
                   .attr("mode", "wrap")
                   .output("y", F({2}, {0, 0}))
                   .skip_checker()
                   .run_expect_error(),
               StatusCode::kInvalidModel, "mode 'wrap' is not one of constant, reflect, edge");
}

// --- DepthToSpace / SpaceToDepth --------------------------------------------------------------------
TEST(Indexing, DepthToSpaceDCRAndCRD) {
  // input channel ch at (h, w) holds ch*4 + h*2 + w
  const Tensor x = F({1, 4, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15});
  OpTest("DepthToSpace")
      .input("x", x)
      .attr("blocksize", 2)
      .output("y", F({1, 1, 4, 4}, {0, 4, 1, 5, 8, 12, 9, 13, 2, 6, 3, 7, 10, 14, 11, 15}))
      .run();
  OpTest("DepthToSpace")
      .input("x", I64({1, 8, 1, 1}, {0, 1, 2, 3, 4, 5, 6, 7}))
      .attr("blocksize", 2)
      .output("y", I64({1, 2, 2, 2}, {0, 2, 4, 6, 1, 3, 5, 7}))
      .run();
  OpTest("DepthToSpace")
      .input("x", I64({1, 8, 1, 1}, {0, 1, 2, 3, 4, 5, 6, 7}))
      .attr("blocksize", 2)
      .attr("mode", "CRD")
      .output("y", I64({1, 2, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7}))
      .run();
}

TEST(Indexing, SpaceToDepth) {
  OpTest("SpaceToDepth")
      .input("x", F({1, 1, 4, 4}, {0, 4, 1, 5, 8, 12, 9, 13, 2, 6, 3, 7, 10, 14, 11, 15}))
      .attr("blocksize", 2)
      .output("y", F({1, 4, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}))
      .run();
  OpTest("SpaceToDepth")
      .input("x", U8({1, 2, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7}))
      .attr("blocksize", 2)
      .output("y", U8({1, 8, 1, 1}, {0, 4, 1, 5, 2, 6, 3, 7}))
      .run();
}

TEST(Indexing, DepthToSpaceErrors) {
  expect_error(OpTest("DepthToSpace")
                   .input("x", F({1, 3, 1, 1}, {0, 1, 2}))
                   .attr("blocksize", 2)
                   .output("y", F({1}, {0}))
                   .skip_checker()
                   .run_expect_error(),
               StatusCode::kInvalidModel, "channels (3) must be a multiple of blocksize * blocksize");
  expect_error(OpTest("SpaceToDepth")
                   .input("x", F({1, 1, 3, 2}, {0, 1, 2, 3, 4, 5}))
                   .attr("blocksize", 2)
                   .output("y", F({1}, {0}))
                   .skip_checker()
                   .run_expect_error(),
               StatusCode::kInvalidModel, "must be multiples of blocksize 2");
}

// --- OneHot -----------------------------------------------------------------------------------------
TEST(Indexing, OneHotDefaultAxisNegativeAndOutOfRangeIndices) {
  // -1 wraps to depth-1; 3 is outside [-3, 2]: an all-off row (spec)
  OpTest("OneHot")
      .input("indices", I64({4}, {0, 2, -1, 3}))
      .constant_input("depth", I64({}, {3}))
      .input("values", F({2}, {0, 1}))
      .output("y", F({4, 3}, {1, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0}))
      .run();
}

TEST(Indexing, OneHotAxis0RunTimeDepth) {
  OpTest("OneHot")
      .input("indices", I32({2}, {1, 0}))
      .input("depth", F({1}, {3}))
      .input("values", I32({2}, {5, 9}))
      .attr("axis", 0)
      .output("y", I32({3, 2}, {5, 9, 9, 5, 5, 5}))
      .run();
}

TEST(Indexing, OneHotFloatIndicesMiddleAxis) {
  // indices [2, 1] = {1.0, 2.7 -> 2}, axis 1: y[i][d][0]
  OpTest("OneHot")
      .input("indices", F({2, 1}, {1.0f, 2.7f}))
      .input("depth", F({}, {4}))
      .input("values", D({2}, {-1, 1}))
      .attr("axis", 1)
      .output("y", D({2, 4, 1}, {-1, 1, -1, -1, -1, -1, 1, -1}))
      .run();
}

TEST(Indexing, OneHotErrors) {
  expect_error(OpTest("OneHot")
                   .input("indices", I64({1}, {0}))
                   .input("depth", I64({}, {int64_t{1} << 40}))
                   .input("values", F({2}, {0, 1}))
                   .output("y", F({1}, {0}))
                   .run_expect_error(),
               StatusCode::kOutOfRange, "depth must be in [0, 2^31)");
  expect_error(OpTest("OneHot")
                   .input("indices", I64({1}, {0}))
                   .input("depth", I64({}, {2}))
                   .input("values", F({3}, {0, 1, 2}))
                   .output("y", F({1}, {0}))
                   .skip_checker()
                   .run_expect_error(),
               StatusCode::kInvalidModel, "'values' must be a 1-D tensor of 2 values");
  expect_error(OpTest("OneHot")
                   .input("indices", I64({1}, {0}))
                   .constant_input("depth", I64({}, {2}))
                   .input("values", F({2}, {0, 1}))
                   .attr("axis", 2)
                   .output("y", F({1}, {0}))
                   .skip_checker()
                   .run_expect_error(),
               StatusCode::kInvalidModel, "axis 2 is out of range for rank 2");
}

// --- NonZero ----------------------------------------------------------------------------------------
TEST(Indexing, NonZero) {
  OpTest("NonZero").input("x", F({2, 2}, {1, 0, 1, 1})).output("y", I64({2, 3}, {0, 1, 1, 0, 0, 1})).run();
  // -0.0 is zero, NaN is not
  OpTest("NonZero").input("x", F({4}, {0, -0.0f, NAN, 2})).output("y", I64({1, 2}, {2, 3})).run();
  OpTest("NonZero").input("x", B({2, 1}, {false, false})).output("y", I64({2, 0}, {})).run();
  OpTest("NonZero").input("x", I32({}, {5})).output("y", I64({1, 1}, {0})).run();
}

TEST(Indexing, NonZeroConstantInputIsFolded) {
  OpTest("NonZero").constant_input("x", I8({3}, {0, -1, 4})).output("y", I64({1, 2}, {1, 2})).run();
}

// --- Trilu ------------------------------------------------------------------------------------------
TEST(Indexing, TriluUpperAndLower) {
  const Tensor x = F({3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  OpTest("Trilu", 14).input("x", x).output("y", F({3, 3}, {1, 2, 3, 0, 5, 6, 0, 0, 9})).run();
  OpTest("Trilu", 14)
      .input("x", x)
      .input("k", I64({}, {1}))
      .output("y", F({3, 3}, {0, 2, 3, 0, 0, 6, 0, 0, 0}))
      .run();
  OpTest("Trilu", 14)
      .input("x", x)
      .constant_input("k", I64({}, {-1}))
      .attr("upper", 0)
      .output("y", F({3, 3}, {0, 0, 0, 4, 0, 0, 7, 8, 0}))
      .run();
}

TEST(Indexing, TriluBatchedBoolAndLargeK) {
  OpTest("Trilu", 14)
      .input("x", B({2, 2, 2}, {true, true, true, true, true, false, true, true}))
      .attr("upper", 0)
      .output("y", B({2, 2, 2}, {true, false, true, true, true, false, true, true}))
      .run();
  OpTest("Trilu", 14)
      .input("x", I32({2, 3}, {1, 2, 3, 4, 5, 6}))
      .input("k", I64({}, {-100}))
      .output("y", I32({2, 3}, {1, 2, 3, 4, 5, 6}))
      .run();
}

TEST(Indexing, TriluRank1IsAnError) {
  expect_error(OpTest("Trilu", 14)
                   .input("x", F({3}, {1, 2, 3}))
                   .output("y", F({3}, {0, 0, 0}))
                   .skip_checker()
                   .run_expect_error(),
               StatusCode::kInvalidModel, "input must have rank >= 2");
}

// --- values of shape-carrying inputs change between runs of one session ----------------------------
namespace {
void run_and_expect(Session& s, std::initializer_list<Tensor> feeds, const Tensor& expected) {
  auto out = s.run(feeds);
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  EXPECT_EQ((*out)[0].shape(), expected.shape());
  ASSERT_EQ((*out)[0].nbytes(), expected.nbytes());
  EXPECT_EQ(std::memcmp((*out)[0].raw(), expected.raw(), expected.nbytes()), 0);
}
}  // namespace

TEST(Indexing, RunTimeValuesChangeBetweenRuns) {
  for (bool reference : {true, false}) {
    SessionOptions so;
    so.reference_kernels = reference;
    const std::string tile = OpTest("Tile")
                                 .input("x", F({2}, {1, 2}))
                                 .input("r", I64({1}, {2}))
                                 .output("y", F({4}, {}))
                                 .model_bytes();
    auto st = Session::load_from_memory(tile, so);
    ASSERT_TRUE(st.is_ok()) << st.status().to_string();
    run_and_expect(**st, {F({2}, {1, 2}), I64({1}, {2})}, F({4}, {1, 2, 1, 2}));
    run_and_expect(**st, {F({2}, {1, 2}), I64({1}, {3})}, F({6}, {1, 2, 1, 2, 1, 2}));
    run_and_expect(**st, {F({2}, {5, 6}), I64({1}, {1})}, F({2}, {5, 6}));

    const std::string pad = OpTest("Pad")
                                .input("x", I32({2}, {1, 2}))
                                .input("p", I64({2}, {1, 0}))
                                .output("y", I32({3}, {}))
                                .model_bytes();
    auto sp = Session::load_from_memory(pad, so);
    ASSERT_TRUE(sp.is_ok()) << sp.status().to_string();
    run_and_expect(**sp, {I32({2}, {1, 2}), I64({2}, {1, 0})}, I32({3}, {0, 1, 2}));
    run_and_expect(**sp, {I32({2}, {1, 2}), I64({2}, {-1, 2})}, I32({3}, {2, 0, 0}));

    const std::string nz =
        OpTest("NonZero").input("x", I32({3}, {1, 0, 1})).output("y", I64({1, 2}, {})).model_bytes();
    auto sn = Session::load_from_memory(nz, so);
    ASSERT_TRUE(sn.is_ok()) << sn.status().to_string();
    run_and_expect(**sn, {I32({3}, {1, 0, 1})}, I64({1, 2}, {0, 2}));
    run_and_expect(**sn, {I32({3}, {0, 7, 0})}, I64({1, 1}, {1}));

    const std::string oh = OpTest("OneHot")
                               .input("i", I64({1}, {1}))
                               .input("d", I64({}, {2}))
                               .input("v", U8({2}, {0, 1}))
                               .output("y", U8({1, 2}, {}))
                               .model_bytes();
    auto so2 = Session::load_from_memory(oh, so);
    ASSERT_TRUE(so2.is_ok()) << so2.status().to_string();
    run_and_expect(**so2, {I64({1}, {1}), I64({}, {2}), U8({2}, {0, 1})}, U8({1, 2}, {0, 1}));
    run_and_expect(**so2, {I64({1}, {-1}), I64({}, {4}), U8({2}, {0, 1})}, U8({1, 4}, {0, 0, 0, 1}));

    const std::string ex = OpTest("Expand")
                               .input("x", F({1}, {3}))
                               .input("s", I64({1}, {2}))
                               .output("y", F({2}, {}))
                               .model_bytes();
    auto se = Session::load_from_memory(ex, so);
    ASSERT_TRUE(se.is_ok()) << se.status().to_string();
    run_and_expect(**se, {F({1}, {3}), I64({1}, {2})}, F({2}, {3, 3}));
    run_and_expect(**se, {F({1}, {4}), I64({1}, {3})}, F({3}, {4, 4, 4}));
  }
}

}  // namespace verge::test
