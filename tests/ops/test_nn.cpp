// Reference kernels of convolution, pooling and matrix products against hand-computed values.
#include <cmath>

#include "op_test.h"

namespace verge::test {

namespace {
std::vector<float> iota_f(int n, float start = 0) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) v[static_cast<size_t>(i)] = start + static_cast<float>(i);
  return v;
}
void expect_error(OpTest& t, const std::string& needle) {
  Status st = t.run_expect_error();
  EXPECT_FALSE(st.is_ok());
  EXPECT_NE(st.message().find(needle), std::string::npos) << st.message();
}
}  // namespace

// ---------------------------------------------------------------------------------------------------
// Conv

// X = 0..24 (5x5), W = 3x3 of ones: each output is the sum of a 3x3 window.
TEST(NN, ConvNoPadding) {
  OpTest("Conv")
      .input("X", F({1, 1, 5, 5}, iota_f(25)))
      .constant_input("W", F({1, 1, 3, 3}, std::vector<float>(9, 1.f)))
      .output("Y", F({1, 1, 3, 3}, {54, 63, 72, 99, 108, 117, 144, 153, 162}))
      .run();
}

TEST(NN, ConvPaddingAndBias) {
  OpTest("Conv")
      .input("X", F({1, 1, 5, 5}, iota_f(25)))
      .input("W", F({1, 1, 3, 3}, std::vector<float>(9, 1.f)))
      .input("B", F({1}, {1}))
      .attr("pads", std::vector<int64_t>{1, 1, 1, 1})
      .output("Y", F({1, 1, 5, 5}, {13,  22, 28, 34,  25,  34,  55,  64, 73,  52,  64,  100, 109,
                                    118, 82, 94, 145, 154, 163, 112, 73, 112, 118, 124, 85}))
      .run();
}

TEST(NN, ConvStridesAsymmetricPads) {
  // 5x5 ramp, 3x3 ones, stride 2, pads top 1 / left 0 / bottom 1 / right 0: rows start at -1, 1, 3.
  OpTest("Conv")
      .input("X", F({1, 1, 5, 5}, iota_f(25)))
      .input("W", F({1, 1, 3, 3}, std::vector<float>(9, 1.f)))
      .attr("strides", std::vector<int64_t>{2, 2})
      .attr("pads", std::vector<int64_t>{1, 0, 1, 0})
      .output("Y", F({1, 1, 3, 2}, {21, 33, 99, 117, 111, 123}))
      .run();
}

TEST(NN, Conv1DStrideDilation) {
  // Taps x[2o] and x[2o+2] with weights 1 and 2.
  OpTest("Conv")
      .input("X", F({1, 1, 7}, {1, 2, 3, 4, 5, 6, 7}))
      .input("W", F({1, 1, 2}, {1, 2}))
      .attr("strides", std::vector<int64_t>{2})
      .attr("dilations", std::vector<int64_t>{2})
      .output("Y", F({1, 1, 3}, {7, 13, 19}))
      .run();
}

TEST(NN, Conv3D) {
  OpTest("Conv")
      .input("X", F({1, 1, 2, 2, 3}, iota_f(12, 1)))
      .input("W", F({1, 1, 2, 2, 2}, std::vector<float>(8, 1.f)))
      .output("Y", F({1, 1, 1, 1, 2}, {1 + 2 + 4 + 5 + 7 + 8 + 10 + 11, 2 + 3 + 5 + 6 + 8 + 9 + 11 + 12}))
      .run();
}

TEST(NN, ConvGroups) {
  // group 2: output channels 0,1 read input channels 0,1; output channels 2,3 read 2,3.
  OpTest("Conv")
      .input("X", F({1, 4, 1, 1}, {1, 2, 3, 4}))
      .input("W", F({4, 2, 1, 1}, {1, 1, 1, -1, 2, 0, 0, 3}))
      .attr("group", int64_t{2})
      .output("Y", F({1, 4, 1, 1}, {3, -1, 6, 12}))
      .run();
}

TEST(NN, ConvDepthwiseWithBiasBatch2) {
  OpTest("Conv")
      .input("X", F({2, 2, 1, 2}, {1, 2, 3, 4, 5, 6, 7, 8}))
      .input("W", F({2, 1, 1, 1}, {2, 3}))
      .input("B", F({2}, {1, -1}))
      .attr("group", int64_t{2})
      .output("Y", F({2, 2, 1, 2}, {3, 5, 8, 11, 11, 13, 20, 23}))
      .run();
}

