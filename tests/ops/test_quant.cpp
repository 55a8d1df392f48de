// Reference kernels of the integer / quantized ops against hand-computed values (quant_math.h numerics:
// round half to even, saturation, int32 wrap-around of the accumulator).
#include <cmath>
#include <limits>

#include "op_test.h"

namespace verge::test {
namespace {
void expect_error(OpTest& t, const std::string& fragment) {
  Status st = t.run_expect_error();
  EXPECT_NE(st.message().find(fragment), std::string::npos) << st.message();
}
}  // namespace

// ---------------------------------------------------------------------------------------------------
// QuantizeLinear

TEST(Quant, QuantizeLinearPerTensorRoundsHalfToEvenAndSaturates) {
  // x / 2 = 0, 0.5, 1.25, 1.75, -0.5, 150, -150, 2.5 -> 0, 0, 1, 2, 0, 150, -150, 2; + 128, clamp to [0, 255]
  OpTest("QuantizeLinear", 13)
      .input("x", F({8}, {0, 1, 2.5f, 3.5f, -1, 300, -300, 5}))
      .input("y_scale", F({}, {2}))
      .input("y_zero_point", U8({}, {128}))
      .output("y", U8({8}, {128, 128, 129, 130, 128, 255, 0, 130}))
      .run();
}

TEST(Quant, QuantizeLinearPerAxisInt8) {
  // row 0: x / 0.5 = -2, 0, 2; + (-1). row 1: x / 2 = 5, -5, 1.5 -> 5, -5, 2; + 5.
  OpTest("QuantizeLinear", 13)
      .input("x", F({2, 3}, {-1, 0, 1, 10, -10, 3}))
      .constant_input("y_scale", F({2}, {0.5f, 2}))
      .constant_input("y_zero_point", I8({2}, {-1, 5}))
      .attr("axis", int64_t{0})
      .output("y", I8({2, 3}, {-3, -1, 1, 10, 0, 7}))
      .run();
}

TEST(Quant, QuantizeLinearNegativeAxis) {
  // axis -1 of [2, 2]: column 0 scale 1 zp 0, column 1 scale 10 zp 100; 15 / 10 = 1.5 -> 2, 25 / 10 = 2.5 ->
  // 2
  OpTest("QuantizeLinear", 13)
      .input("x", F({2, 2}, {3, 15, -4, 25}))
      .input("y_scale", F({2}, {1, 10}))
      .input("y_zero_point", U8({2}, {0, 100}))
      .attr("axis", int64_t{-1})
      .output("y", U8({2, 2}, {3, 102, 0, 102}))
      .run();
}

TEST(Quant, QuantizeLinearWithoutZeroPointIsUint8) {
  OpTest("QuantizeLinear", 13)
      .input("x", F({3}, {-3, 3.5f, 1000}))
      .input("y_scale", F({}, {1}))
      .output("y", U8({3}, {0, 4, 255}))
      .run();
}

TEST(Quant, QuantizeLinearInt32Input) {
  // 5 / 2 = 2.5 -> 2, -7 / 2 = -3.5 -> -4, 100000 / 2 saturates
  OpTest("QuantizeLinear", 13)
      .input("x", I32({3}, {5, -7, 100000}))
      .input("y_scale", F({}, {2}))
      .input("y_zero_point", I8({}, {0}))
      .output("y", I8({3}, {2, -4, 127}))
      .run();
}

TEST(Quant, QuantizeLinearNonFiniteInputs) {
  // NaN quantizes to the zero point, infinities saturate.
  const float inf = std::numeric_limits<float>::infinity();
  OpTest("QuantizeLinear", 13)
      .input("x", F({3}, {NAN, inf, -inf}))
      .input("y_scale", F({}, {1}))
      .input("y_zero_point", U8({}, {10}))
      .output("y", U8({3}, {10, 255, 0}))
      .run();
}

TEST(Quant, QuantizeLinearOpset10) {
  OpTest("QuantizeLinear", 10)
      .input("x", F({2}, {-2, 7}))
      .input("y_scale", F({}, {0.5f}))
      .input("y_zero_point", I8({}, {1}))
      .output("y", I8({2}, {-3, 15}))
      .run();
}

TEST(Quant, QuantizeLinearScaleLengthMustMatchAxis) {
  expect_error(OpTest("QuantizeLinear", 13)
                   .input("x", F({2, 3}, {1, 2, 3, 4, 5, 6}))
                   .input("y_scale", F({4}, {1, 1, 1, 1}))
                   .input("y_zero_point", U8({4}, {0, 0, 0, 0}))
                   .output("y", U8({2, 3}, {})),
               "has 4 values, expected 1 or 3 (dim 1 of the input)");
}

TEST(Quant, QuantizeLinearZeroPointShapeMustMatchScale) {
  expect_error(OpTest("QuantizeLinear", 13)
                   .input("x", F({2, 3}, {1, 2, 3, 4, 5, 6}))
                   .input("y_scale", F({3}, {1, 1, 1}))
                   .input("y_zero_point", U8({}, {0}))
                   .output("y", U8({2, 3}, {})),
               "zero point shape scalar must match scale shape 3");
}

TEST(Quant, QuantizeLinearAxisOutOfRange) {
  expect_error(OpTest("QuantizeLinear", 13)
                   .input("x", F({2, 3}, {1, 2, 3, 4, 5, 6}))
                   .input("y_scale", F({3}, {1, 1, 1}))
                   .attr("axis", int64_t{2})
                   .output("y", U8({2, 3}, {})),
               "axis 2 is out of range for rank 2");
}

// ---------------------------------------------------------------------------------------------------
// DequantizeLinear

TEST(Quant, DequantizeLinearPerTensor) {
  OpTest("DequantizeLinear", 13)
      .input("x", U8({4}, {0, 3, 128, 255}))
      .input("x_scale", F({}, {2}))
      .input("x_zero_point", U8({}, {128}))
      .output("y", F({4}, {-256, -250, 0, 254}))
      .run();
}

TEST(Quant, DequantizeLinearPerAxisInt8) {
  // (x - zp) * scale per column: (-128 + 128) * 0.5, (127 - 1) * 0.25, (0 + 128) * 0.5, (5 - 1) * 0.25
  OpTest("DequantizeLinear", 13)
      .input("x", I8({2, 2}, {-128, 127, 0, 5}))
      .constant_input("x_scale", F({2}, {0.5f, 0.25f}))
      .constant_input("x_zero_point", I8({2}, {-128, 1}))
      .attr("axis", int64_t{1})
      .output("y", F({2, 2}, {0, 31.5f, 64, 1}))
      .run();
}

TEST(Quant, DequantizeLinearInt32WithoutZeroPoint) {
  OpTest("DequantizeLinear", 13)
      .input("x", I32({3}, {std::numeric_limits<int32_t>::min(), 1 << 30, 3}))
      .input("x_scale", F({}, {0.5f}))
      .output("y", F({3}, {-1073741824.f, 536870912.f, 1.5f}))
      .run();
}

TEST(Quant, DequantizeLinearZeroPointDtypeMustMatch) {
  expect_error(OpTest("DequantizeLinear", 13)
                   .input("x", U8({2}, {1, 2}))
                   .input("x_scale", F({}, {1}))
                   .input("x_zero_point", I8({}, {0}))
                   .output("y", F({2}, {}))
                   .skip_checker(),
               "must have the dtype of");
}

// ---------------------------------------------------------------------------------------------------
// DynamicQuantizeLinear

TEST(Quant, DynamicQuantizeLinearSymmetricRange) {
  // range [-127.5, 127.5] -> scale 255 / 255 = 1, zp = round(127.5) = 128 (tie to even);
  // y = round(x) + 128: -128 + 128, 128 + 128 -> 255, 0, 0, 2, -2 (ties to even)
  OpTest("DynamicQuantizeLinear", 11)
      .input("x", F({6}, {-127.5f, 127.5f, 0, 0.5f, 1.5f, -2.5f}))
      .output("y", U8({6}, {0, 255, 128, 128, 130, 126}))
      .output("y_scale", F({}, {1}))
      .output("y_zero_point", U8({}, {128}))
      .run();
}

TEST(Quant, DynamicQuantizeLinearAllPositiveIncludesZero) {
  OpTest("DynamicQuantizeLinear", 11)
      .input("x", F({3}, {1, 255, 51}))
      .output("y", U8({3}, {1, 255, 51}))
      .output("y_scale", F({}, {1}))
      .output("y_zero_point", U8({}, {0}))
      .run();
}

TEST(Quant, DynamicQuantizeLinearAllNegative) {
  // range [-255, 0] -> scale 1, zp 255; round(-10.4) = -10 -> 245
  OpTest("DynamicQuantizeLinear", 11)
      .input("x", F({2}, {-255, -10.4f}))
      .output("y", U8({2}, {0, 245}))
      .output("y_scale", F({}, {1}))
      .output("y_zero_point", U8({}, {255}))
      .run();
}

TEST(Quant, DynamicQuantizeLinearAllZero) {
  // max == min: scale = 1 / 255 (ONNX reference implementation), zero point 0.
  OpTest("DynamicQuantizeLinear", 11)
      .input("x", F({2, 2}, {0, 0, 0, 0}))
      .output("y", U8({2, 2}, {0, 0, 0, 0}))
      .output("y_scale", F({}, {1.f / 255.f}))
      .output("y_zero_point", U8({}, {0}))
      .run();
}

// ---------------------------------------------------------------------------------------------------
// ConvInteger

TEST(Quant, ConvIntegerWithZeroPoint) {
  // x - 1 = [[0,1,2],[3,4,5],[6,7,8]], w = [[1,2],[3,4]]
  OpTest("ConvInteger", 10)
      .input("x", U8({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9}))
      .constant_input("w", U8({1, 1, 2, 2}, {1, 2, 3, 4}))
      .input("x_zero_point", U8({}, {1}))
      .output("y", I32({1, 1, 2, 2}, {27, 37, 57, 67}))
      .run();
}

TEST(Quant, ConvIntegerGroupsPerChannelWeightZeroPoint) {
  // group 2, 1x1 kernels: effective weights 2 - 1 = 1 and 3 - (-1) = 4
  OpTest("ConvInteger", 10)
      .input("x", I8({1, 2, 2, 2}, {1, 2, 3, 4, -1, -2, -3, -4}))
      .input("w", I8({2, 1, 1, 1}, {2, 3}))
      .omitted_input()
      .input("w_zero_point", I8({2}, {1, -1}))
      .attr("group", int64_t{2})
      .output("y", I32({1, 2, 2, 2}, {1, 2, 3, 4, -4, -8, -12, -16}))
      .run();
}

TEST(Quant, ConvIntegerPaddingHoldsZeroPoint) {
  // Padded positions contribute (x_zp - x_zp) = 0: corner = (2 - 1) * 1.
  OpTest("ConvInteger", 10)
      .input("x", U8({1, 1, 2, 2}, {2, 3, 4, 5}))
      .input("w", U8({1, 1, 2, 2}, {1, 1, 1, 1}))
      .input("x_zero_point", U8({}, {1}))
      .attr("pads", std::vector<int64_t>{1, 1, 1, 1})
      .output("y", I32({1, 1, 3, 3}, {1, 3, 2, 4, 10, 6, 3, 7, 4}))
      .run();
}

TEST(Quant, ConvInteger1DDilatedSameUpper) {
  // extent 3, total padding 2 (1 + 1): y[i] = x[i-1] + x[i+1]
  OpTest("ConvInteger", 10)
      .input("x", U8({1, 1, 5}, {1, 2, 3, 4, 5}))
      .input("w", U8({1, 1, 2}, {1, 1}))
      .attr("dilations", std::vector<int64_t>{2})
      .attr("auto_pad", "SAME_UPPER")
      .output("y", I32({1, 1, 5}, {2, 4, 6, 8, 4}))
      .run();
}

TEST(Quant, ConvInteger1DStridedSameLower) {
  // out = ceil(5 / 2) = 3, padding 1 + 1: y[o] = x[2o-1] + x[2o+1]
  OpTest("ConvInteger", 10)
      .input("x", U8({1, 1, 5}, {1, 2, 3, 4, 5}))
      .input("w", U8({1, 1, 2}, {1, 1}))
      .attr("dilations", std::vector<int64_t>{2})
      .attr("strides", std::vector<int64_t>{2})
      .attr("auto_pad", "SAME_LOWER")
      .output("y", I32({1, 1, 3}, {2, 6, 4}))
      .run();
}

TEST(Quant, ConvIntegerMixedSignedness) {
  // uint8 x, int8 w: (200 - 255) * -128 + (255 - 255) * 127 = 7040
  OpTest("ConvInteger", 10)
      .input("x", U8({1, 1, 1, 2}, {200, 255}))
      .input("w", I8({1, 1, 1, 2}, {-128, 127}))
      .input("x_zero_point", U8({}, {255}))
      .output("y", I32({1, 1, 1, 1}, {7040}))
      .run();
}

TEST(Quant, ConvIntegerWeightZeroPointLength) {
  expect_error(OpTest("ConvInteger", 10)
                   .input("x", U8({1, 1, 2, 2}, {1, 2, 3, 4}))
                   .input("w", U8({2, 1, 1, 1}, {1, 1}))
                   .omitted_input()
                   .input("w_zero_point", U8({3}, {0, 0, 0}))
                   .output("y", I32({1, 2, 2, 2}, {})),
               "'w_zero_point' has 3 values, expected 1 or 2 (output channels)");
}

TEST(Quant, ConvIntegerGroupMustDivideChannels) {
  expect_error(OpTest("ConvInteger", 10)
                   .input("x", U8({1, 3, 2, 2}, {}))
                   .input("w", U8({2, 1, 1, 1}, {1, 1}))
                   .attr("group", int64_t{2})
                   .output("y", I32({1, 2, 2, 2}, {})),
               "input channels 3 are not divisible by group 2");
}

// ---------------------------------------------------------------------------------------------------
// QLinearConv

TEST(Quant, QLinearConvPerChannelInt8WithBias) {
  // x - zp = [-2, 0, 2, 4]; channel 0: w 1, multiplier 0.25 -> -0.5, 0, 0.5, 1 -> 0, 0, 0, 1;
  // channel 1: w 2 - (-1) = 3, acc + bias 1 = -5, 1, 7, 13, multiplier 0.5 -> -2.5, 0.5, 3.5, 6.5 -> -2, 0,
  // 4, 6
  OpTest("QLinearConv", 10)
      .input("x", I8({1, 1, 1, 4}, {-3, -1, 1, 3}))
      .input("x_scale", F({}, {1}))
      .input("x_zero_point", I8({}, {-1}))
      .constant_input("w", I8({2, 1, 1, 1}, {1, 2}))
      .constant_input("w_scale", F({2}, {0.25f, 0.5f}))
      .constant_input("w_zero_point", I8({2}, {0, -1}))
      .input("y_scale", F({}, {1}))
      .input("y_zero_point", I8({}, {0}))
      .constant_input("B", I32({2}, {0, 1}))
      .output("y", I8({1, 2, 1, 4}, {0, 0, 0, 1, -2, 0, 4, 6}))
      .run();
}

TEST(Quant, QLinearConvSaturates) {
  // Same as above with y_zero_point 125: channel 1 = 123, 125, 129 -> 127, 131 -> 127
  OpTest("QLinearConv", 10)
      .input("x", I8({1, 1, 1, 4}, {-3, -1, 1, 3}))
      .input("x_scale", F({}, {1}))
      .input("x_zero_point", I8({}, {-1}))
      .input("w", I8({2, 1, 1, 1}, {1, 2}))
      .input("w_scale", F({2}, {0.25f, 0.5f}))
      .input("w_zero_point", I8({2}, {0, -1}))
      .input("y_scale", F({}, {1}))
      .input("y_zero_point", I8({}, {125}))
      .input("B", I32({2}, {0, 1}))
      .output("y", I8({1, 2, 1, 4}, {125, 125, 125, 126, 123, 125, 127, 127}))
      .run();
}

TEST(Quant, QLinearConvUint8Padded) {
  // x - 10 = [[0,2],[4,6]] padded by 1 with the zero point, 2x2 window of effective weight 1,
  // window sums 0 2 2 / 4 12 8 / 4 10 6, multiplier 1 / 2, + 100
  OpTest("QLinearConv", 10)
      .input("x", U8({1, 1, 2, 2}, {10, 12, 14, 16}))
      .input("x_scale", F({}, {1}))
      .input("x_zero_point", U8({}, {10}))
      .input("w", U8({1, 1, 2, 2}, {2, 2, 2, 2}))
      .input("w_scale", F({1}, {1}))
      .input("w_zero_point", U8({1}, {1}))
      .input("y_scale", F({}, {2}))
      .input("y_zero_point", U8({}, {100}))
      .attr("pads", std::vector<int64_t>{1, 1, 1, 1})
      .output("y", U8({1, 1, 3, 3}, {100, 101, 101, 102, 106, 104, 102, 105, 103}))
      .run();
}

TEST(Quant, QLinearConvWeightScaleLength) {
  expect_error(OpTest("QLinearConv", 10)
                   .input("x", U8({1, 1, 2, 2}, {}))
                   .input("x_scale", F({}, {1}))
                   .input("x_zero_point", U8({}, {0}))
                   .input("w", U8({2, 1, 1, 1}, {}))
                   .input("w_scale", F({3}, {1, 1, 1}))
                   .input("w_zero_point", U8({}, {0}))
                   .input("y_scale", F({}, {1}))
                   .input("y_zero_point", U8({}, {0}))
                   .output("y", U8({1, 2, 2, 2}, {})),
               "'w_scale' has 3 values, expected 1 or 2 (output channels)");
}

TEST(Quant, QLinearConvBiasShape) {
  expect_error(OpTest("QLinearConv", 10)
                   .input("x", U8({1, 1, 2, 2}, {}))
                   .input("x_scale", F({}, {1}))
                   .input("x_zero_point", U8({}, {0}))
                   .input("w", U8({2, 1, 1, 1}, {}))
                   .input("w_scale", F({}, {1}))
                   .input("w_zero_point", U8({}, {0}))
                   .input("y_scale", F({}, {1}))
                   .input("y_zero_point", U8({}, {0}))
                   .input("B", I32({1}, {0}))
                   .output("y", U8({1, 2, 2, 2}, {})),
               "bias has shape 1, expected 2 (output channels)");
}

// ---------------------------------------------------------------------------------------------------
// MatMulInteger

TEST(Quant, MatMulIntegerPerTensor) {
  // (A - 1) = [[0,1,2],[3,4,5]], B = [[1,0],[0,1],[1,1]]
  OpTest("MatMulInteger", 10)
      .input("A", U8({2, 3}, {1, 2, 3, 4, 5, 6}))
      .constant_input("B", U8({3, 2}, {1, 0, 0, 1, 1, 1}))
      .input("a_zero_point", U8({}, {1}))
      .input("b_zero_point", U8({}, {0}))
      .output("Y", I32({2, 2}, {2, 3, 8, 9}))
      .run();
}

TEST(Quant, MatMulIntegerPerRowAndPerColumnZeroPoints) {
  // A - [1, 3] per row = [[0,1],[0,1]]; B - [5, 0] per column = [[0,6],[2,8]]
  OpTest("MatMulInteger", 10)
      .input("A", I8({2, 2}, {1, 2, 3, 4}))
      .input("B", I8({2, 2}, {5, 6, 7, 8}))
      .input("a_zero_point", I8({2}, {1, 3}))
      .input("b_zero_point", I8({2}, {5, 0}))
      .output("Y", I32({2, 2}, {2, 8, 2, 8}))
      .run();
}

TEST(Quant, MatMulIntegerBatchedRowZeroPoint) {
  // a_zero_point [2, 1, 1] (per batch and row): batch 0: (5 - 6, 6 - 6) . (1, 2) = -1;
  // batch 1: (7 - 5, 8 - 5) . (1, 2) = 8
  OpTest("MatMulInteger", 10)
      .input("A", U8({2, 1, 2}, {5, 6, 7, 8}))
      .input("B", U8({2, 1}, {1, 2}))
      .input("a_zero_point", U8({2, 1, 1}, {6, 5}))
      .output("Y", I32({2, 1, 1}, {-1, 8}))
      .run();
}

TEST(Quant, MatMulIntegerBroadcastAndVectorOperands) {
  OpTest("MatMulInteger", 10)
      .input("A", U8({2, 2, 3}, {1, 2, 3, 4, 5, 6, 0, 0, 1, 1, 0, 0}))
      .input("B", U8({3}, {1, 1, 2}))
      .output("Y", I32({2, 2}, {9, 21, 2, 1}))
      .run();
  // 1-D A against a batch of B: [3] x [2, 3, 2] -> [2, 2]
  OpTest("MatMulInteger", 10)
      .input("A", U8({3}, {1, 2, 3}))
      .input("B", U8({2, 3, 2}, {1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 1}))
      .output("Y", I32({2, 2}, {1, 2, 3, 3}))
      .run();
}

TEST(Quant, MatMulIntegerAccumulatorWrapsLikeInt32) {
  // 70000 terms of (0 - 255) * (-128) = 2284800000, reduced modulo 2^32 -> -2010167296 (no UB).
  const int64_t K = 70000;
  OpTest("MatMulInteger", 10)
      .input("A", U8({1, K}, std::vector<uint8_t>(K, 0)))
      .input("B", I8({K, 1}, std::vector<int8_t>(K, -128)))
      .input("a_zero_point", U8({}, {255}))
      .output("Y", I32({1, 1}, {-2010167296}))
      .run();
}

TEST(Quant, MatMulIntegerColumnZeroPointLength) {
  expect_error(OpTest("MatMulInteger", 10)
                   .input("A", U8({2, 2}, {}))
                   .input("B", U8({2, 2}, {}))
                   .omitted_input()
                   .input("b_zero_point", U8({3}, {0, 0, 0}))
                   .output("Y", I32({2, 2}, {})),
               "'b_zero_point' has 3 values, expected 1 or 2 (columns of B)");
}

TEST(Quant, MatMulIntegerInnerDimensionMismatch) {
  expect_error(OpTest("MatMulInteger", 10)
                   .input("A", U8({2, 3}, {}))
                   .input("B", U8({2, 2}, {}))
                   .output("Y", I32({2, 2}, {})),
               "matmul inner dimensions do not match");
}

// ---------------------------------------------------------------------------------------------------
// QLinearMatMul

TEST(Quant, QLinearMatMulPerTensor) {
  // (a - 10) = [2, 4]; b = [[1,2],[3,4]] -> [14, 20]; multiplier 0.5 * 1 / 2 = 0.25 -> 3.5, 5 -> 4, 5; + 10
  OpTest("QLinearMatMul", 10)
      .input("a", U8({1, 2}, {12, 14}))
      .input("a_scale", F({}, {0.5f}))
      .input("a_zero_point", U8({}, {10}))
      .constant_input("b", U8({2, 2}, {1, 2, 3, 4}))
      .constant_input("b_scale", F({}, {1}))
      .constant_input("b_zero_point", U8({}, {0}))
      .input("y_scale", F({}, {2}))
      .input("y_zero_point", U8({}, {10}))
      .output("y", U8({1, 2}, {14, 15}))
      .run();
}

TEST(Quant, QLinearMatMulPerRowAndPerColumn) {
  // a - [0, 2] per row = [[1,2],[1,2]], b identity; multipliers a_scale[m] * b_scale[n] = [[1, .25], [2, .5]]
  // -> [[1, 0.5], [2, 1]] -> [[1, 0], [2, 1]] (0.5 ties to 0); + (-1)
  OpTest("QLinearMatMul", 10)
      .input("a", I8({2, 2}, {1, 2, 3, 4}))
      .input("a_scale", F({2}, {1, 2}))
      .input("a_zero_point", I8({2}, {0, 2}))
      .input("b", I8({2, 2}, {1, 0, 0, 1}))
      .input("b_scale", F({2}, {1, 0.25f}))
      .input("b_zero_point", I8({2}, {0, 0}))
      .input("y_scale", F({}, {1}))
      .input("y_zero_point", I8({}, {-1}))
      .output("y", I8({2, 2}, {0, -1, 1, 0}))
      .run();
}

TEST(Quant, QLinearMatMulBatched) {
  OpTest("QLinearMatMul", 10)
      .input("a", U8({2, 1, 2}, {1, 2, 3, 4}))
      .input("a_scale", F({1}, {1}))
      .input("a_zero_point", U8({1}, {0}))
      .input("b", U8({2, 1}, {1, 1}))
      .input("b_scale", F({1}, {1}))
      .input("b_zero_point", U8({1}, {0}))
      .input("y_scale", F({1}, {1}))
      .input("y_zero_point", U8({1}, {0}))
      .output("y", U8({2, 1, 1}, {3, 7}))
      .run();
}

TEST(Quant, QLinearMatMulOutputScaleMustBeScalar) {
  expect_error(OpTest("QLinearMatMul", 10)
                   .input("a", U8({2, 2}, {}))
                   .input("a_scale", F({}, {1}))
                   .input("a_zero_point", U8({}, {0}))
                   .input("b", U8({2, 2}, {}))
                   .input("b_scale", F({}, {1}))
                   .input("b_zero_point", U8({}, {0}))
                   .input("y_scale", F({2}, {1, 1}))
                   .input("y_zero_point", U8({}, {0}))
                   .output("y", U8({2, 2}, {})),
               "'y_scale' must be a scalar (one value), got shape 2");
}

}  // namespace verge::test
