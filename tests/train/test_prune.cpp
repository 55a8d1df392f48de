// Pruning (src/train/prune.h, channel_prune.h): the PolynomialDecay schedule against its formula, magnitude
// masks (uniform vs global), masks held through momentum during fine-tuning, channel surgery that leaves
// outputs unchanged when the removed channels are dead, and `verge prune` end to end.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>

#include "graph_builder.h"
#include "import/onnx/importer.h"
#include "io/idx.h"
#include "op_test.h"
#include "optimize/passes.h"
#include "train/channel_prune.h"
#include "train/network.h"
#include "train/prune.h"
#include "train/trainer.h"
#include "verge/session.h"
#include "verge_cli.h"

namespace verge {
namespace {

using train::Allocation;
using train::Buf;

LabeledImages sample_images(int64_t limit = 0) {
  auto ds = load_idx_dataset(test::test_data("fmnist-sample"), "test", limit);
  EXPECT_TRUE(ds.is_ok()) << ds.status().to_string();
  return std::move(ds).value();
}

TEST(Prune, PolynomialDecayFollowsTheFormula) {
  train::PolynomialDecay s;  // 0.5 -> 0.9 over [0, 1000], power 3, every 100 steps
  ASSERT_TRUE(s.validate().is_ok());
  for (int64_t step : {0, 1, 100, 250, 500, 999, 1000}) {
    const double p = static_cast<double>(step) / 1000.0;
    EXPECT_NEAR(s.sparsity(step), 0.9 + (0.5 - 0.9) * std::pow(1 - p, 3), 1e-12) << step;
  }
  EXPECT_NEAR(s.sparsity(500), 0.85, 1e-12);  // 0.9 - 0.4 / 8
  EXPECT_DOUBLE_EQ(s.sparsity(5000), 0.9);    // held after end_step
  EXPECT_TRUE(s.should_prune(0));
  EXPECT_TRUE(s.should_prune(300));
  EXPECT_TRUE(s.should_prune(1000));
  EXPECT_FALSE(s.should_prune(150));
  EXPECT_FALSE(s.should_prune(1100));

  train::PolynomialDecay late{.initial_sparsity = 0.2,
                              .final_sparsity = 0.8,
                              .begin_step = 200,
                              .end_step = 600,
                              .power = 2,
                              .frequency = 50};
  EXPECT_FALSE(late.should_prune(100));
  EXPECT_FALSE(late.should_prune(225));
  EXPECT_TRUE(late.should_prune(250));
  EXPECT_DOUBLE_EQ(late.sparsity(100), 0.2);  // before begin: p clamps to 0
  EXPECT_NEAR(late.sparsity(400), 0.8 + (0.2 - 0.8) * 0.25, 1e-12);

  for (train::PolynomialDecay bad :
       {train::PolynomialDecay{.final_sparsity = 1.0}, train::PolynomialDecay{.initial_sparsity = -0.1},
        train::PolynomialDecay{.begin_step = 10, .end_step = 5}, train::PolynomialDecay{.frequency = 0},
        train::PolynomialDecay{.power = 0}})
    EXPECT_FALSE(bad.validate().is_ok());
}

// Two layers of very different scale: uniform takes the same fraction from each, global takes the
// smallest magnitudes wherever they are.
TEST(Prune, UniformAndGlobalMasks) {
  std::mt19937 rng(3);
  std::normal_distribution<float> n01;
  std::vector<float> small(300), large(100);
  for (float& x : small) x = 0.1f * n01(rng);
  for (float& x : large) x = 1.0f * n01(rng);
  const std::array<std::span<const float>, 2> w = {small, large};
  auto count = [](const std::vector<uint8_t>& k) { return std::count(k.begin(), k.end(), uint8_t{1}); };

  const auto uni = train::magnitude_masks(w, 0.75, Allocation::kUniform);
  EXPECT_EQ(count(uni[0]), 75);  // round(300 * 0.25)
  EXPECT_EQ(count(uni[1]), 25);
  for (size_t t = 0; t < 2; ++t) {  // within a layer, every kept |w| >= every pruned |w|
    float min_kept = INFINITY, max_pruned = 0;
    for (size_t i = 0; i < w[t].size(); ++i) {
      if (uni[t][i])
        min_kept = std::min(min_kept, std::fabs(w[t][i]));
      else
        max_pruned = std::max(max_pruned, std::fabs(w[t][i]));
    }
    EXPECT_GE(min_kept, max_pruned);
  }

  const auto glob = train::magnitude_masks(w, 0.75, Allocation::kGlobal);
  EXPECT_EQ(count(glob[0]) + count(glob[1]), 100);  // round(400 * 0.25) over both
  EXPECT_GT(count(glob[1]), count(uni[1]));         // the large layer keeps more than under uniform
  float min_kept = INFINITY, max_pruned = 0;
  for (size_t t = 0; t < 2; ++t)
    for (size_t i = 0; i < w[t].size(); ++i) {
      if (glob[t][i])
        min_kept = std::min(min_kept, std::fabs(w[t][i]));
      else
        max_pruned = std::max(max_pruned, std::fabs(w[t][i]));
    }
  EXPECT_GE(min_kept, max_pruned);  // one threshold across layers

  const auto one = train::magnitude_masks(w, 0.9999, Allocation::kUniform);
  EXPECT_EQ(count(one[0]), 1);  // at least one weight is kept
}

TEST(Prune, ClearStateStopsMomentum) {
  for (const char* kind : {"sgd", "adam"}) {
    train::OptimizerOptions o;
    o.kind = kind;
    o.lr = 0.1f;
    auto opt = train::Optimizer::create(o).value();
    Buf<float> w{{2}, {1.f, 1.f}}, g{{2}, {1.f, 1.f}};
    Buf<float>* p = &w;
    const Buf<float>* q = &g;
    opt->step(std::span<Buf<float>* const>(&p, 1), std::span<const Buf<float>* const>(&q, 1));
    const std::array<uint8_t, 2> keep = {0, 1};
    opt->clear_state(0, keep);
    w.v[0] = 0.f;
    const float w1 = w.v[1];
    g.v = {0.f, 0.f};
    opt->step(std::span<Buf<float>* const>(&p, 1), std::span<const Buf<float>* const>(&q, 1));
    EXPECT_EQ(w.v[0], 0.f) << kind;  // no momentum left to move it
    EXPECT_NE(w.v[1], w1) << kind;   // momentum still moves the kept weight
  }
}

// Fine-tuning with the schedule: masks hold through SGD momentum (and Adam), and the final sparsity is
// what the allocation promises.
TEST(Prune, MasksHoldDuringFineTuning) {
  const LabeledImages d = sample_images(320);
  for (Allocation alloc : {Allocation::kUniform, Allocation::kGlobal})
    for (const char* kind : {"sgd", "adam"}) {
      auto model = onnx_io::load_model(test::test_data("fmnist_cnn.onnx")).value();
      auto pruner =
          train::MagnitudePruner::create(model, {.begin_step = 0, .end_step = 12, .frequency = 4}, alloc)
              .value();
      train::TrainOptions o;
      o.epochs = 2;  // 20 steps: 4 mask updates, then 8 steps with the final masks
      o.batch_size = 32;
      o.optimizer.kind = kind;
      o.optimizer.lr = std::string(kind) == "sgd" ? 0.01f : 1e-3f;
      o.hooks = pruner.hooks();
      int64_t steps = 0, violations = 0;
      std::vector<std::vector<uint8_t>> zero_after;  // zeros seen after the last step
      const train::StepHooks inner = o.hooks;
      o.hooks.after_step = [&](int64_t step, train::Network<float>& net, train::Optimizer& opt) -> Status {
        VERGE_RETURN_IF_ERROR(inner.after_step(step, net, opt));
        ++steps;
        // After the last mask update (step 12), the set of zero weights never changes.
        std::vector<std::vector<uint8_t>> zeros;
        for (size_t i = 0; i < net.num_params(); ++i) {
          zeros.emplace_back();
          for (float x : net.param(i).v) zeros.back().push_back(x == 0.f);
        }
        if (step > 12 && zeros != zero_after) ++violations;
        zero_after = std::move(zeros);
        return Status::ok();
      };
      ASSERT_TRUE(train::train_classifier(model, d, o).is_ok());
      EXPECT_EQ(steps, 20);
      EXPECT_EQ(violations, 0);
      EXPECT_EQ(pruner.mask_updates(), 4);
      EXPECT_DOUBLE_EQ(pruner.last_sparsity(), 0.9);
      int64_t params = 0, zeros = 0;
      for (const auto& s : train::sparsity_report(model)) {
        params += s.params;
        zeros += s.zeros;
        if (alloc == Allocation::kUniform) {
          EXPECT_NEAR(s.sparsity(), 0.9, 1.0 / s.params + 1e-9) << s.weight;
        }
      }
      EXPECT_NEAR(static_cast<double>(zeros) / params, 0.9, 4.0 / params) << kind;
    }
}

std::vector<float> run_model(const ir::Model& m, const Tensor& x) {
  auto s = Session::load_from_memory(onnx_io::save_model_to_bytes(m).value(), {.threads = 1});
  EXPECT_TRUE(s.is_ok()) << s.status().to_string();
  auto out = (*s)->run({x});
  EXPECT_TRUE(out.is_ok()) << out.status().to_string();
  const Tensor& y = (*out)[0];
  return std::vector<float>(y.data<float>(), y.data<float>() + y.numel());
}

void expect_close(const std::vector<float>& a, const std::vector<float>& b) {
  ASSERT_EQ(a.size(), b.size());
  float scale = 0;
  for (float v : a) scale = std::max(scale, std::fabs(v));
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-5f * scale) << i;
}

ir::NodeId find_node(const ir::Graph& g, OpId op, int nth) {
  for (size_t k = 0; k < g.nodes.size(); ++k)
    if (g.nodes[k].op == op && nth-- == 0) return static_cast<ir::NodeId>(k);
  return -1;
}

const Tensor& weight(const ir::Model& m, ir::NodeId node, size_t input = 1) {
  return *m.graph.value(m.graph.nodes[static_cast<size_t>(node)].input(input)).constant;
}

// Zeroes channels `cs` of a Conv's weight and bias: those channels then output exactly 0 (ReLU keeps 0).
void kill_channels(ir::Model& m, ir::NodeId conv, const std::vector<int64_t>& cs) {
  for (size_t in = 1; in < 3; ++in) {
    const ir::ValueId v = m.graph.nodes[static_cast<size_t>(conv)].input(in);
    Tensor t = m.graph.value(v).constant->clone().value();
    const int64_t per = t.numel() / t.dim(0);
    for (int64_t c : cs) std::fill_n(t.data<float>() + c * per, per, 0.f);
    m.graph.value(v).constant = std::make_shared<const Tensor>(std::move(t));
  }
}

// fmnist_cnn with dead channels in both Convs: removing exactly them changes no output; consumers (the
// second Conv's input channels, the Gemm's flattened features) are rewritten consistently.
TEST(ChannelPrune, RemovingDeadChannelsKeepsOutputs) {
  auto m = onnx_io::load_model(test::test_data("fmnist_cnn.onnx")).value();
  const ir::NodeId c1 = find_node(m.graph, OpId::Conv, 0), c2 = find_node(m.graph, OpId::Conv, 1);
  const ir::NodeId fc = find_node(m.graph, OpId::Gemm, 0);
  ASSERT_GE(c1, 0);
  ASSERT_GE(c2, 0);
  ASSERT_GE(fc, 0);
  const std::vector<int64_t> dead1 = {3, 7, 20}, dead2 = {0, 5, 63};
  kill_channels(m, c1, dead1);
  kill_channels(m, c2, dead2);
  const LabeledImages d = sample_images(8);
  const std::vector<float> before = run_model(m, d.images);

  for (auto crit : {train::ChannelCriterion::kL1, train::ChannelCriterion::kL2}) {
    const auto scores = train::channel_scores(m, c1, crit).value();
    for (int64_t c : dead1) EXPECT_EQ(scores[static_cast<size_t>(c)], 0.0);
    EXPECT_EQ(std::count(scores.begin(), scores.end(), 0.0), 3);
  }
  EXPECT_FALSE(train::channel_scores(m, c1, train::ChannelCriterion::kBnGamma).is_ok());  // no BN here

  const Shape fc_before = weight(m, fc).shape();
  ASSERT_TRUE(train::remove_output_channels(m, c1, dead1).is_ok());
  ASSERT_TRUE(train::remove_output_channels(m, c2, dead2).is_ok());
  EXPECT_EQ(weight(m, c1).shape(), (Shape{29, 1, 3, 3}));
  EXPECT_EQ(weight(m, c1, 2).shape(), (Shape{29}));
  EXPECT_EQ(weight(m, c2).shape(), (Shape{61, 29, 3, 3}));
  const bool trans_b = m.graph.nodes[static_cast<size_t>(fc)].get_int("transB", 0) != 0;
  const int64_t k = fc_before[trans_b ? 1 : 0];
  EXPECT_EQ(weight(m, fc).shape()[trans_b ? 1 : 0], k / 64 * 61);
  expect_close(before, run_model(m, d.images));

  // Errors leave the model alone.
  EXPECT_FALSE(train::remove_output_channels(m, c1, std::vector<int64_t>{29}).is_ok());
  EXPECT_FALSE(train::remove_output_channels(m, c1, std::vector<int64_t>{1, 1}).is_ok());
  EXPECT_FALSE(train::remove_output_channels(m, fc, std::vector<int64_t>{0}).is_ok());
  EXPECT_EQ(weight(m, c1).shape(), (Shape{29, 1, 3, 3}));
}

// Conv-BN-ReLU, a residual Add, and a GlobalAveragePool head. Channels zeroed through BatchNorm
// (gamma = beta = 0) are found by bn-gamma and removed without changing outputs; Convs feeding the Add
// are left alone; the model still loads and runs.
TEST(ChannelPrune, BatchNormResidualAndPoolingHead) {
  std::mt19937 rng(7);
  std::normal_distribution<float> n01;
  auto rnd = [&](Shape s, float scale) {
    std::vector<float> v(static_cast<size_t>(shape_numel(s)));
    for (float& x : v) x = scale * n01(rng);
    return test::F(std::move(s), v);
  };
  auto positive = [&](int64_t n) {
    std::vector<float> v(static_cast<size_t>(n));
    for (float& x : v) x = 0.5f + std::fabs(n01(rng));
    return test::F({n}, v);
  };
  test::GraphBuilder b;
  const std::string x = b.input("x", {-1, 3, 8, 8});
  std::string h =
      b.node("Conv", {x, b.constant("w0", rnd({6, 3, 3, 3}, 0.3f)), b.constant("b0", rnd({6}, 0.1f))},
             {{"pads", std::vector<int64_t>{1, 1, 1, 1}}});
  h = b.node("BatchNormalization", {h, b.constant("g0", positive(6)), b.constant("be0", rnd({6}, 0.1f)),
                                    b.constant("m0", rnd({6}, 0.1f)), b.constant("v0", positive(6))});
  h = b.node("Relu", {h});
  std::string r1 = b.node("Conv", {h, b.constant("w1", rnd({8, 6, 3, 3}, 0.2f))},
                          {{"pads", std::vector<int64_t>{1, 1, 1, 1}}});
  r1 = b.node("Relu", {r1});
  std::string r2 = b.node("Conv", {r1, b.constant("w2", rnd({8, 8, 1, 1}, 0.3f))});
  r2 = b.node("Relu", {r2});
  h = b.node("Add", {r2, r1});
  h = b.node("Conv", {h, b.constant("w3", rnd({4, 8, 1, 1}, 0.3f)), b.constant("b3", rnd({4}, 0.1f))});
  h = b.node("MaxPool", {h},
             {{"kernel_shape", std::vector<int64_t>{2, 2}}, {"strides", std::vector<int64_t>{2, 2}}});
  h = b.node("GlobalAveragePool", {h});
  h = b.node("Flatten", {h});
  h = b.node("Gemm", {h, b.constant("fc", rnd({5, 4}, 0.5f)), b.constant("fcb", rnd({5}, 0.1f))},
             {{"transB", int64_t{1}}});
  b.output(h, {-1, 5});
  auto m = onnx_io::load_model_from_bytes(b.bytes(), "test", "").value();
  // Channels 1 and 4 of the first block are dead after BatchNorm.
  const ir::NodeId bn = find_node(m.graph, OpId::BatchNormalization, 0);
  for (size_t in : {1u, 2u}) {
    const ir::ValueId v = m.graph.nodes[static_cast<size_t>(bn)].input(in);
    Tensor t = m.graph.value(v).constant->clone().value();
    t.data<float>()[1] = t.data<float>()[4] = 0.f;
    m.graph.value(v).constant = std::make_shared<const Tensor>(std::move(t));
  }
  const Tensor x_val = rnd({2, 3, 8, 8}, 1.f);
  const std::vector<float> before = run_model(m, x_val);

  auto result =
      train::prune_channels(m, {.ratio = 0.34, .criterion = train::ChannelCriterion::kBnGamma}).value();
  ASSERT_EQ(result.size(), 4u);
  EXPECT_EQ(result[0].channels_after, 4);  // floor(0.34 * 6) = 2 removed: the dead ones (gamma 0)
  EXPECT_TRUE(result[0].skipped.empty());
  for (size_t i : {1u, 2u}) {
    EXPECT_NE(result[i].skipped.find("Add"), std::string::npos) << result[i].skipped;
    EXPECT_EQ(result[i].channels_after, 8);
  }
  EXPECT_NE(result[3].skipped.find("BatchNormalization"), std::string::npos) << result[3].skipped;
  EXPECT_EQ(weight(m, find_node(m.graph, OpId::Conv, 1)).shape(), (Shape{8, 4, 3, 3}));
  for (size_t in = 1; in < 5; ++in) EXPECT_EQ(weight(m, bn, in).shape(), (Shape{4}));
  expect_close(before, run_model(m, x_val));
  // `verge prune --fold-bn`: the sliced BatchNorm folds into the pruned Conv with the same outputs.
  ir::Model folded = m;
  EXPECT_EQ(opt::fold_batch_norm(folded.graph), 1);
  expect_close(before, run_model(folded, x_val));

  // L1 then prunes the pooling head too: shapes stay consistent and the model runs.
  result = train::prune_channels(m, {.ratio = 0.5}).value();
  EXPECT_EQ(result[3].channels_after, 2);
  EXPECT_EQ(weight(m, find_node(m.graph, OpId::Gemm, 0)).shape(), (Shape{5, 2}));
  EXPECT_EQ(run_model(m, x_val).size(), 10u);
  EXPECT_FALSE(train::prune_channels(m, {.ratio = 1.0}).is_ok());
}

using test::last_json;  // verge_cli.h
using test::verge_cli;

TEST(Prune, CliMagnitudeAndChannels) {
  const auto dir = std::filesystem::temp_directory_path();
  const std::string out = (dir / "verge_prune_cli_test.onnx").string();
  const std::string data = test::test_data("fmnist-sample");
  auto [code, text] =
      verge_cli("prune " + test::test_data("fmnist_cnn.onnx") + " --data " + data +
                " --split test --limit 320 --epochs 2 --batch-size 32 --optimizer adam --lr 0.0005"
                " --end-step 12 --frequency 4 --threads 2 --json -o " +
                out);
  ASSERT_EQ(code, 0) << text;
  const auto j = last_json(text);
  EXPECT_EQ(j["mode"], "magnitude");
  EXPECT_EQ(j["layers"].size(), 4u);
  EXPECT_GE(j["total"]["sparsity"].get<double>(), 0.895);
  EXPECT_EQ(j["mask_updates"].get<int>(), 4);
  // The saved file holds the exact zeros the report counted.
  auto saved = onnx_io::load_model(out).value();
  int64_t zeros = 0;
  for (const auto& s : train::sparsity_report(saved)) zeros += s.zeros;
  EXPECT_EQ(zeros, j["total"]["zeros"].get<int64_t>());
  auto [ecode, etext] = verge_cli("eval " + out + " --data " + data + " --json");
  ASSERT_EQ(ecode, 0) << etext;
  EXPECT_GT(last_json(etext)["top1"].get<double>(), 0.5) << etext;

  auto [ccode, ctext] = verge_cli("prune " + test::test_data("fmnist_cnn.onnx") +
                                  " --structured channels --ratio 0.5"
                                  " --data " +
                                  data +
                                  " --split test --limit 256 --epochs 1 --batch-size 32"
                                  " --optimizer adam --lr 0.0005 --json -o " +
                                  out);
  ASSERT_EQ(ccode, 0) << ctext;
  const auto c = last_json(ctext);
  EXPECT_EQ(c["layers"][0]["channels_after"].get<int>(), 16);
  EXPECT_EQ(c["layers"][1]["channels_after"].get<int>(), 32);
  EXPECT_LT(c["params_after"].get<int64_t>() * 19, c["params_before"].get<int64_t>() * 10);
  EXPECT_EQ(c["epochs"].size(), 1u);
  std::tie(ecode, etext) = verge_cli("eval " + out + " --data " + data + " --json");
  ASSERT_EQ(ecode, 0) << etext;
  EXPECT_GT(last_json(etext)["top1"].get<double>(), 0.3) << etext;

  auto [bad, btext] = verge_cli("prune " + test::test_data("fmnist_cnn.onnx") + " --data " + data +
                                " --final-sparsity 1.5 -o " + out);
  EXPECT_NE(bad, 0);
  EXPECT_NE(btext.find("final sparsity"), std::string::npos) << btext;
  std::filesystem::remove(out);
}

}  // namespace
}  // namespace verge