TEST(NN, ConvAutoPadSameUpperAndLower) {
  // in 4, kernel 3, stride 2 -> out 2, total padding 1: SAME_UPPER pads the end, SAME_LOWER the start.
  OpTest("Conv")
      .input("X", F({1, 1, 4}, {1, 2, 3, 4}))
      .input("W", F({1, 1, 3}, {1, 1, 1}))
      .attr("strides", std::vector<int64_t>{2})
      .attr("auto_pad", "SAME_UPPER")
      .output("Y", F({1, 1, 2}, {6, 7}))
      .run();
  OpTest("Conv")
      .input("X", F({1, 1, 4}, {1, 2, 3, 4}))
      .input("W", F({1, 1, 3}, {1, 1, 1}))
      .attr("strides", std::vector<int64_t>{2})
      .attr("auto_pad", "SAME_LOWER")
      .output("Y", F({1, 1, 2}, {3, 9}))
      .run();
}

TEST(NN, ConvDoubleAndFloat16) {
  OpTest("Conv")
      .input("X", D({1, 1, 3}, {1, 2, 3}))
      .input("W", D({1, 1, 2}, {0.5, -1}))
      .output("Y", D({1, 1, 2}, {-1.5, -2}))
      .run();
  OpTest("Conv")
      .input("X", H({1, 1, 3}, {1, 2, 3}))
      .input("W", H({1, 1, 2}, {0.5f, -1}))
      .output("Y", H({1, 1, 2}, {-1.5f, -2}))
      .run();
}

TEST(NN, ConvErrors) {
  {
    OpTest t("Conv");
    t.input("X", F({1, 3, 4, 4}, std::vector<float>(48))).input("W", F({2, 2, 3, 3}, std::vector<float>(36)));
    t.output("Y", F({1, 2, 2, 2}, std::vector<float>(8))).skip_checker();
    expect_error(t, "X has 3 channels but W expects 2");
  }
  {
    OpTest t("Conv");
    t.input("X", F({1, 2, 4, 4}, std::vector<float>(32))).input("W", F({3, 1, 3, 3}, std::vector<float>(27)));
    t.attr("group", int64_t{2}).output("Y", F({1, 3, 2, 2}, std::vector<float>(12))).skip_checker();
    expect_error(t, "not divisible by group 2");
  }
  {
    OpTest t("Conv");
    t.input("X", F({1, 1, 4, 4}, std::vector<float>(16))).input("W", F({2, 1, 3, 3}, std::vector<float>(18)));
    t.input("B", F({3}, {0, 0, 0})).output("Y", F({1, 2, 2, 2}, std::vector<float>(8))).skip_checker();
    expect_error(t, "bias B must have shape [2]");
  }
  {
    OpTest t("Conv");
    t.input("X", F({1, 1, 4, 4}, std::vector<float>(16))).input("W", F({1, 1, 3}, std::vector<float>(3)));
    t.output("Y", F({1, 1, 2, 2}, std::vector<float>(4))).skip_checker();
    expect_error(t, "W has rank 3 but X has rank 4");
  }
  {
    OpTest t("Conv");
    t.input("X", F({1, 1, 4, 4}, std::vector<float>(16))).input("W", F({1, 1, 3, 3}, std::vector<float>(9)));
    t.attr("pads", std::vector<int64_t>{1, 1})
        .output("Y", F({1, 1, 2, 2}, std::vector<float>(4)))
        .skip_checker();
    expect_error(t, "'pads' has 2 values, expected 4");
  }
}

// ---------------------------------------------------------------------------------------------------
// ConvTranspose

TEST(NN, ConvTranspose1D) {
  // Full transposed convolution of [0,1,2] with [1,1,1], into two output channels.
  OpTest("ConvTranspose")
      .input("X", F({1, 1, 3}, {0, 1, 2}))
      .input("W", F({1, 2, 3}, {1, 1, 1, 1, 1, 1}))
      .output("Y", F({1, 2, 5}, {0, 1, 3, 3, 2, 0, 1, 3, 3, 2}))
      .run();
}

TEST(NN, ConvTranspose2D) {
  OpTest("ConvTranspose")
      .input("X", F({1, 1, 2, 2}, {1, 2, 3, 4}))
      .constant_input("W", F({1, 1, 2, 2}, {1, 1, 1, 1}))
      .output("Y", F({1, 1, 3, 3}, {1, 3, 2, 4, 10, 6, 3, 7, 4}))
      .run();
}

