// Reference kernels of Resize / Upsample (suite Resize) and NonMaxSuppression (suite Detection) against
// hand-computed values.
#include "op_test.h"
#include "verge/session.h"

namespace verge::test {

// ---------------------------------------------------------------------------------------------------
// Resize

// half_pixel + round_prefer_floor (the defaults): rows map to -0.25, 0.25, 0.75, 1.25 -> 0, 0, 1, 1;
// columns to -1/3, 0, 1/3, 2/3, 1, 4/3 -> 0, 0, 0, 1, 1, 1.
TEST(Resize, NearestUpsampleScalesDefaults) {
  OpTest("Resize")
      .input("X", F({1, 1, 2, 2}, {1, 2, 3, 4}))
      .omitted_input()
      .input("scales", F({4}, {1, 1, 2, 3}))
      .output("Y", F({1, 1, 4, 6}, {1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4}))
      .run();
}

TEST(Resize, NearestConstantScalesPlanTimePath) {
  OpTest("Resize")
      .input("X", F({1, 1, 2, 2}, {1, 2, 3, 4}))
      .constant_input("roi", F({0}, {}))
      .constant_input("scales", F({4}, {1, 1, 2, 3}))
      .output("Y", F({1, 1, 4, 6}, {1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4}))
      .run();
}

// sizes 4 -> 8 with half_pixel: x_original = x / 2 - 0.25 = -0.25, 0.25, 0.75, ..., 3.25.
TEST(Resize, NearestModes) {
  auto run = [](const char* mode, std::vector<float> expected) {
    OpTest("Resize")
        .input("X", F({4}, {10, 20, 30, 40}))
        .omitted_input()
        .omitted_input()
        .input("sizes", I64({1}, {8}))
        .attr("nearest_mode", mode)
        .output("Y", F({8}, std::move(expected)))
        .run();
  };
  run("round_prefer_floor", {10, 10, 20, 20, 30, 30, 40, 40});
  run("round_prefer_ceil", {10, 10, 20, 20, 30, 30, 40, 40});
  run("floor", {10, 10, 10, 20, 20, 30, 30, 40});
  run("ceil", {10, 20, 20, 30, 30, 40, 40, 40});
}

// asymmetric 2 -> 4: x_original = 0, 0.5, 1, 1.5; the ties decide the rounding direction.
TEST(Resize, NearestTiesAsymmetric) {
  OpTest("Resize")
      .input("X", F({2}, {10, 20}))
      .omitted_input()
      .constant_input("scales", F({1}, {2}))
      .attr("coordinate_transformation_mode", "asymmetric")
      .attr("nearest_mode", "round_prefer_floor")
      .output("Y", F({4}, {10, 10, 20, 20}))
      .run();
  OpTest("Resize")
      .input("X", F({2}, {10, 20}))
      .omitted_input()
      .constant_input("scales", F({1}, {2}))
      .attr("coordinate_transformation_mode", "asymmetric")
      .attr("nearest_mode", "round_prefer_ceil")
      .output("Y", F({4}, {10, 20, 20, 20}))
      .run();
}

TEST(Resize, NearestInt64AndFloat16) {
  OpTest("Resize")
      .input("X", I64({2}, {7, -9}))
      .omitted_input()
      .input("scales", F({1}, {2}))
      .attr("coordinate_transformation_mode", "asymmetric")
      .attr("nearest_mode", "floor")
      .output("Y", I64({4}, {7, 7, -9, -9}))
      .run();
  OpTest("Resize")
      .input("X", H({2}, {0.5f, 1.5f}))
      .omitted_input()
      .input("scales", F({1}, {2}))
      .attr("coordinate_transformation_mode", "asymmetric")
      .attr("nearest_mode", "floor")
      .output("Y", H({4}, {0.5f, 0.5f, 1.5f, 1.5f}))
      .run();
}

// align_corners 2x2 -> 3x3: coordinates 0, 0.5, 1 on both axes.
TEST(Resize, LinearAlignCorners) {
  OpTest("Resize")
      .input("X", F({1, 1, 2, 2}, {1, 2, 3, 4}))
      .omitted_input()
      .omitted_input()
      .input("sizes", I64({4}, {1, 1, 3, 3}))
      .attr("mode", "linear")
      .attr("coordinate_transformation_mode", "align_corners")
      .output("Y", F({1, 1, 3, 3}, {1, 1.5f, 2, 2, 2.5f, 3, 3, 3.5f, 4}))
      .run();
}

// half_pixel with scale 0.6: 2x4 -> 1x2; row 0.5/0.6-0.5 = 1/3; columns 1/3 and 2.
// (1,2,3,4 / 5,6,7,8): col 1/3 -> 4/3 and 16/3, row 1/3 -> 4/3 + 4/3 = 8/3; col 2 -> 3 + 4/3 = 13/3.
TEST(Resize, LinearDownsampleHalfPixel) {
  OpTest("Resize")
      .input("X", F({1, 1, 2, 4}, {1, 2, 3, 4, 5, 6, 7, 8}))
      .omitted_input()
      .input("scales", F({4}, {1, 1, 0.6f, 0.6f}))
      .attr("mode", "linear")
      .output("Y", F({1, 1, 1, 2}, {8.f / 3, 13.f / 3}))
      .run();
}

// Trilinear on a linear function X[i,j,k] = 4i + 2j + k is exact: Y[a,b,c] = 2a + b + c/2.
TEST(Resize, LinearThreeAxes) {
  std::vector<float> x(8), y(27);
  for (int i = 0; i < 8; ++i) x[i] = static_cast<float>(i);
  for (int a = 0; a < 3; ++a)
    for (int b = 0; b < 3; ++b)
      for (int c = 0; c < 3; ++c) y[a * 9 + b * 3 + c] = 2.f * a + b + 0.5f * c;
  OpTest("Resize")
      .input("X", F({2, 2, 2}, x))
      .omitted_input()
      .omitted_input()
      .constant_input("sizes", I64({3}, {3, 3, 3}))
      .attr("mode", "linear")
      .attr("coordinate_transformation_mode", "align_corners")
      .output("Y", F({3, 3, 3}, y))
      .run();
}

// pytorch_half_pixel maps a length-1 output axis to coordinate 0.
TEST(Resize, LinearPytorchHalfPixelSingleOutput) {
  OpTest("Resize")
      .input("X", F({1, 4}, {1, 2, 3, 4}))
      .omitted_input()
      .omitted_input()
      .input("sizes", I64({2}, {1, 1}))
      .attr("mode", "linear")
      .attr("coordinate_transformation_mode", "pytorch_half_pixel")
      .output("Y", F({1, 1}, {1}))
      .run();
}

// Keys cubic, a = -0.75, asymmetric 4 -> 8 on (1, 2, 4, 8). Weights at fraction 0.5: 0.59375 (distance
// 0.5) and -0.09375 (distance 1.5); edge indices clamp.
TEST(Resize, CubicAsymmetric) {
  OpTest("Resize")
      .input("X", F({4}, {1, 2, 4, 8}))
      .omitted_input()
      .input("scales", F({1}, {2}))
      .attr("mode", "cubic")
      .attr("coordinate_transformation_mode", "asymmetric")
      .output("Y", F({8}, {1, 1.3125f, 2, 2.71875f, 4, 6.1875f, 8, 8.375f}))
      .run();
}

// a = -0.5 (weights 9/16 at distance 0.5, -1/16 at 1.5), exclude_outside drops taps outside the input
// and renormalizes: x 0.5 -> (9*1 + 9*2 - 1*4) / 17; 1.5 -> all four taps (-1 + 18 + 36 - 8) / 16 = 2.8125;
// 2.5 -> (-1*2 + 9*4 + 9*8) / 17 = 106/17; 3.5 -> (-1*4 + 9*8) / 8 = 8.5.
TEST(Resize, CubicExcludeOutside) {
  OpTest("Resize")
      .input("X", F({4}, {1, 2, 4, 8}))
      .omitted_input()
      .input("scales", F({1}, {2}))
      .attr("mode", "cubic")
      .attr("cubic_coeff_a", -0.5f)
      .attr("exclude_outside", int64_t{1})
      .attr("coordinate_transformation_mode", "asymmetric")
      .output("Y", F({8}, {1, 23.f / 17, 2, 2.8125f, 4, 106.f / 17, 8, 8.5f}))
      .tolerance(1e-5, 1e-5)
      .run();
}

// roi [0.25, 1.25] on length 4 -> 3: x_original = 0.75 + 1.5 x = 0.75, 2.25, 3.75 (outside -> 10).
TEST(Resize, TfCropAndResizeExtrapolates) {
  OpTest("Resize")
      .input("X", F({4}, {1, 2, 3, 4}))
      .input("roi", F({2}, {0.25f, 1.25f}))
      .omitted_input()
      .input("sizes", I64({1}, {3}))
      .attr("mode", "linear")
      .attr("coordinate_transformation_mode", "tf_crop_and_resize")
      .attr("extrapolation_value", 10.f)
      .output("Y", F({3}, {1.75f, 3.25f, 10}))
      .run();
}

// Integer outputs truncate toward zero like the ONNX reference: 10, 35/3, 40/3, 15 -> 10, 11, 13, 15.
TEST(Resize, LinearUint8Truncates) {
  OpTest("Resize")
      .input("X", U8({2}, {10, 15}))
      .omitted_input()
      .omitted_input()
      .input("sizes", I64({1}, {4}))
      .attr("mode", "linear")
      .attr("coordinate_transformation_mode", "align_corners")
      .output("Y", U8({4}, {10, 11, 13, 15}))
      .run();
}

// int8 (0, 0, 127, 127), cubic a = -0.75 asymmetric x2: x_original 0.5 -> 127 * -0.09375 = -11.9 -> -11;
// 1.5 -> 127 * (0.59375 - 0.09375) = 63.5 -> 63; 2.5 -> 127 * 1.09375 = 138.9 saturates to 127.
TEST(Resize, CubicInt8Saturates) {
  OpTest("Resize")
      .input("X", I8({4}, {0, 0, 127, 127}))
      .omitted_input()
      .input("scales", F({1}, {2}))
      .attr("mode", "cubic")
      .attr("coordinate_transformation_mode", "asymmetric")
      .output("Y", I8({8}, {0, -11, 0, 63, 127, 127, 127, 127}))
      .run();
}

TEST(Resize, Opset11EmptyScalesMeansSizes) {
  OpTest("Resize", 11)
      .input("X", F({1, 1, 1, 2}, {1, 2}))
      .constant_input("roi", F({0}, {}))
      .constant_input("scales", F({0}, {}))
      .input("sizes", I64({4}, {1, 1, 1, 4}))
      .attr("coordinate_transformation_mode", "asymmetric")
      .attr("nearest_mode", "floor")
      .output("Y", F({1, 1, 1, 4}, {1, 1, 2, 2}))
      .run();
}

// Resize-11 tf_half_pixel_for_nn: x_original = (x + 0.5) / scale; 4 -> 2: 1, 3.
TEST(Resize, Opset11TfHalfPixelForNN) {
  OpTest("Resize", 11)
      .input("X", F({4}, {1, 2, 3, 4}))
      .constant_input("roi", F({0}, {}))
      .constant_input("scales", F({1}, {0.5f}))
      .attr("coordinate_transformation_mode", "tf_half_pixel_for_nn")
      .output("Y", F({2}, {2, 4}))
      .run();
}

// Resize-10 (X, scales) becomes Resize-13 asymmetric; upsampling nearest floors.
TEST(Resize, Opset10NearestUpsample) {
  OpTest("Resize", 10)
      .input("X", F({1, 1, 2, 2}, {1, 2, 3, 4}))
      .input("scales", F({4}, {1, 1, 2, 3}))
      .output("Y", F({1, 1, 4, 6}, {1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4}))
      .run();
}

// asymmetric: column 1 maps to 1 / 0.6 = 5/3 -> 2 + 2/3 (the onnx 1.5 test_resize_downsample_linear value).
TEST(Resize, Opset10LinearDownsample) {
  OpTest("Resize", 10)
      .input("X", F({1, 1, 2, 4}, {1, 2, 3, 4, 5, 6, 7, 8}))
      .input("scales", F({4}, {1, 1, 0.6f, 0.6f}))
      .attr("mode", "linear")
      .output("Y", F({1, 1, 1, 2}, {1, 2 + 2.f / 3}))
      .run();
}

// ONNX's Resize-10 node test (test_resize_downsample_nearest, onnx 1.5) expects 1, 3 here: x_original
// 1 / 0.6 = 1.67 rounds up when downsampling. The importer's rewrite (asymmetric + floor) gives 1, 2.
// Disabled until upgrade_upsample picks nearest_mode ceil for downsampling scales.
TEST(Resize, Opset10NearestDownsampleRoundsUp) {
  OpTest("Resize", 10)
      .input("X", F({1, 1, 2, 4}, {1, 2, 3, 4, 5, 6, 7, 8}))
      .constant_input("scales", F({4}, {1, 1, 0.6f, 0.6f}))
      .output("Y", F({1, 1, 1, 2}, {1, 3}))
      .run();
}

// One axis grows, one shrinks: floor on the first, round up on the second (two chained Resize-13 nodes).
TEST(Resize, Opset10NearestMixedScales) {
  OpTest("Resize", 10)
      .input("X", F({1, 1, 2, 4}, {1, 2, 3, 4, 5, 6, 7, 8}))
      .constant_input("scales", F({4}, {1, 1, 2, 0.6f}))
      .output("Y", F({1, 1, 4, 2}, {1, 3, 1, 3, 5, 7, 5, 7}))
      .run();
}

TEST(Resize, Upsample9Nearest) {
  OpTest("Upsample", 9)
      .input("X", F({1, 1, 2, 2}, {1, 2, 3, 4}))
      .input("scales", F({4}, {1, 1, 2, 3}))
      .output("Y", F({1, 1, 4, 6}, {1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4}))
      .run();
}

// Upsample-7 (scales attribute), linear = asymmetric: coordinates 0, 0.5, 1, 1.5 (clamped).
TEST(Resize, Upsample7Linear) {
  OpTest("Upsample", 7)
      .input("X", F({1, 1, 2, 2}, {1, 2, 3, 4}))
      .attr("scales", std::vector<float>{1, 1, 2, 2})
      .attr("mode", "linear")
      .output("Y", F({1, 1, 4, 4}, {1, 1.5f, 2, 2, 2, 2.5f, 3, 3, 3, 3.5f, 4, 4, 3, 3.5f, 4, 4}))
      .run();
}

// scales is a run-time input: the same plan (same input shapes, no new prepare) must follow new values,
// including a different output shape.
TEST(Resize, RunTimeScalesChangeBetweenRuns) {
  OpTest t("Resize");
  t.input("X", F({2}, {10, 20}))
      .omitted_input()
      .input("scales", F({1}, {2}))
      .attr("coordinate_transformation_mode", "asymmetric")
      .attr("nearest_mode", "floor")
      .output("Y", F({4}, {10, 10, 20, 20}));
  for (bool reference : {true, false}) {
    SessionOptions so;
    so.reference_kernels = reference;
    auto s = Session::load_from_memory(t.model_bytes(), so);
    ASSERT_TRUE(s.is_ok()) << s.status().to_string();
    const std::pair<float, std::vector<float>> cases[] = {
        {2.f, {10, 10, 20, 20}}, {1.5f, {10, 10, 20}}, {0.5f, {10}}};
    for (const auto& [scale, expected] : cases) {
      auto out = (*s)->run({F({2}, {10, 20}), F({1}, {scale})});
      ASSERT_TRUE(out.is_ok()) << out.status().to_string();
      ASSERT_EQ((*out)[0].shape(), Shape{static_cast<int64_t>(expected.size())}) << "scale " << scale;
      for (size_t i = 0; i < expected.size(); ++i)
        EXPECT_EQ((*out)[0].data<float>()[i], expected[i]) << "scale " << scale;
    }
  }
}

TEST(Resize, EmptyOutput) {
  OpTest("Resize")
      .input("X", F({2, 3}, {1, 2, 3, 4, 5, 6}))
      .omitted_input()
      .omitted_input()
      .input("sizes", I64({2}, {0, 3}))
      .output("Y", F({0, 3}, {}))
      .run();
}

TEST(Resize, ErrorBothScalesAndSizes) {
  Status st = OpTest("Resize")
                  .input("X", F({2}, {1, 2}))
                  .omitted_input()
                  .constant_input("scales", F({1}, {2}))
                  .constant_input("sizes", I64({1}, {4}))
                  .output("Y", F({4}, {1, 1, 2, 2}))
                  .skip_checker()
                  .run_expect_error();
  EXPECT_NE(st.message().find("only one of 'scales' and 'sizes'"), std::string::npos) << st.message();
}

TEST(Resize, ErrorWrongScalesCount) {
  Status st = OpTest("Resize")
                  .input("X", F({1, 2}, {1, 2}))
                  .omitted_input()
                  .input("scales", F({1}, {2}))
                  .output("Y", F({1, 4}, {1, 1, 2, 2}))
                  .run_expect_error();
  EXPECT_NE(st.message().find("scales must have 2 values"), std::string::npos) << st.message();
}

TEST(Resize, ErrorNonPositiveScale) {
  Status st = OpTest("Resize")
                  .input("X", F({2}, {1, 2}))
                  .omitted_input()
                  .input("scales", F({1}, {-2}))
                  .output("Y", F({4}, {1, 1, 2, 2}))
                  .run_expect_error();
  EXPECT_NE(st.message().find("must be a positive finite number"), std::string::npos) << st.message();
}

TEST(Resize, ErrorBadMode) {
  Status st = OpTest("Resize")
                  .input("X", F({2}, {1, 2}))
                  .omitted_input()
                  .constant_input("scales", F({1}, {2}))
                  .attr("mode", "area")
                  .output("Y", F({4}, {1, 1, 2, 2}))
                  .run_expect_error();
  EXPECT_NE(st.message().find("mode 'area' is not one of"), std::string::npos) << st.message();
}

TEST(Resize, ErrorCropWithoutRoi) {
  Status st = OpTest("Resize")
                  .input("X", F({2}, {1, 2}))
                  .omitted_input()
                  .constant_input("scales", F({1}, {2}))
                  .attr("coordinate_transformation_mode", "tf_crop_and_resize")
                  .output("Y", F({4}, {1, 1, 2, 2}))
                  .run_expect_error();
  EXPECT_NE(st.message().find("requires the 'roi' input"), std::string::npos) << st.message();
}

// ---------------------------------------------------------------------------------------------------
// NonMaxSuppression

namespace {
// Six boxes [y1, x1, y2, x2]: 0-2 overlap heavily (IoU 0.82 of 1 and 2 with 0), 3-4 likewise, 5 apart.
Tensor six_boxes() {
  return F({1, 6, 4}, {0, 0,  1, 1,  0, 0.1f,  1, 1.1f,  0, -0.1f, 1, 0.9f,
                       0, 10, 1, 11, 0, 10.1f, 1, 11.1f, 0, 100,   1, 101});
}
Tensor six_scores() { return F({1, 1, 6}, {0.9f, 0.75f, 0.6f, 0.95f, 0.5f, 0.3f}); }
}  // namespace

// Order by score: 3, 0, 1, 2, 4, 5; 1 and 2 overlap 0, 4 overlaps 3.
TEST(Detection, SuppressByIou) {
  OpTest("NonMaxSuppression", 11)
      .input("boxes", six_boxes())
      .input("scores", six_scores())
      .input("max_output_boxes_per_class", I64({1}, {10}))
      .input("iou_threshold", F({1}, {0.5f}))
      .input("score_threshold", F({1}, {0.f}))
      .output("selected_indices", I64({3, 3}, {0, 0, 3, 0, 0, 0, 0, 0, 5}))
      .run();
}

TEST(Detection, ScoreThresholdAndLimit) {
  OpTest("NonMaxSuppression")
      .input("boxes", six_boxes())
      .input("scores", six_scores())
      .input("max_output_boxes_per_class", I64({}, {3}))
      .input("iou_threshold", F({}, {0.5f}))
      .input("score_threshold", F({}, {0.4f}))
      .output("selected_indices", I64({2, 3}, {0, 0, 3, 0, 0, 0}))
      .run();
  OpTest("NonMaxSuppression")
      .input("boxes", six_boxes())
      .input("scores", six_scores())
      .input("max_output_boxes_per_class", I64({1}, {2}))
      .input("iou_threshold", F({1}, {0.5f}))
      .output("selected_indices", I64({2, 3}, {0, 0, 3, 0, 0, 0}))
      .run();
}

// iou_threshold 0.9 keeps the 0.82-overlapping boxes too; without a score threshold every box qualifies.
TEST(Detection, HighIouThresholdKeepsOverlaps) {
  OpTest("NonMaxSuppression")
      .input("boxes", six_boxes())
      .input("scores", six_scores())
      .constant_input("max_output_boxes_per_class", I64({1}, {10}))
      .constant_input("iou_threshold", F({1}, {0.9f}))
      .output("selected_indices", I64({6, 3}, {0, 0, 3, 0, 0, 0, 0, 0, 1, 0, 0, 2, 0, 0, 4, 0, 0, 5}))
      .run();
}

// [x_center, y_center, width, height]; boxes 0 and 1 overlap with IoU 0.5/1.5 = 1/3.
TEST(Detection, CenterPointBox) {
  OpTest("NonMaxSuppression")
      .input("boxes", F({1, 3, 4}, {0.5f, 0.5f, 1, 1, 1, 0.5f, 1, 1, 5, 5, 1, 1}))
      .input("scores", F({1, 1, 3}, {0.8f, 0.9f, 0.7f}))
      .input("max_output_boxes_per_class", I64({1}, {5}))
      .input("iou_threshold", F({1}, {0.3f}))
      .attr("center_point_box", int64_t{1})
      .output("selected_indices", I64({2, 3}, {0, 0, 1, 0, 0, 2}))
      .run();
}

// Equal scores: lower box index first. Two batches x two classes, output grouped by batch then class.
TEST(Detection, TiesBatchesAndClasses) {
  OpTest("NonMaxSuppression")
      .input("boxes", F({2, 2, 4}, {0, 0, 1, 1, 0, 2, 1, 3, 0, 0, 1, 1, 0, 0, 1, 1}))
      .input("scores", F({2, 2, 2}, {0.5f, 0.5f, 0.1f, 0.2f, 0.3f, 0.4f, 0.6f, 0.6f}))
      .input("max_output_boxes_per_class", I64({1}, {4}))
      .input("iou_threshold", F({1}, {0.5f}))
      .output("selected_indices", I64({6, 3}, {0, 0, 0, 0, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 0}))
      .run();
}

// Same input shapes, new scores: the number of selected boxes changes without a new prepare().
TEST(Detection, RunTimeCountChangesBetweenRuns) {
  OpTest t("NonMaxSuppression");
  t.input("boxes", six_boxes())
      .input("scores", six_scores())
      .input("max_output_boxes_per_class", I64({1}, {10}))
      .input("iou_threshold", F({1}, {0.5f}))
      .input("score_threshold", F({1}, {0.f}))
      .output("selected_indices", I64({3, 3}, {0, 0, 3, 0, 0, 0, 0, 0, 5}));
  auto s = Session::load_from_memory(t.model_bytes());
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  const std::pair<float, std::vector<int64_t>> cases[] = {
      {0.f, {0, 0, 3, 0, 0, 0, 0, 0, 5}}, {0.92f, {0, 0, 3}}, {0.99f, {}}, {0.4f, {0, 0, 3, 0, 0, 0}}};
  for (const auto& [threshold, expected] : cases) {
    auto out = (*s)->run({six_boxes(), six_scores(), I64({1}, {10}), F({1}, {0.5f}), F({1}, {threshold})});
    ASSERT_TRUE(out.is_ok()) << out.status().to_string();
    ASSERT_EQ((*out)[0].shape(), (Shape{static_cast<int64_t>(expected.size() / 3), 3})) << threshold;
    for (size_t i = 0; i < expected.size(); ++i)
      EXPECT_EQ((*out)[0].data<int64_t>()[i], expected[i]) << threshold;
  }
}

// Without max_output_boxes_per_class (default 0) nothing is selected.
TEST(Detection, NoMaxOutputSelectsNothing) {
  OpTest("NonMaxSuppression")
      .input("boxes", six_boxes())
      .input("scores", six_scores())
      .output("selected_indices", I64({0, 3}, {}))
      .run();
}

TEST(Detection, ErrorBoxesShape) {
  Status st = OpTest("NonMaxSuppression")
                  .input("boxes", F({1, 2, 3}, {0, 0, 1, 0, 0, 1}))
                  .input("scores", F({1, 1, 2}, {0.5f, 0.4f}))
                  .input("max_output_boxes_per_class", I64({1}, {1}))
                  .output("selected_indices", I64({1, 3}, {0, 0, 0}))
                  .run_expect_error();
  EXPECT_NE(st.message().find("boxes must have shape [num_batches, spatial_dimension, 4]"), std::string::npos)
      << st.message();
}

TEST(Detection, ErrorIouThresholdRange) {
  Status st = OpTest("NonMaxSuppression")
                  .input("boxes", six_boxes())
                  .input("scores", six_scores())
                  .input("max_output_boxes_per_class", I64({1}, {1}))
                  .input("iou_threshold", F({1}, {1.5f}))
                  .output("selected_indices", I64({1, 3}, {0, 0, 3}))
                  .run_expect_error();
  EXPECT_NE(st.message().find("iou_threshold must be in [0, 1]"), std::string::npos) << st.message();
}

TEST(Detection, ErrorCenterPointBox) {
  Status st = OpTest("NonMaxSuppression")
                  .input("boxes", six_boxes())
                  .input("scores", six_scores())
                  .attr("center_point_box", int64_t{2})
                  .output("selected_indices", I64({0, 3}, {}))
                  .run_expect_error();
  EXPECT_NE(st.message().find("center_point_box must be 0 or 1"), std::string::npos) << st.message();
}

}  // namespace verge::test
