// Real architectures (torchvision exports made by scripts/export_models.py at set-up time) and the trained
// Fashion-MNIST CNN: Verge's outputs against PyTorch's, with the best kernels, the reference kernels,
// 2 threads, and after an export -> import round trip (which must reproduce the outputs exactly).
#include <gtest/gtest.h>

#include <filesystem>

#include "core/compare.h"
#include "import/onnx/importer.h"
#include "io/idx.h"
#include "io/npy.h"
#include "op_test.h"
#include "runtime/session_impl.h"

namespace verge {
namespace {
namespace fs = std::filesystem;

const char* const kArchitectures[] = {"mobilenet_v2",       "resnet18",        "squeezenet1_1",
                                      "shufflenet_v2_x1_0", "efficientnet_b0", "mobilenet_v3_small"};

Result<Tensor> run_model(const ir::Model& model, const Tensor& x, SessionOptions so) {
  VERGE_ASSIGN_OR_RETURN(std::unique_ptr<Session> s, make_session(model, so));
  VERGE_ASSIGN_OR_RETURN(std::span<const Tensor> out, s->run({x}));
  return out[0].clone();
}

class Architecture : public ::testing::TestWithParam<const char*> {};

TEST_P(Architecture, MatchesPyTorch) {
  const fs::path dir = fs::path(VERGE_MODELS_DIR) / GetParam();
  ASSERT_TRUE(fs::exists(dir / "model.onnx")) << dir << " is missing: run scripts/export_models.py (scripts/test.sh does)";
  auto model = onnx_io::load_model((dir / "model.onnx").string());
  ASSERT_TRUE(model.is_ok()) << model.status().to_string();
  auto x = read_npy((dir / "input.npy").string());
  auto expected = read_npy((dir / "output.npy").string());
  ASSERT_TRUE(x.is_ok() && expected.is_ok());

  struct Config {
    const char* name;
    bool reference;
    int threads;
    OptLevel level;
  };
  Tensor best;
  for (Config cfg : {Config{"optimized graph, best kernels", false, 1, OptLevel::kAll},
                     Config{"unoptimized graph, reference kernels", true, 1, OptLevel::kNone},
                     Config{"optimized graph, reference kernels", true, 1, OptLevel::kAll},
                     Config{"optimized graph, best kernels, 2 threads", false, 2, OptLevel::kAll}}) {
    SessionOptions so;
    so.reference_kernels = cfg.reference;
    so.threads = cfg.threads;
    so.optimization = cfg.level;
    auto y = run_model(*model, *x, so);
    ASSERT_TRUE(y.is_ok()) << cfg.name << ": " << y.status().to_string();
    Comparison c = compare_relative_to_max(*y, *expected, 1e-4);
    EXPECT_TRUE(c.ok) << GetParam() << " (" << cfg.name << ") vs PyTorch: " << c.message;
    if (!cfg.reference && cfg.threads == 1) best = std::move(y).value();
  }
  auto bytes = onnx_io::save_model_to_bytes(*model);
  ASSERT_TRUE(bytes.is_ok());
  auto again = onnx_io::load_model_from_bytes(*bytes, "roundtrip.onnx", dir.string());
  ASSERT_TRUE(again.is_ok()) << again.status().to_string();
  auto y2 = run_model(*again, *x, SessionOptions{});
  ASSERT_TRUE(y2.is_ok()) << y2.status().to_string();
  Comparison same = compare_tensors(*y2, best, 0, 0);
  EXPECT_TRUE(same.ok) << "export -> import changed the outputs: " << same.message;
}

INSTANTIATE_TEST_SUITE_P(Torchvision, Architecture, ::testing::ValuesIn(kArchitectures),
                         [](const auto& info) { return std::string(info.param); });

// The trained Fashion-MNIST CNN on the full 10,000-image test split: PyTorch and ONNX Runtime give
// top-1 0.9074 (9,074 correct).
TEST(FashionMnist, TestSplitAccuracyMatchesPyTorch) {
  const std::string data = "/usr/share/datasets/fashion-mnist";
  ASSERT_TRUE(fs::exists(data)) << data << " is missing: install dataset-fashion-mnist (scripts/test.sh does)";
  auto ds = load_idx_dataset(data, "test");
  ASSERT_TRUE(ds.is_ok()) << ds.status().to_string();
  for (bool reference : {false, true}) {
    SessionOptions so;
    so.reference_kernels = reference;
    auto s = Session::load(test::test_data("fmnist_cnn.onnx"), so);
    ASSERT_TRUE(s.is_ok()) << s.status().to_string();
    const int64_t n = ds->images.dim(0), batch = 500;
    int64_t correct = 0;
    for (int64_t b = 0; b < n; b += batch) {
      Tensor x = Tensor::wrap(DType::kFloat32, {batch, 1, 28, 28}, ds->images.data<float>() + b * 784);
      auto out = (*s)->run({x});
      ASSERT_TRUE(out.is_ok()) << out.status().to_string();
      const float* logits = (*out)[0].data<float>();
      for (int64_t i = 0; i < batch; ++i) {
        const float* row = logits + i * 10;
        correct += std::max_element(row, row + 10) - row == ds->labels[static_cast<size_t>(b + i)];
      }
    }
    EXPECT_EQ(correct, 9074) << (reference ? "reference" : "best") << " kernels: top-1 " << static_cast<double>(correct) / 1e4;
  }
}

}  // namespace
}  // namespace verge