// X [1,2], W [1,2,3], stride 2: the full output is [1, 2, 3+2, 4, 6].
TEST(NN, ConvTransposeStridePadsOutputPaddingBias) {
  auto base = [] {
    OpTest t("ConvTranspose");
    t.input("X", F({1, 1, 2}, {1, 2}))
        .input("W", F({1, 1, 3}, {1, 2, 3}))
        .attr("strides", std::vector<int64_t>{2});
    return t;
  };
  base().output("Y", F({1, 1, 5}, {1, 2, 5, 4, 6})).run();
  base().attr("pads", std::vector<int64_t>{1, 0}).output("Y", F({1, 1, 4}, {2, 5, 4, 6})).run();
  base()
      .attr("output_padding", std::vector<int64_t>{1})
      .input("B", F({1}, {10}))
      .output("Y", F({1, 1, 6}, {11, 12, 15, 14, 16, 10}))
      .run();
}

TEST(NN, ConvTransposeOutputShapeAndAutoPad) {
  auto base = [] {
    OpTest t("ConvTranspose");
    t.input("X", F({1, 1, 2}, {1, 2}))
        .input("W", F({1, 1, 3}, {1, 2, 3}))
        .attr("strides", std::vector<int64_t>{2});
    return t;
  };
  // Larger than the full output: extra positions at the end.
  base().attr("output_shape", std::vector<int64_t>{6}).output("Y", F({1, 1, 6}, {1, 2, 5, 4, 6, 0})).run();
  // Smaller: total padding 1, the extra pad at the start unless SAME_UPPER.
  base().attr("output_shape", std::vector<int64_t>{4}).output("Y", F({1, 1, 4}, {2, 5, 4, 6})).run();
  base()
      .attr("output_shape", std::vector<int64_t>{4})
      .attr("auto_pad", "SAME_UPPER")
      .output("Y", F({1, 1, 4}, {1, 2, 5, 4}))
      .run();
  // SAME_*: out = in * stride = 4.
  base().attr("auto_pad", "SAME_UPPER").output("Y", F({1, 1, 4}, {1, 2, 5, 4})).run();
  base().attr("auto_pad", "SAME_LOWER").output("Y", F({1, 1, 4}, {2, 5, 4, 6})).run();
  // output_shape may also be given as the full shape (N, C, spatial...).
  base()
      .attr("output_shape", std::vector<int64_t>{1, 1, 6})
      .output("Y", F({1, 1, 6}, {1, 2, 5, 4, 6, 0}))
      .run();
}

TEST(NN, ConvTransposeDilationsAndGroups) {
  OpTest("ConvTranspose")
      .input("X", F({1, 1, 2}, {1, 2}))
      .input("W", F({1, 1, 2}, {1, 2}))
      .attr("dilations", std::vector<int64_t>{2})
      .output("Y", F({1, 1, 4}, {1, 2, 2, 4}))
      .run();
  OpTest("ConvTranspose")
      .input("X", F({1, 2, 1}, {1, 2}))
      .input("W", F({2, 1, 1}, {3, 5}))
      .attr("group", int64_t{2})
      .output("Y", F({1, 2, 1}, {3, 10}))
      .run();
}

TEST(NN, ConvTransposeErrors) {
  {
    OpTest t("ConvTranspose");
    t.input("X", F({1, 1, 2}, {1, 2})).input("W", F({1, 1, 3}, {1, 2, 3}));
    t.attr("strides", std::vector<int64_t>{2}).attr("output_padding", std::vector<int64_t>{2});
    t.output("Y", F({1, 1, 7}, std::vector<float>(7))).skip_checker();
    expect_error(t, "output_padding 2 must be >= 0 and less than the stride");
  }
  {
    OpTest t("ConvTranspose");
    t.input("X", F({1, 2, 2}, {1, 2, 3, 4})).input("W", F({1, 1, 3}, {1, 2, 3}));
    t.output("Y", F({1, 1, 4}, std::vector<float>(4))).skip_checker();
    expect_error(t, "X has 2 channels but W.shape[0] is 1");
  }
}

// ---------------------------------------------------------------------------------------------------
// MaxPool / AveragePool

