// The training engine end to end: forward agrees with the inference runtime, optimizers minimize, a
// short run on Fashion-MNIST images learns, `verge train` writes a model `verge eval` accepts.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>

#include "import/onnx/importer.h"
#include "io/idx.h"
#include "op_test.h"
#include "sample_data.h"
#include "train/network.h"
#include "train/trainer.h"
#include "verge/session.h"
#include "verge_cli.h"

namespace verge {
namespace {

using train::Buf;

using test::sample_images;  // sample_data.h
using test::slice;

TEST(Train, ForwardMatchesInferenceRuntime) {
  const std::string path = test::test_data("fmnist_cnn.onnx");
  auto model = onnx_io::load_model(path);
  ASSERT_TRUE(model.is_ok());
  auto net = train::Network<float>::create(*model, {}).value();
  LabeledImages d = slice(sample_images(), 0, 16);
  Buf<float> x;
  x.shape = d.images.shape();
  x.v.assign(d.images.data<float>(), d.images.data<float>() + d.images.numel());
  ASSERT_TRUE(net->forward(std::span<const Buf<float>>(&x, 1)).is_ok());
  auto session = Session::load(path, {.threads = 1, .reference_kernels = true});
  ASSERT_TRUE(session.is_ok());
  auto out = (*session)->run({d.images});
  ASSERT_TRUE(out.is_ok());
  const Tensor& ref = (*out)[0];
  ASSERT_EQ(ref.shape(), net->output(0).shape);
  double max_ref = 0, max_err = 0;
  for (int64_t i = 0; i < ref.numel(); ++i) {
    max_ref = std::max(max_ref, std::fabs(static_cast<double>(ref.data<float>()[i])));
    max_err = std::max(max_err, std::fabs(static_cast<double>(ref.data<float>()[i] - net->output(0).v[i])));
  }
  EXPECT_LE(max_err, 1e-4 * max_ref) << "max |err| " << max_err << " max |ref| " << max_ref;
}

TEST(Train, ShuffleIsASeededPermutation) {
  const auto a = train::shuffled_order(1000, 42, 0), b = train::shuffled_order(1000, 42, 0);
  const auto c = train::shuffled_order(1000, 42, 1), d = train::shuffled_order(1000, 43, 0);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(a, d);
  EXPECT_EQ(std::set<int64_t>(a.begin(), a.end()).size(), 1000u);
  EXPECT_EQ(*std::max_element(a.begin(), a.end()), 999);
}

// Each optimizer drives 0.5*||w - t||^2 (gradient w - t) to its minimum.
TEST(Train, OptimizersMinimizeAQuadratic) {
  for (const char* kind : {"sgd", "adam", "adamw"})
    for (bool nesterov : {false, true}) {
      if (nesterov && std::string(kind) != "sgd") continue;
      train::OptimizerOptions o;
      o.kind = kind;
      o.nesterov = nesterov;
      o.lr = std::string(kind) == "sgd" ? 0.1f : 0.05f;
      auto opt = train::Optimizer::create(o).value();
      Buf<float> w, g;
      w.v = {3.f, -2.f, 0.5f};
      w.shape = {3};
      const std::vector<float> target = {1.f, 1.f, -1.f};
      for (int step = 0; step < 500; ++step) {
        g.v.resize(3);
        for (size_t i = 0; i < 3; ++i) g.v[i] = w.v[i] - target[i];
        Buf<float>* p = &w;
        const Buf<float>* q = &g;
        opt->step(std::span<Buf<float>* const>(&p, 1), std::span<const Buf<float>* const>(&q, 1));
      }
      for (size_t i = 0; i < 3; ++i)
        EXPECT_NEAR(w.v[i], target[i], 1e-2) << kind << (nesterov ? " nesterov" : "");
    }
  train::OptimizerOptions bad;
  bad.kind = "rmsprop";
  EXPECT_FALSE(train::Optimizer::create(bad).is_ok());
  bad.kind = "sgd";
  bad.lr = -1.f;
  EXPECT_FALSE(train::Optimizer::create(bad).is_ok());
}

// Untrained student CNN, 800 Fashion-MNIST images, 3 epochs: the loss falls and held-out accuracy (200
// other images) is far above chance (0.10).
TEST(Train, StudentLearnsFashionMnistSubset) {
  const LabeledImages all = sample_images();
  const LabeledImages train_set = slice(all, 0, 800), held_out = slice(all, 800, 1000);
  auto model = onnx_io::load_model(test::test_data("fmnist_student_init.onnx"));
  ASSERT_TRUE(model.is_ok());
  auto before = train::evaluate_classifier(*model, held_out).value();
  train::TrainOptions o;
  o.epochs = 3;
  o.batch_size = 32;
  o.seed = 1;
  o.threads = 2;
  o.optimizer.kind = "adam";
  o.optimizer.lr = 3e-3f;
  auto stats = train::train_classifier(*model, train_set, o);
  ASSERT_TRUE(stats.is_ok()) << stats.status().to_string();
  ASSERT_EQ(stats->size(), 3u);
  EXPECT_LT((*stats)[2].loss, (*stats)[0].loss);
  auto after = train::evaluate_classifier(*model, held_out).value();
  EXPECT_LT(after.loss, 0.6 * before.loss) << "held-out loss " << before.loss << " -> " << after.loss;
  EXPECT_GT(after.accuracy, 0.5) << "held-out accuracy " << before.accuracy << " -> " << after.accuracy;
}

TEST(Train, SgdNesterovLowersLossAndSameSeedGivesSameModel) {
  const LabeledImages d = slice(sample_images(), 0, 256);
  train::TrainOptions o;
  o.epochs = 2;
  o.batch_size = 16;
  o.seed = 5;
  o.optimizer.kind = "sgd";
  o.optimizer.lr = 0.05f;
  o.optimizer.nesterov = true;
  o.optimizer.weight_decay = 1e-4f;
  auto m1 = onnx_io::load_model(test::test_data("fmnist_student_init.onnx")).value();
  auto m2 = m1;
  const double before = train::evaluate_classifier(m1, d).value().loss;
  ASSERT_TRUE(train::train_classifier(m1, d, o).is_ok());
  ASSERT_TRUE(train::train_classifier(m2, d, o).is_ok());
  EXPECT_LT(train::evaluate_classifier(m1, d).value().loss, before);
  EXPECT_EQ(onnx_io::save_model_to_bytes(m1).value(), onnx_io::save_model_to_bytes(m2).value());
}

using test::last_json;  // verge_cli.h
using test::verge_cli;

TEST(Train, CliTrainsAndEvalLoadsTheResult) {
  const std::string out = (std::filesystem::temp_directory_path() / "verge_train_cli_test.onnx").string();
  const std::string data = test::test_data("fmnist-sample");
  auto [code, text] = verge_cli(
      "train " + test::test_data("fmnist_student_init.onnx") + " --data " + data +
      " --split test --epochs 2 --batch-size 32 --optimizer adam --lr 0.003 --threads 2 --json -o " + out);
  ASSERT_EQ(code, 0) << text;
  const auto j = last_json(text);
  ASSERT_EQ(j["epochs"].size(), 2u);
  EXPECT_LT(j["epochs"][1]["loss"].get<double>(), j["epochs"][0]["loss"].get<double>());
  auto [ecode, etext] = verge_cli("eval " + out + " --data " + data + " --json");
  ASSERT_EQ(ecode, 0) << etext;
  EXPECT_GT(last_json(etext)["top1"].get<double>(), 0.5) << etext;
  auto [bad, btext] = verge_cli("train " + test::test_data("fmnist_student_init.onnx") + " --data " + data +
                                " --split test --lr -1 -o " + out);
  EXPECT_NE(bad, 0);
  EXPECT_NE(btext.find("learning rate"), std::string::npos) << btext;
  std::filesystem::remove(out);
}

}  // namespace
}  // namespace verge
