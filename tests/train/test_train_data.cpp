// MSE loss, learning-rate schedules, training data layouts (.npy pairs, image folders) and augmentation.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <random>

#include "graph_builder.h"
#include "import/onnx/importer.h"
#include "io/dataset.h"
#include "io/npy.h"
#include "op_test.h"
#include "train/losses.h"
#include "train/network.h"
#include "train/schedule.h"
#include "train/trainer.h"
#include "verge_cli.h"

namespace verge {
namespace {

namespace fs = std::filesystem;
using train::Buf;

fs::path fresh_dir(const std::string& name) {
  const fs::path d =
      fs::temp_directory_path() / ("verge_train_data_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// The shared dataset loader as the training commands call it (no model input: data as stored).
Result<LabeledImages> load(const fs::path& dir, const std::string& split, int64_t limit,
                           const std::string& preprocess = "") {
  VERGE_ASSIGN_OR_RETURN(Preprocess pre, parse_preprocess(preprocess));
  return load_dataset(dir.string(), {.split = split, .limit = limit, .preprocess = pre});
}

using test::last_json;  // verge_cli.h
using test::verge_cli;

// ---- MSE ----

// d(MSE)/d(output) against central differences in double (h = 1e-6; MSE is quadratic, so the central
// difference is exact up to rounding ~1e-16*|L|/h ~ 1e-10: tolerance 1e-8).
TEST(TrainLoss, MseValueAndGradient) {
  std::mt19937 gen(5);
  std::uniform_real_distribution<double> u(-2, 2);
  Buf<double> out, target, grad;
  out.resize({3, 4});
  target.resize({3, 4});
  for (double& v : out.v) v = u(gen);
  for (double& v : target.v) v = u(gen);
  double expected = 0;
  for (size_t i = 0; i < out.v.size(); ++i)
    expected += (out.v[i] - target.v[i]) * (out.v[i] - target.v[i]) / 12;
  EXPECT_NEAR(train::mse_loss(out, target, &grad).value(), expected, 1e-12);
  for (size_t i = 0; i < out.v.size(); ++i) {
    const double saved = out.v[i];
    out.v[i] = saved + 1e-6;
    const double plus = train::mse_loss<double>(out, target, nullptr).value();
    out.v[i] = saved - 1e-6;
    const double minus = train::mse_loss<double>(out, target, nullptr).value();
    out.v[i] = saved;
    EXPECT_NEAR(grad.v[i], (plus - minus) / 2e-6, 1e-8);
  }
  Buf<double> wrong;
  wrong.resize({4, 3});
  EXPECT_FALSE(train::mse_loss<double>(out, wrong, nullptr).is_ok());
  const std::vector<int64_t> labels = {2, 0};
  const Buf<float> oh = train::one_hot<float>(labels, 3).value();
  EXPECT_EQ(oh.v, (std::vector<float>{0, 0, 1, 1, 0, 0}));
  EXPECT_FALSE(train::one_hot<float>(std::vector<int64_t>{3}, 3).is_ok());
}

// ---- schedules: closed forms against torch.optim.lr_scheduler's recursive (chainable) update rules ----

TEST(TrainSchedule, StepAndCosineFollowTorchRecurrences) {
  const float base = 0.1f;
  train::LrSchedule step{.kind = "step", .step_size = 3, .gamma = 0.5f};
  ASSERT_TRUE(train::validate(step).is_ok());
  double lr = base;
  for (int64_t e = 0; e < 10; ++e) {
    if (e > 0 && e % step.step_size == 0) lr *= step.gamma;  // StepLR.get_lr
    EXPECT_NEAR(train::scheduled_lr(step, base, e, 10), lr, 1e-7) << "epoch " << e;
  }
  train::LrSchedule cosine{.kind = "cosine", .eta_min = 0.001f};
  const int64_t t_max = 7;
  lr = base;
  for (int64_t e = 0; e < t_max; ++e) {
    if (e >
        0) {  // CosineAnnealingLR.get_lr (the branch for e - 1 - T_max divisible by 2 T_max is not reached)
      const double pi = std::numbers::pi;
      lr = (1 + std::cos(pi * e / t_max)) / (1 + std::cos(pi * (e - 1) / t_max)) * (lr - cosine.eta_min) +
           cosine.eta_min;
    }
    EXPECT_NEAR(train::scheduled_lr(cosine, base, e, t_max), lr, 1e-6) << "epoch " << e;
  }
  EXPECT_FALSE(train::validate({.kind = "step"}).is_ok());  // needs step_size
  EXPECT_FALSE(train::validate({.kind = "linear"}).is_ok());
  EXPECT_FLOAT_EQ(train::scheduled_lr({}, base, 5, 10), base);
}

// Per step with a linear warmup: W warmup steps at lr * (t + 1) / W, then the schedule over the remaining
// steps (torch's recurrences again, shifted by W); the trainer sets that rate before every step.
TEST(TrainSchedule, PerStepWarmupThenCosineWithinOneEpoch) {
  const float base = 0.1f;
  const train::LrSchedule cosine{.kind = "cosine", .per_step = true, .warmup = 3};
  ASSERT_TRUE(train::validate(cosine).is_ok());
  const int64_t total = 11, t_max = total - cosine.warmup;
  double lr = base;
  for (int64_t t = 0; t < total; ++t) {
    if (t < cosine.warmup) {
      EXPECT_NEAR(train::scheduled_lr(cosine, base, t, total), base * (t + 1) / 3.0, 1e-7) << "step " << t;
      continue;
    }
    const int64_t e = t - cosine.warmup;
    if (e > 0)
      lr *= (1 + std::cos(std::numbers::pi * e / t_max)) / (1 + std::cos(std::numbers::pi * (e - 1) / t_max));
    EXPECT_NEAR(train::scheduled_lr(cosine, base, t, total), lr, 1e-6) << "step " << t;
  }
  const train::LrSchedule step{.kind = "step", .step_size = 2, .gamma = 0.5f, .warmup = 2};
  EXPECT_NEAR(train::scheduled_lr(step, base, 1, 10), base, 1e-7);
  EXPECT_NEAR(train::scheduled_lr(step, base, 3, 10), base, 1e-7);
  EXPECT_NEAR(train::scheduled_lr(step, base, 4, 10), base / 2, 1e-7);
  EXPECT_FALSE(train::validate({.warmup = -1}).is_ok());

  // 200 samples in batches of 32: 7 steps per epoch (the last one partial), 14 in two epochs.
  auto all = load_idx_dataset(test::test_data("fmnist-sample"), "test");
  ASSERT_TRUE(all.is_ok());
  LabeledImages data;
  data.images = Tensor::allocate(DType::kFloat32, {200, 1, 28, 28}).value();
  std::copy_n(all->images.data<float>(), 200 * 28 * 28, data.images.data<float>());
  data.labels.assign(all->labels.begin(), all->labels.begin() + 200);
  auto model = onnx_io::load_model(test::test_data("fmnist_student_init.onnx")).value();
  train::TrainOptions o;
  o.epochs = 2;
  o.batch_size = 32;
  o.optimizer.kind = "adam";
  o.optimizer.lr = 1e-3f;
  o.schedule = cosine;
  std::vector<float> seen;
  o.hooks.after_step = [&](int64_t t, train::Network<float>&, train::Optimizer& opt) {
    EXPECT_EQ(t, static_cast<int64_t>(seen.size()));
    seen.push_back(opt.lr());
    return Status::ok();
  };
  auto stats = train::train_classifier(model, data, o);
  ASSERT_TRUE(stats.is_ok()) << stats.status().to_string();
  ASSERT_EQ(seen.size(), 14u);
  for (int64_t t = 0; t < 14; ++t)
    EXPECT_FLOAT_EQ(seen[static_cast<size_t>(t)], train::scheduled_lr(cosine, 1e-3f, t, 14)) << "step " << t;
  for (size_t t = 4; t < 14; ++t) EXPECT_LT(seen[t], seen[t - 1]) << "step " << t;  // within each epoch
  EXPECT_LT(seen[13], 0.03f * seen[3]);
  EXPECT_FLOAT_EQ(static_cast<float>((*stats)[0].lr), seen[0]);
  EXPECT_FLOAT_EQ(static_cast<float>((*stats)[1].lr), seen[7]);
}

// ---- .npy pairs, MSE regression end to end through the CLI ----

// y = 2*x0 - x1 + 0.5*x2 + 0.3 from 256 random inputs; a Gemm(3->1) trained with --loss mse fits it.
TEST(TrainData, NpyRegressionWithMseThroughCli) {
  const fs::path dir = fresh_dir("npy_regression");
  std::mt19937 gen(11);
  std::uniform_real_distribution<float> u(-1, 1);
  Tensor x = Tensor::allocate(DType::kFloat32, {256, 3}).value(),
         y = Tensor::allocate(DType::kFloat32, {256, 1}).value();
  for (int64_t i = 0; i < 256; ++i) {
    float* xi = x.data<float>() + i * 3;
    for (int k = 0; k < 3; ++k) xi[k] = u(gen);
    y.data<float>()[i] = 2 * xi[0] - xi[1] + 0.5f * xi[2] + 0.3f;
  }
  ASSERT_TRUE(write_npy(x, (dir / "inputs.npy").string()).is_ok());
  ASSERT_TRUE(write_npy(y, (dir / "labels.npy").string()).is_ok());
  test::GraphBuilder b(13);
  const std::string in = b.input("x", {-1, 3});
  b.output(b.node("Gemm",
                  {in, b.constant("w", Tensor::allocate(DType::kFloat32, {1, 3}).value()),
                   b.constant("b", Tensor::allocate(DType::kFloat32, {1}).value())},
                  {{"transB", int64_t{1}}}),
           {-1, 1});
  {
    std::ofstream f(dir / "linear.onnx", std::ios::binary);
    f << b.bytes();
  }
  auto ds = load(dir, "train", 0);
  ASSERT_TRUE(ds.is_ok()) << ds.status().to_string();
  EXPECT_TRUE(ds->labels.empty());
  EXPECT_EQ(ds->targets.shape(), (Shape{256, 1}));
  const std::string out = (dir / "fit.onnx").string();
  auto [code, text] =
      verge_cli("train " + (dir / "linear.onnx").string() + " --data " + dir.string() +
                " --loss mse --epochs 30 --batch-size 16 --optimizer adam --lr 0.05 --lr-schedule step "
                "--step-size 10 --gamma 0.5 --json -o " +
                out);
  ASSERT_EQ(code, 0) << text;
  const auto j = last_json(text);
  ASSERT_EQ(j["epochs"].size(), 30u);
  EXPECT_LT(j["epochs"][29]["loss"].get<double>(), 1e-3) << text;
  EXPECT_NEAR(j["epochs"][0]["lr"].get<double>(), 0.05, 1e-7);
  EXPECT_NEAR(j["epochs"][10]["lr"].get<double>(), 0.025, 1e-7);
  EXPECT_NEAR(j["epochs"][29]["lr"].get<double>(), 0.0125, 1e-7);
  auto fitted = onnx_io::load_model(out).value();
  const float* w = fitted.graph.value(fitted.graph.find("w")).constant->data<float>();
  EXPECT_NEAR(w[0], 2.0, 0.05);
  EXPECT_NEAR(w[1], -1.0, 0.05);
  EXPECT_NEAR(w[2], 0.5, 0.05);
  // Cross-entropy on float targets is refused with the reason.
  auto [bad, btext] =
      verge_cli("train " + (dir / "linear.onnx").string() + " --data " + dir.string() + " -o " + out);
  EXPECT_NE(bad, 0);
  EXPECT_NE(btext.find("--loss mse"), std::string::npos) << btext;
  fs::remove_all(dir);
}

// Integer labels.npy: class labels; the split subfolder wins when it exists; MSE against one-hot labels
// also trains a classifier.
TEST(TrainData, NpyClassLabelsAndSplitFolder) {
  const fs::path dir = fresh_dir("npy_classes");
  fs::create_directories(dir / "test");
  Tensor x = Tensor::allocate(DType::kUInt8, {6, 1, 4, 4}).value();
  for (int64_t i = 0; i < x.numel(); ++i) x.data<uint8_t>()[i] = static_cast<uint8_t>(i % 251);
  ASSERT_TRUE(write_npy(x, (dir / "test" / "inputs.npy").string()).is_ok());
  ASSERT_TRUE(
      write_npy(Tensor::from_vector<int64_t>({6}, {0, 1, 2, 1, 0, 2}), (dir / "test" / "labels.npy").string())
          .is_ok());
  auto ds = load(dir, "test", 4);
  ASSERT_TRUE(ds.is_ok()) << ds.status().to_string();
  EXPECT_EQ(ds->images.shape(), (Shape{4, 1, 4, 4}));
  EXPECT_EQ(ds->labels, (std::vector<int64_t>{0, 1, 2, 1}));
  EXPECT_FLOAT_EQ(ds->images.data<float>()[17], 17.f);  // converted, not rescaled
  EXPECT_FALSE(load(dir, "train", 0).is_ok());          // no train data at all
  ASSERT_TRUE(
      write_npy(Tensor::from_vector<int64_t>({5}, {0, 1, 2, 1, 0}), (dir / "test" / "labels.npy").string())
          .is_ok());
  auto bad = load(dir, "test", 0);
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().to_string().find("labels.npy"), std::string::npos) << bad.status().to_string();
  fs::remove_all(dir);
}

TEST(TrainData, MseOnOneHotLabelsTrainsTheStudent) {
  auto all = load_idx_dataset(test::test_data("fmnist-sample"), "test");
  ASSERT_TRUE(all.is_ok());
  auto model = onnx_io::load_model(test::test_data("fmnist_student_init.onnx")).value();
  train::TrainOptions o;
  o.epochs = 3;
  o.batch_size = 32;
  o.loss = "mse";
  o.optimizer.kind = "adam";
  o.optimizer.lr = 3e-3f;
  o.schedule.kind = "cosine";
  auto stats = train::train_classifier(model, *all, o);
  ASSERT_TRUE(stats.is_ok()) << stats.status().to_string();
  EXPECT_LT((*stats)[2].loss, 0.8 * (*stats)[0].loss);
  EXPECT_GT((*stats)[2].accuracy, 0.4);  // chance 0.1
  EXPECT_FLOAT_EQ(static_cast<float>((*stats)[0].lr), 3e-3f);
  EXPECT_NEAR((*stats)[1].lr, 3e-3 * (1 + std::cos(std::numbers::pi / 3)) / 2, 1e-8);
}

// ---- image folders ----

void write_pgm(const fs::path& p, int64_t h, int64_t w, uint8_t base) {
  std::ofstream f(p, std::ios::binary);
  f << "P5\n" << w << " " << h << "\n255\n";
  for (int64_t i = 0; i < h * w; ++i) f.put(static_cast<char>(static_cast<uint8_t>(base + i)));
}

TEST(TrainData, ImageFolderDecodesResizesNormalizes) {
  const fs::path dir = fresh_dir("images");
  for (const char* c : {"cat", "ant", "bee"}) fs::create_directories(dir / c);
  write_pgm(dir / "ant" / "a1.pgm", 6, 5, 10);
  write_pgm(dir / "ant" / "a2.pgm", 6, 5, 20);
  write_pgm(dir / "bee" / "b1.pgm", 6, 5, 30);
  write_pgm(dir / "cat" / "c1.pgm", 6, 5, 40);
  { std::ofstream(dir / "cat" / "notes.txt") << "not an image"; }
  ASSERT_EQ(detect_layout(dir.string(), "train").value(), "images");
  const std::string pre = "color=gray,mean=0.5,std=0.25";
  auto ds = load(dir, "train", 0, pre);
  ASSERT_TRUE(ds.is_ok()) << ds.status().to_string();
  EXPECT_EQ(ds->images.shape(), (Shape{4, 1, 6, 5}));
  EXPECT_EQ(ds->labels, (std::vector<int64_t>{0, 0, 1, 2}));  // ant, ant, bee, cat
  EXPECT_NEAR(ds->images.data<float>()[30 * 2 + 7], ((30 + 7) / 255.f - 0.5f) / 0.25f, 1e-6);
  // RGB decode of a gray file repeats the channel; resize=HxW resizes.
  auto rgb = load(dir, "train", 2, "resize=3x4");
  ASSERT_TRUE(rgb.is_ok()) << rgb.status().to_string();
  EXPECT_EQ(rgb->images.shape(), (Shape{2, 3, 3, 4}));
  // Images of different sizes without size=: refused, naming the file.
  write_pgm(dir / "cat" / "c2.pgm", 7, 5, 0);
  auto mixed = load(dir, "train", 0, pre);
  ASSERT_FALSE(mixed.is_ok());
  EXPECT_NE(mixed.status().to_string().find("c2.pgm"), std::string::npos) << mixed.status().to_string();
  fs::remove(dir / "cat" / "c2.pgm");
  // A corrupt image is an error naming it, not a crash.
  { std::ofstream(dir / "bee" / "broken.png", std::ios::binary) << "\x89PNG\r\n\x1a\nbroken"; }
  auto broken = load(dir, "train", 0, pre);
  ASSERT_FALSE(broken.is_ok());
  EXPECT_NE(broken.status().to_string().find("broken.png"), std::string::npos) << broken.status().to_string();
  fs::remove(dir / "bee" / "broken.png");
  // RGB samples for a one-channel model: refused before training, naming both shapes.
  auto student = onnx_io::load_model(test::test_data("fmnist_student_init.onnx")).value();
  auto rgb28 = load(dir, "train", 0, "resize=28x28");
  ASSERT_TRUE(rgb28.is_ok()) << rgb28.status().to_string();
  auto refused = train::train_classifier(student, *rgb28, {});
  ASSERT_FALSE(refused.is_ok());
  EXPECT_NE(refused.status().to_string().find("3x28x28"), std::string::npos) << refused.status().to_string();
  fs::remove_all(dir);
}

// ---- augmentation ----

TEST(TrainAugment, CropShiftsWithZerosFlipMirrorsSeeded) {
  EXPECT_TRUE(train::parse_augment("crop:2,flip").is_ok());
  EXPECT_FALSE(train::parse_augment("crop:0").is_ok());
  EXPECT_FALSE(train::parse_augment("crop:x").is_ok());
  EXPECT_FALSE(train::parse_augment("rotate").is_ok());
  Buf<float> x;
  x.resize({64, 2, 5, 6});
  for (int64_t i = 0; i < x.numel(); ++i) x.v[static_cast<size_t>(i)] = 1.f + static_cast<float>(i % 60);
  const train::Augment a = train::parse_augment("crop:2,flip").value();
  Buf<float> y = x, again = x, other = x;
  train::augment_batch(a, y, 3, 0, 0);
  train::augment_batch(a, again, 3, 0, 0);
  train::augment_batch(a, other, 3, 1, 0);
  EXPECT_EQ(y.v, again.v);
  EXPECT_NE(y.v, other.v);
  // Every sample is its source shifted by some (dy, dx) in [-2, 2]^2, possibly mirrored, zeros shifted in,
  // the same transform on both channels.
  int flips = 0;
  for (int64_t s = 0; s < 64; ++s) {
    bool found = false;
    for (int flip = 0; flip < 2 && !found; ++flip)
      for (int64_t dy = -2; dy <= 2 && !found; ++dy)
        for (int64_t dx = -2; dx <= 2 && !found; ++dx) {
          bool same = true;
          for (int64_t p = 0; p < 2 && same; ++p)
            for (int64_t r = 0; r < 5 && same; ++r)
              for (int64_t c = 0; c < 6 && same; ++c) {
                const int64_t sr = r + dy, sc = (flip ? 5 - c : c) + dx;
                const float expect = sr >= 0 && sr < 5 && sc >= 0 && sc < 6
                                         ? x.v[static_cast<size_t>(((s * 2 + p) * 5 + sr) * 6 + sc)]
                                         : 0.f;
                same = y.v[static_cast<size_t>(((s * 2 + p) * 5 + r) * 6 + c)] == expect;
              }
          if (same) found = true, flips += flip;
        }
    EXPECT_TRUE(found) << "sample " << s << " is not a shifted/mirrored copy";
  }
  EXPECT_GT(flips, 16);  // Binomial(64, 1/2): mean 32, sd 4
  EXPECT_LT(flips, 48);
}

}  // namespace
}  // namespace verge