TEST(NN, MaxPool2DWithIndices) {
  OpTest("MaxPool")
      .input("X", F({1, 1, 4, 4}, iota_f(16, 1)))
      .attr("kernel_shape", std::vector<int64_t>{2, 2})
      .attr("strides", std::vector<int64_t>{2, 2})
      .output("Y", F({1, 1, 2, 2}, {6, 8, 14, 16}))
      .output("I", I64({1, 1, 2, 2}, {5, 7, 13, 15}))
      .run();
  // Column-major indices: (h, w) -> h + w * 4.
  OpTest("MaxPool")
      .input("X", F({1, 1, 4, 4}, iota_f(16, 1)))
      .attr("kernel_shape", std::vector<int64_t>{2, 2})
      .attr("strides", std::vector<int64_t>{2, 2})
      .attr("storage_order", int64_t{1})
      .output("Y", F({1, 1, 2, 2}, {6, 8, 14, 16}))
      .output("I", I64({1, 1, 2, 2}, {5, 13, 7, 15}))
      .run();
}

TEST(NN, MaxPoolIndicesIncludeBatchAndChannel) {
  OpTest("MaxPool")
      .input("X", F({2, 2, 2, 2}, {1, 2, 3, 4, 8, 7, 6, 5, 0, 9, 0, 0, -1, -2, -3, -4}))
      .attr("kernel_shape", std::vector<int64_t>{2, 2})
      .output("Y", F({2, 2, 1, 1}, {4, 8, 9, -1}))
      .output("I", I64({2, 2, 1, 1}, {3, 4, 9, 12}))
      .run();
}

TEST(NN, MaxPoolCeilModeDilationsPads) {
  OpTest("MaxPool")
      .input("X", F({1, 1, 5}, {1, 5, 2, 4, 3}))
      .attr("kernel_shape", std::vector<int64_t>{2})
      .attr("strides", std::vector<int64_t>{2})
      .attr("ceil_mode", int64_t{1})
      .output("Y", F({1, 1, 3}, {5, 4, 3}))
      .run();
  OpTest("MaxPool")
      .input("X", F({1, 1, 5}, {1, 5, 2, 4, 3}))
      .attr("kernel_shape", std::vector<int64_t>{2})
      .attr("strides", std::vector<int64_t>{2})
      .output("Y", F({1, 1, 2}, {5, 4}))
      .run();
  OpTest("MaxPool")
      .input("X", F({1, 1, 5}, {1, 5, 2, 4, 3}))
      .attr("kernel_shape", std::vector<int64_t>{2})
      .attr("dilations", std::vector<int64_t>{2})
      .output("Y", F({1, 1, 3}, {2, 5, 3}))
      .output("I", I64({1, 1, 3}, {2, 1, 4}))
      .run();
  // Padding never wins, even against negative values.
  OpTest("MaxPool")
      .input("X", F({1, 1, 3}, {-1, -2, -3}))
      .attr("kernel_shape", std::vector<int64_t>{2})
      .attr("pads", std::vector<int64_t>{1, 1})
      .output("Y", F({1, 1, 4}, {-1, -1, -2, -3}))
      .run();
}

TEST(NN, MaxPoolInt8Uint8AndNaN) {
  OpTest("MaxPool")
      .input("X", I8({1, 1, 4}, {-5, -3, -7, -1}))
      .attr("kernel_shape", std::vector<int64_t>{2})
      .output("Y", I8({1, 1, 3}, {-3, -3, -1}))
      .run();
  OpTest("MaxPool")
      .input("X", U8({1, 1, 4}, {200, 3, 255, 0}))
      .attr("kernel_shape", std::vector<int64_t>{2})
      .output("Y", U8({1, 1, 3}, {200, 255, 255}))
      .run();
  OpTest("MaxPool")
      .input("X", F({1, 1, 3}, {1, NAN, 2}))
      .attr("kernel_shape", std::vector<int64_t>{2})
      .output("Y", F({1, 1, 2}, {NAN, NAN}))
      .run();
}

TEST(NN, MaxPool3D) {
  OpTest("MaxPool")
      .input("X", F({1, 1, 2, 2, 2}, {1, 8, 3, 4, 5, 6, 7, 2}))
      .attr("kernel_shape", std::vector<int64_t>{2, 2, 2})
      .output("Y", F({1, 1, 1, 1, 1}, {8}))
      .output("I", I64({1, 1, 1, 1, 1}, {1}))
      .run();
}

TEST(NN, AveragePoolCountIncludePad) {
  // Windows: [pad,1] [1,2] [2,3] [3,pad].
  OpTest("AveragePool")
      .input("X", F({1, 1, 3}, {1, 2, 3}))
      .attr("kernel_shape", std::vector<int64_t>{2})
      .attr("pads", std::vector<int64_t>{1, 1})
      .output("Y", F({1, 1, 4}, {1, 1.5f, 2.5f, 3}))
      .run();
  OpTest("AveragePool")
      .input("X", F({1, 1, 3}, {1, 2, 3}))
      .attr("kernel_shape", std::vector<int64_t>{2})
      .attr("pads", std::vector<int64_t>{1, 1})
      .attr("count_include_pad", int64_t{1})
      .output("Y", F({1, 1, 4}, {0.5f, 1.5f, 2.5f, 1.5f}))
      .run();
}

TEST(NN, AveragePoolCeilMode) {
  // The last window runs past the input (and past the end padding): those positions never count.
  OpTest("AveragePool")
      .input("X", F({1, 1, 4}, {1, 2, 3, 4}))
      .attr("kernel_shape", std::vector<int64_t>{3})
      .attr("strides", std::vector<int64_t>{2})
      .attr("ceil_mode", int64_t{1})
      .attr("count_include_pad", int64_t{1})
      .output("Y", F({1, 1, 2}, {2, 3.5f}))
      .run();
  // pads 1/1: windows start at -1, 1, 3; the last covers x[3], one pad, and one position beyond.
  OpTest("AveragePool")
      .input("X", F({1, 1, 4}, {1, 2, 3, 4}))
      .attr("kernel_shape", std::vector<int64_t>{3})
      .attr("strides", std::vector<int64_t>{2})
      .attr("pads", std::vector<int64_t>{1, 1})
      .attr("ceil_mode", int64_t{1})
      .attr("count_include_pad", int64_t{1})
      .output("Y", F({1, 1, 3}, {1, 3, 2}))
      .run();
  OpTest("AveragePool")
      .input("X", F({1, 1, 4}, {1, 2, 3, 4}))
      .attr("kernel_shape", std::vector<int64_t>{3})
      .attr("strides", std::vector<int64_t>{2})
      .attr("pads", std::vector<int64_t>{1, 1})
      .attr("ceil_mode", int64_t{1})
      .output("Y", F({1, 1, 3}, {1.5f, 3, 4}))
      .run();
}

TEST(NN, AveragePool2DSameUpperAndFloat16) {
  OpTest("AveragePool")
      .input("X", F({1, 1, 2, 2}, {1, 2, 3, 4}))
      .attr("kernel_shape", std::vector<int64_t>{2, 2})
      .attr("auto_pad", "SAME_UPPER")
      .output("Y", F({1, 1, 2, 2}, {2.5f, 3, 3.5f, 4}))
      .run();
  OpTest("AveragePool")
      .input("X", H({1, 1, 2, 2}, {1, 2, 3, 4}))
      .attr("kernel_shape", std::vector<int64_t>{2, 2})
      .attr("auto_pad", "SAME_LOWER")
      .output("Y", H({1, 1, 2, 2}, {1, 1.5f, 2, 2.5f}))
      .run();
}

TEST(NN, PoolErrors) {
  {
    OpTest t("MaxPool");
    t.input("X", F({1, 1, 4}, {1, 2, 3, 4})).output("Y", F({1, 1, 4}, {1, 2, 3, 4})).skip_checker();
    expect_error(t, "attribute 'kernel_shape' is required");
  }
  {
    OpTest t("AveragePool");
    t.input("X", F({1, 1, 4}, {1, 2, 3, 4})).attr("kernel_shape", std::vector<int64_t>{2, 2});
    t.output("Y", F({1, 1, 3}, {0, 0, 0})).skip_checker();
    expect_error(t, "kernel has 2 spatial dims but the input has 1");
  }
  {
    OpTest t("MaxPool");
    t.input("X", F({1, 1, 4}, {1, 2, 3, 4})).attr("kernel_shape", std::vector<int64_t>{2});
    t.attr("storage_order", int64_t{2}).output("Y", F({1, 1, 3}, {0, 0, 0})).skip_checker();
    expect_error(t, "storage_order must be 0 or 1");
  }
  {
    OpTest t("MaxPool");
    t.input("X", F({1, 4}, {1, 2, 3, 4})).attr("kernel_shape", std::vector<int64_t>{2});
    t.output("Y", F({1, 3}, {0, 0, 0})).skip_checker();
    expect_error(t, "X must have rank >= 3");
  }
}

TEST(NN, GlobalPools) {
  OpTest("GlobalAveragePool")
      .input("X", F({1, 2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8}))
      .output("Y", F({1, 2, 1, 1}, {2.5f, 6.5f}))
      .run();
  OpTest("GlobalMaxPool")
      .input("X", F({1, 2, 2, 2}, {1, 2, 3, 4, 8, 6, 7, 5}))
      .output("Y", F({1, 2, 1, 1}, {4, 8}))
      .run();
  OpTest("GlobalMaxPool")
      .input("X", D({2, 1, 3}, {-1, -5, -2, 0, 3, 1}))
      .output("Y", D({2, 1, 1}, {-1, 3}))
      .run();
  OpTest("GlobalAveragePool").input("X", H({1, 1, 4}, {1, 2, 3, 6})).output("Y", H({1, 1, 1}, {3})).run();
  OpTest t("GlobalAveragePool");
  t.input("X", F({2, 2}, {1, 2, 3, 4})).output("Y", F({2, 2}, {1, 2, 3, 4})).skip_checker();
  expect_error(t, "X must have rank >= 3");
}

// ---------------------------------------------------------------------------------------------------
// Gemm

// A = [[1,2,3],[4,5,6]], B = [[1,0],[0,1],[1,1]]: AB = [[4,5],[10,11]].
TEST(NN, GemmVectorBias) {
  OpTest("Gemm")
      .input("A", F({2, 3}, {1, 2, 3, 4, 5, 6}))
      .constant_input("B", F({3, 2}, {1, 0, 0, 1, 1, 1}))
      .input("C", F({2}, {1, 2}))
      .output("Y", F({2, 2}, {5, 7, 11, 13}))
      .run();
}

TEST(NN, GemmTransposedAlphaBetaScalarBias) {
  OpTest("Gemm")
      .input("A", F({3, 2}, {1, 4, 2, 5, 3, 6}))
      .input("B", F({2, 3}, {1, 0, 1, 0, 1, 1}))
      .input("C", F({}, {4}))
      .attr("transA", int64_t{1})
      .attr("transB", int64_t{1})
      .attr("alpha", 2.f)
      .attr("beta", 0.5f)
      .output("Y", F({2, 2}, {10, 12, 22, 24}))
      .run();
}

TEST(NN, GemmColumnBiasNoBiasAndTransBOnly) {
  OpTest("Gemm")
      .input("A", F({2, 3}, {1, 2, 3, 4, 5, 6}))
      .input("B", F({3, 2}, {1, 0, 0, 1, 1, 1}))
      .input("C", F({2, 1}, {1, 2}))
      .output("Y", F({2, 2}, {5, 6, 12, 13}))
      .run();
  OpTest("Gemm")
      .input("A", F({2, 3}, {1, 2, 3, 4, 5, 6}))
      .input("B", F({2, 3}, {1, 0, 1, 0, 1, 1}))
      .attr("transB", int64_t{1})
      .output("Y", F({2, 2}, {4, 5, 10, 11}))
      .run();
  // Opset 9: C is required; a full (M, N) C.
  OpTest("Gemm", 9)
      .input("A", D({1, 2}, {1, 2}))
      .input("B", D({2, 2}, {1, 2, 3, 4}))
      .input("C", D({1, 2}, {0.5, -0.5}))
      .output("Y", D({1, 2}, {7.5, 9.5}))
      .run();
}

TEST(NN, GemmIntegers) {
  OpTest("Gemm")
      .input("A", I32({1, 2}, {2, 3}))
      .input("B", I32({2, 1}, {4, -5}))
      .input("C", I32({1}, {100}))
      .attr("alpha", 2.f)
      .attr("beta", 3.f)
      .output("Y", I32({1, 1}, {2 * (8 - 15) + 300}))
      .run();
  OpTest("Gemm")
      .input("A", T_<uint64_t>({1, 1}, {1ull << 63}))
      .input("B", T_<uint64_t>({1, 1}, {3}))
      .output("Y", T_<uint64_t>({1, 1}, {1ull << 63}))
      .run();
}

TEST(NN, GemmErrors) {
  {
    OpTest t("Gemm");
    t.input("A", F({2, 3}, std::vector<float>(6))).input("B", F({2, 2}, std::vector<float>(4)));
    t.output("Y", F({2, 2}, std::vector<float>(4))).skip_checker();
    expect_error(t, "inner dimensions differ");
  }
  {
    OpTest t("Gemm");
    t.input("A", F({2, 2}, std::vector<float>(4))).input("B", F({2, 2}, std::vector<float>(4)));
    t.input("C", F({3}, {1, 2, 3})).output("Y", F({2, 2}, std::vector<float>(4))).skip_checker();
    expect_error(t, "does not broadcast to the output shape 2x2");
  }
  {
    OpTest t("Gemm");
    t.input("A", I32({1, 1}, {1})).input("B", I32({1, 1}, {1})).attr("alpha", 0.5f);
    t.output("Y", I32({1, 1}, {0})).skip_checker();
    expect_error(t, "must be integers");
  }
}

// ---------------------------------------------------------------------------------------------------
// MatMul

TEST(NN, MatMul2DAnd1DPromotion) {
  OpTest("MatMul")
      .input("A", F({2, 2}, {1, 2, 3, 4}))
      .input("B", F({2, 2}, {5, 6, 7, 8}))
      .output("Y", F({2, 2}, {19, 22, 43, 50}))
      .run();
  OpTest("MatMul")
      .input("A", F({2}, {1, 2}))
      .input("B", F({2, 2}, {5, 6, 7, 8}))
      .output("Y", F({2}, {19, 22}))
      .run();
  OpTest("MatMul")
      .input("A", F({2, 2}, {1, 2, 3, 4}))
      .input("B", F({2}, {5, 6}))
      .output("Y", F({2}, {17, 39}))
      .run();
  OpTest("MatMul").input("A", F({3}, {1, 2, 3})).input("B", F({3}, {4, 5, 6})).output("Y", F({}, {32})).run();
}

TEST(NN, MatMulBatchBroadcast) {
  // A: two 1x2 matrices; B: one 2x1 matrix shared by both.
  OpTest("MatMul")
      .input("A", F({2, 1, 2}, {1, 2, 3, 4}))
      .input("B", F({2, 1}, {1, 1}))
      .output("Y", F({2, 1, 1}, {3, 7}))
      .run();
  // Batch dims (2, 1) and (3) broadcast to (2, 3): every A row meets every B column.
  OpTest("MatMul")
      .input("A", F({2, 1, 1, 2}, {1, 2, 3, 4}))
      .input("B", F({3, 2, 1}, {1, 0, 0, 1, 1, 1}))
      .output("Y", F({2, 3, 1, 1}, {1, 2, 3, 3, 4, 7}))
      .run();
}

TEST(NN, MatMulIntegersWrap) {
  OpTest("MatMul")
      .input("A", I32({1, 2}, {2147483647, 1}))
      .input("B", I32({2, 1}, {2, 2}))
      .output("Y", I32({1, 1}, {0}))
      .run();
  OpTest("MatMul")
      .input("A", I64({2, 2}, {1, -2, 3, 4}))
      .input("B", I64({2, 1}, {5, 6}))
      .output("Y", I64({2, 1}, {-7, 39}))
      .run();
  OpTest("MatMul")
      .input("A", T_<uint32_t>({1, 1}, {4000000000u}))
      .input("B", T_<uint32_t>({1, 1}, {2}))
      .output("Y", T_<uint32_t>({1, 1}, {3705032704u}))
      .run();
}

TEST(NN, MatMulErrors) {
  {
    OpTest t("MatMul");
    t.input("A", F({2, 3}, std::vector<float>(6))).input("B", F({2, 2}, std::vector<float>(4)));
    t.output("Y", F({2, 2}, std::vector<float>(4))).skip_checker();
    expect_error(t, "inner dimensions differ");
  }
  {
    OpTest t("MatMul");
    t.input("A", F({2, 1, 2}, std::vector<float>(4))).input("B", F({3, 2, 1}, std::vector<float>(6)));
    t.output("Y", F({2, 1, 1}, std::vector<float>(2))).skip_checker();
    expect_error(t, "not broadcastable");
  }
}

// ---------------------------------------------------------------------------------------------------
// Einsum

TEST(NN, EinsumTransposeMatmulOuter) {
  OpTest("Einsum")
      .input("X", F({2, 3}, {1, 2, 3, 4, 5, 6}))
      .attr("equation", "ij->ji")
      .output("Y", F({3, 2}, {1, 4, 2, 5, 3, 6}))
      .run();
  OpTest("Einsum")
      .input("A", F({2, 2}, {1, 2, 3, 4}))
      .input("B", F({2, 2}, {5, 6, 7, 8}))
      .attr("equation", "ij, jk -> ik")
      .output("Y", F({2, 2}, {19, 22, 43, 50}))
      .run();
  OpTest("Einsum")
      .input("A", F({2}, {1, 2}))
      .input("B", F({3}, {1, 10, 100}))
      .attr("equation", "i,j->ij")
      .output("Y", F({2, 3}, {1, 10, 100, 2, 20, 200}))
      .run();
}

TEST(NN, EinsumImplicitOutput) {
  // Implicit: letters appearing once, sorted -> "ba" means a transpose; "i,i" a dot product.
  OpTest("Einsum")
      .input("X", F({2, 3}, {1, 2, 3, 4, 5, 6}))
      .attr("equation", "ba")
      .output("Y", F({3, 2}, {1, 4, 2, 5, 3, 6}))
      .run();
  OpTest("Einsum")
      .input("A", F({3}, {1, 2, 3}))
      .input("B", F({3}, {4, 5, 6}))
      .attr("equation", "i,i")
      .output("Y", F({}, {32}))
      .run();
  // b appears twice, so it is summed: sum over b of A[b] B[b].
  OpTest("Einsum")
      .input("A", F({2, 1, 1}, {1, 2}))
      .input("B", F({2, 1, 1}, {3, 4}))
      .attr("equation", "bij,bjk")
      .output("Y", F({1, 1}, {11}))
      .run();
}

TEST(NN, EinsumDiagonalTraceSum) {
  OpTest("Einsum")
      .input("X", F({3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9}))
      .attr("equation", "ii->i")
      .output("Y", F({3}, {1, 5, 9}))
      .run();
  OpTest("Einsum")
      .input("X", F({3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9}))
      .attr("equation", "ii")
      .output("Y", F({}, {15}))
      .run();
  OpTest("Einsum")
      .input("X", D({2, 2}, {1, 2, 3, 4}))
      .attr("equation", "ij->")
      .output("Y", D({}, {10}))
      .run();
  OpTest("Einsum")
      .input("X", D({2, 2}, {1, 2, 3, 4}))
      .attr("equation", "ij->i")
      .output("Y", D({2}, {3, 7}))
      .run();
}

TEST(NN, EinsumEllipsis) {
  // Batch matmul with a broadcast ellipsis: A (2, 1, 2) and B (2, 1) share B across the batch.
  OpTest("Einsum")
      .input("A", F({2, 1, 2}, {1, 2, 3, 4}))
      .input("B", F({2, 1}, {1, 1}))
      .attr("equation", "...ij,...jk->...ik")
      .output("Y", F({2, 1, 1}, {3, 7}))
      .run();
  // Batched diagonal; implicit output puts the ellipsis first.
  OpTest("Einsum")
      .input("X", F({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8}))
      .attr("equation", "...ii->...i")
      .output("Y", F({2, 2}, {1, 4, 5, 8}))
      .run();
  OpTest("Einsum")
      .input("A", F({2, 3}, {1, 2, 3, 4, 5, 6}))
      .input("B", F({3}, {1, 0, -1}))
      .attr("equation", "...i,...i")
      .output("Y", F({2}, {-2, -2}))
      .run();
}

TEST(NN, EinsumIntegers) {
  OpTest("Einsum")
      .input("A", I32({2, 2}, {1, 2, 3, 4}))
      .input("B", I32({2}, {-1, 1}))
      .attr("equation", "ij,j->i")
      .output("Y", I32({2}, {1, 1}))
      .run();
  OpTest("Einsum")
      .input("A", U8({2}, {200, 100}))
      .input("B", U8({2}, {2, 1}))
      .attr("equation", "i,i->")
      .output("Y", U8({}, {244}))  // (400 + 100) mod 256
      .run();
}

TEST(NN, EinsumErrors) {
  {
    OpTest t("Einsum");
    t.input("A", F({2, 2}, {1, 2, 3, 4})).attr("equation", "ij,jk->ik").output("Y", F({2, 2}, {0, 0, 0, 0}));
    expect_error(t, "has 2 input terms but the node has 1 inputs");
  }
  {
    OpTest t("Einsum");
    t.input("A", F({2, 2}, {1, 2, 3, 4})).attr("equation", "ijk->i").output("Y", F({2}, {0, 0}));
    expect_error(t, "input 0 has rank 2 but its term names 3 dims");
  }
  {
    OpTest t("Einsum");
    t.input("A", F({2, 2}, {1, 2, 3, 4})).attr("equation", "ij->k").output("Y", F({2}, {0, 0}));
    expect_error(t, "output label 'k' does not appear in any input");
  }
  {
    OpTest t("Einsum");
    t.input("A", F({2, 3}, std::vector<float>(6))).input("B", F({2, 3}, std::vector<float>(6)));
    t.attr("equation", "ij,jk->ik").output("Y", F({2, 3}, std::vector<float>(6)));
    expect_error(t, "label 'j' has dim 2 in input 1 but 3 elsewhere");
  }
  {
    OpTest t("Einsum");
    t.input("A", F({2, 3}, std::vector<float>(6))).attr("equation", "i1->i").output("Y", F({2}, {0, 0}));
    expect_error(t, "character '1' is not a letter");
  }
}

}  // namespace verge::test
