// The shared dataset loader (src/io/dataset.h): real Fashion-MNIST images written as an image folder give
// the IDX path's tensors, calibration and `verge eval` results; the preprocessing arithmetic on small
// synthetic images against hand-computed values; bad input refused with errors naming the problem.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "io/dataset.h"
#include "io/idx.h"
#include "io/npy.h"
#include "op_test.h"
#include "verge_cli.h"

namespace verge {
namespace {
namespace fs = std::filesystem;

const std::string kFashion = "/usr/share/datasets/fashion-mnist";
constexpr int64_t kImages = 300;

fs::path fresh_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / fmt::format("verge_dataset_{}_{}", name, ::getpid());
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

IoInfo input_of(std::vector<int64_t> shape) {
  IoInfo in;
  in.name = "x";
  in.dtype = DType::kFloat32;
  in.shape = std::move(shape);
  in.has_shape = true;
  return in;
}

Result<LabeledImages> load(const fs::path& path, const std::string& preprocess, const IoInfo* input,
                           const std::string& split = "train", int64_t limit = 0) {
  VERGE_ASSIGN_OR_RETURN(Preprocess pre, parse_preprocess(preprocess));
  return load_dataset(path.string(), {.split = split, .limit = limit, .preprocess = pre, .input = input});
}

std::string error_of(const Result<LabeledImages>& r) {
  return r.is_ok() ? "(loaded)" : r.status().to_string();
}

// The first kImages images of the Fashion-MNIST test split as PNG files DIR/test/class<label>/<index>.png,
// all ten class folders present (so a folder's position is its IDX label). Written once per test program.
struct FashionFolder {
  fs::path dir;
  FashionFolder() {
    if (!fs::exists(kFashion)) return;
    auto images = read_idx(kFashion + "/t10k-images-idx3-ubyte.gz");
    auto labels = read_idx(kFashion + "/t10k-labels-idx1-ubyte.gz");
    if (!images.is_ok() || !labels.is_ok()) return;
    const fs::path d = fresh_dir("fmnist");
    for (int c = 0; c < 10; ++c) fs::create_directories(d / "test" / fmt::format("class{}", c));
    for (int64_t i = 0; i < kImages; ++i) {
      const cv::Mat img(28, 28, CV_8UC1, images->data.data() + i * 784);
      const fs::path p = d / "test" / fmt::format("class{}", labels->data[static_cast<size_t>(i)]) /
                         fmt::format("{:05}.png", i);
      if (!cv::imwrite(p.string(), img)) return;
    }
    dir = d;
  }
  ~FashionFolder() {
    if (!dir.empty()) fs::remove_all(dir);
  }
};

const fs::path& fashion_folder() {
  static const FashionFolder folder;
  return folder.dir;
}

#define ASSERT_FASHION_FOLDER()                                                               \
  ASSERT_FALSE(fashion_folder().empty()) << kFashion << " is missing or unreadable: install " \
                                         << "dataset-fashion-mnist (scripts/test.sh does)"

TEST(DatasetFolder, IdentityPreprocessingGivesTheIdxTensors) {
  ASSERT_FASHION_FOLDER();
  const IoInfo in = input_of({-1, 1, 28, 28});
  auto idx = load(kFashion, "", &in, "test", kImages);
  auto folder = load(fashion_folder(), "", &in, "test");
  ASSERT_TRUE(idx.is_ok()) << error_of(idx);
  ASSERT_TRUE(folder.is_ok()) << error_of(folder);
  ASSERT_EQ(folder->images.shape(), (Shape{kImages, 1, 28, 28}));
  ASSERT_EQ(folder->labels.size(), static_cast<size_t>(kImages));
  // The folder's order: class folders sorted, then file names (= IDX indices) sorted.
  std::vector<size_t> order(kImages);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return idx->labels[a] < idx->labels[b]; });
  int64_t differing = 0;
  for (size_t k = 0; k < order.size(); ++k) {
    EXPECT_EQ(folder->labels[k], idx->labels[order[k]]) << k;
    differing += std::memcmp(folder->images.data<float>() + k * 784,
                             idx->images.data<float>() + order[k] * 784, 784 * sizeof(float)) != 0;
  }
  EXPECT_EQ(differing, 0);
  // The defaults spelled out give the same bytes; --calib-size N keeps the first N in that order.
  auto spelled =
      load(fashion_folder(), "resize=28x28,color=gray,layout=nchw,scale=1/255,mean=0,std=1", &in, "test");
  ASSERT_TRUE(spelled.is_ok()) << error_of(spelled);
  EXPECT_EQ(
      std::memcmp(spelled->images.data<float>(), folder->images.data<float>(), kImages * 784 * sizeof(float)),
      0);
  auto first = load(fashion_folder(), "", &in, "test", 7);
  ASSERT_TRUE(first.is_ok()) << error_of(first);
  EXPECT_EQ(first->images.dim(0), 7);
  EXPECT_EQ(std::memcmp(first->images.data<float>(), folder->images.data<float>(), 7 * 784 * sizeof(float)),
            0);
  // A rank-3 model input [N, H, W] gets the same pixels without the channel axis, as from IDX.
  const IoInfo in3 = input_of({-1, 28, 28});
  auto rank3 = load(fashion_folder(), "", &in3, "test", 5);
  ASSERT_TRUE(rank3.is_ok()) << error_of(rank3);
  EXPECT_EQ(rank3->images.shape(), (Shape{5, 28, 28}));
  EXPECT_EQ(std::memcmp(rank3->images.data<float>(), folder->images.data<float>(), 5 * 784 * sizeof(float)),
            0);
}

// minmax ranges do not depend on the order of the samples, so the same 300 images in folder order must
// give the same QDQ model byte for byte. (The histogram methods' range refinement is order-dependent.)
TEST(DatasetCli, QuantizeCalibratedOnTheFolderEqualsTheIdxSource) {
  ASSERT_FASHION_FOLDER();
  const fs::path dir = fresh_dir("quantize");
  const std::string model = test::test_data("fmnist_cnn.onnx");
  const auto run = [&](const std::string& name, const std::string& calib) {
    return test::verge_cli(
        fmt::format("quantize {} -o {} --calib {} --calib-split test --calib-size {} --report {}", model,
                    (dir / (name + ".onnx")).string(), calib, kImages, (dir / (name + ".json")).string()));
  };
  auto [icode, itext] = run("idx", kFashion);
  ASSERT_EQ(icode, 0) << itext;
  auto [fcode, ftext] = run("folder", fashion_folder().string());
  ASSERT_EQ(fcode, 0) << ftext;
  EXPECT_NE(ftext.find("image folder"), std::string::npos) << ftext;
  EXPECT_NE(ftext.find("300 images in 10 classes"), std::string::npos) << ftext;
  EXPECT_NE(ftext.find("decode [==="), std::string::npos) << ftext;  // the decoding progress bar
  const auto bytes = [&](const std::string& f) {
    std::ifstream s(dir / f, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(s), {});
  };
  const std::string a = bytes("idx.onnx"), b = bytes("folder.onnx");
  EXPECT_FALSE(a.empty());
  EXPECT_TRUE(a == b) << "the QDQ models differ";
  const nlohmann::json ja = nlohmann::json::parse(bytes("idx.json")),
                       jb = nlohmann::json::parse(bytes("folder.json"));
  ASSERT_EQ(ja["tensors"].size(), jb["tensors"].size());
  for (size_t i = 0; i < ja["tensors"].size(); ++i) {
    EXPECT_EQ(ja["tensors"][i]["range"], jb["tensors"][i]["range"]) << ja["tensors"][i]["tensor"];
    EXPECT_EQ(ja["tensors"][i]["scale"], jb["tensors"][i]["scale"]) << ja["tensors"][i]["tensor"];
  }
  EXPECT_EQ(jb["calibration_samples"], kImages);
  fs::remove_all(dir);
}

// Batch 1 so every image is computed alone, whatever its position: the same top-1/top-5 counts.
TEST(DatasetCli, EvalOnTheFolderEqualsTheIdxSource) {
  ASSERT_FASHION_FOLDER();
  const std::string model = test::test_data("fmnist_cnn.onnx");
  auto [icode, itext] = test::verge_cli(
      fmt::format("eval {} --data {} --split test --limit {} --batch 1 --json", model, kFashion, kImages));
  ASSERT_EQ(icode, 0) << itext;
  auto [fcode, ftext] = test::verge_cli(
      fmt::format("eval {} --data {} --split test --batch 1 --json", model, fashion_folder().string()));
  ASSERT_EQ(fcode, 0) << ftext;
  const nlohmann::json i = test::last_json(itext), f = test::last_json(ftext);
  EXPECT_EQ(f["samples"], kImages);
  EXPECT_EQ(f["top1"], i["top1"]);
  EXPECT_EQ(f["top5"], i["top5"]);
  EXPECT_GT(f["top1"].get<double>(), 0.8);  // the model is a classifier: the labels line up
}

TEST(DatasetCli, BadInputIsAnErrorNamingTheProblem) {
  ASSERT_FASHION_FOLDER();
  const std::string model = test::test_data("fmnist_cnn.onnx"), folder = fashion_folder().string();
  auto [pcode, ptext] =
      test::verge_cli(fmt::format("eval {} --data {} --preprocess mean=0.1/x", model, folder));
  EXPECT_EQ(pcode, 2) << ptext;
  EXPECT_NE(ptext.find("mean='0.1/x'"), std::string::npos) << ptext;
  const fs::path dir = fresh_dir("cli_errors");
  auto [ccode, ctext] =
      test::verge_cli(fmt::format("quantize {} -o {} --calib {} --calib-split test --preprocess color=rgb",
                                  model, (dir / "q.onnx").string(), folder));
  EXPECT_EQ(ccode, 2) << ctext;
  EXPECT_NE(ctext.find("channel mismatch"), std::string::npos) << ctext;
  // .npy samples carry no labels: eval says so instead of scoring nothing.
  std::vector<float> zeros(2 * 784, 0.f);
  auto t = Tensor::wrap(DType::kFloat32, {2, 1, 28, 28}, zeros.data());
  ASSERT_TRUE(write_npy(t, (dir / "x.npy").string()).is_ok());
  auto [ncode, ntext] = test::verge_cli(fmt::format("eval {} --data {}", model, dir.string()));
  EXPECT_NE(ncode, 0) << ntext;
  EXPECT_NE(ntext.find("no class labels"), std::string::npos) << ntext;
  fs::remove_all(dir);
}

// ---- preprocessing arithmetic on synthetic images ----

// 4 x 8 pixels; channel offset o: v(y, x) = 8 * b + 2 * (2 * (y % 2) + x % 2) + o with b = the 2x2 block's
// index (y / 2) * 4 + x / 2, so every 2x2 block averages exactly to 8 * b + 3 + o (area resampling of
// uint8 rounds (sum + 2) / 4, exact here).
int pixel(int y, int x, int o) { return 8 * ((y / 2) * 4 + x / 2) + 2 * (2 * (y % 2) + x % 2) + o; }
int block_mean(int by, int bx, int o) { return 8 * (by * 4 + bx) + 3 + o; }

void write_rgb(const fs::path& p) {
  cv::Mat img(4, 8, CV_8UC3);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 8; ++x)
      img.at<cv::Vec3b>(y, x) = {static_cast<uint8_t>(pixel(y, x, 128)),  // B
                                 static_cast<uint8_t>(pixel(y, x, 64)),   // G
                                 static_cast<uint8_t>(pixel(y, x, 0))};   // R
  ASSERT_TRUE(cv::imwrite(p.string(), img));
}

TEST(DatasetPreprocess, ResizeCropNormalizeLayoutByHand) {
  const fs::path dir = fresh_dir("synthetic");
  fs::create_directories(dir / "only");
  write_rgb(dir / "only" / "a.png");
  const float mean[3] = {0.5f, 0.25f, 0.125f}, stdev[3] = {0.5f, 0.25f, 2.f};
  const int offset[3] = {0, 64, 128};  // R, G, B
  // resize=2: the shorter side 4 -> 2, the longer 8 -> 4 (area: block means); crop=2: rows 0-1, columns
  // 1-2 (offset round((4 - 2) / 2) = 1).
  const auto expected = [&](int c, int y, int x) {
    return (static_cast<float>(block_mean(y, x + 1, offset[c])) / 255.f - mean[c]) / stdev[c];
  };
  const std::string norm = "mean=0.5/0.25/0.125,std=0.5/0.25/2";
  auto nchw = load(dir, "resize=2,crop=2," + norm, nullptr);
  ASSERT_TRUE(nchw.is_ok()) << error_of(nchw);
  ASSERT_EQ(nchw->images.shape(), (Shape{1, 3, 2, 2}));
  auto nhwc = load(dir, "resize=2,crop=2,layout=nhwc," + norm, nullptr);
  ASSERT_TRUE(nhwc.is_ok()) << error_of(nhwc);
  ASSERT_EQ(nhwc->images.shape(), (Shape{1, 2, 2, 3}));
  auto bgr = load(dir, "resize=2,crop=2,color=bgr,mean=0.125/0.25/0.5,std=2/0.25/0.5", nullptr);
  ASSERT_TRUE(bgr.is_ok()) << error_of(bgr);
  // The model input [N, 2, 2, 3] implies NHWC, RGB and (with resize=S) the 2x2 center crop.
  const IoInfo hwc = input_of({-1, 2, 2, 3});
  auto implied = load(dir, "resize=2," + norm, &hwc);
  ASSERT_TRUE(implied.is_ok()) << error_of(implied);
  ASSERT_EQ(implied->images.shape(), (Shape{1, 2, 2, 3}));
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 2; ++y)
      for (int x = 0; x < 2; ++x) {
        const float e = expected(c, y, x);
        EXPECT_NEAR(nchw->images.data<float>()[(c * 2 + y) * 2 + x], e, 1e-6) << c << y << x;
        EXPECT_NEAR(nhwc->images.data<float>()[(y * 2 + x) * 3 + c], e, 1e-6) << c << y << x;
        EXPECT_NEAR(bgr->images.data<float>()[((2 - c) * 2 + y) * 2 + x], e, 1e-6) << c << y << x;
        EXPECT_NEAR(implied->images.data<float>()[(y * 2 + x) * 3 + c], e, 1e-6) << c << y << x;
      }
  fs::remove_all(dir);
}

TEST(DatasetPreprocess, DefaultsFollowTheModelInput) {
  const fs::path dir = fresh_dir("defaults");
  fs::create_directories(dir / "only");
  cv::Mat gray(4, 8, CV_8UC1);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 8; ++x) gray.at<uint8_t>(y, x) = static_cast<uint8_t>(pixel(y, x, 0));
  ASSERT_TRUE(cv::imwrite((dir / "only" / "g.png").string(), gray));
  // [N, 1, 2, 4]: one channel, resized to the model's 2 x 4 (block means), pixels / 255.
  const IoInfo in = input_of({-1, 1, 2, 4});
  auto d = load(dir, "", &in);
  ASSERT_TRUE(d.is_ok()) << error_of(d);
  ASSERT_EQ(d->images.shape(), (Shape{1, 1, 2, 4}));
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 4; ++x)
      EXPECT_FLOAT_EQ(d->images.data<float>()[y * 4 + x], static_cast<float>(block_mean(y, x, 0)) / 255.f);
  // A 3-channel model decodes RGB (a gray file's channel repeated); a symbolic size keeps the file's.
  const IoInfo rgb = input_of({-1, 3, -1, -1});
  auto r = load(dir, "scale=1", &rgb);
  ASSERT_TRUE(r.is_ok()) << error_of(r);
  ASSERT_EQ(r->images.shape(), (Shape{1, 3, 4, 8}));
  EXPECT_EQ(r->images.data<float>()[2 * 32 + 3 * 8 + 5], static_cast<float>(pixel(3, 5, 0)));
  // crop=HxW is centered like torchvision's CenterCrop: offset round(1.5) = 2, round(2.5) = 2.
  auto c = load(dir, "color=gray,scale=1,crop=1x5", nullptr);
  ASSERT_TRUE(c.is_ok()) << error_of(c);
  ASSERT_EQ(c->images.shape(), (Shape{1, 1, 1, 5}));
  EXPECT_EQ(c->images.data<float>()[0], static_cast<float>(pixel(2, 2, 0)));
  auto c2 = load(dir, "color=gray,scale=1,crop=1x3", nullptr);
  ASSERT_TRUE(c2.is_ok()) << error_of(c2);
  EXPECT_EQ(c2->images.data<float>()[0], static_cast<float>(pixel(2, 2, 0)));
  fs::remove_all(dir);
}

// ---- errors ----

TEST(DatasetPreprocess, MalformedSpecNamesTheKey) {
  EXPECT_TRUE(parse_preprocess("resize=256,crop=224,mean=0.485/0.456/0.406,std=0.229/0.224/0.225,layout=nchw,"
                               "color=rgb,scale=1/255")
                  .is_ok());
  for (const auto& [spec, key] :
       std::vector<std::pair<std::string, std::string>>{{"resize=abc", "resize="},
                                                        {"resize=0x4", "resize="},
                                                        {"crop=3x", "crop="},
                                                        {"mean=0.5/x", "mean="},
                                                        {"std=0", "std="},
                                                        {"std=1/-1", "std="},
                                                        {"layout=chw", "layout="},
                                                        {"color=hsv", "color="},
                                                        {"scale=1/0", "scale="},
                                                        {"scale=abc", "scale="},
                                                        {"sharpen=1", "'sharpen'"},
                                                        {"gray", "'gray'"},
                                                        {"resize=2,resize=3", "resize given twice"},
                                                        {"mean=", "'mean='"}}) {
    auto p = parse_preprocess(spec);
    ASSERT_FALSE(p.is_ok()) << spec;
    EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument) << spec;
    EXPECT_NE(p.status().message().find(key), std::string::npos) << spec << ": " << p.status().to_string();
  }
}

TEST(DatasetFolderErrors, RefusedWithTheProblemNamed) {
  const fs::path dir = fresh_dir("errors");
  const IoInfo gray28 = input_of({-1, 1, 28, 28});
  // An empty directory, and class folders without images.
  auto empty = load(dir, "", &gray28);
  EXPECT_EQ(empty.status().code(), StatusCode::kNotFound) << error_of(empty);
  fs::create_directories(dir / "cat");
  auto no_images = load(dir, "", &gray28);
  EXPECT_EQ(no_images.status().code(), StatusCode::kNotFound) << error_of(no_images);
  EXPECT_NE(error_of(no_images).find("no image files"), std::string::npos) << error_of(no_images);
  // Undecodable files: named.
  cv::Mat img(28, 28, CV_8UC1, cv::Scalar(7));
  ASSERT_TRUE(cv::imwrite((dir / "cat" / "a.png").string(), img));
  { std::ofstream(dir / "cat" / "broken.png", std::ios::binary) << "\x89PNG\r\n\x1a\nbroken"; }
  auto broken = load(dir, "", &gray28);
  EXPECT_NE(error_of(broken).find("broken.png: cannot decode"), std::string::npos) << error_of(broken);
  fs::remove(dir / "cat" / "broken.png");
  ASSERT_TRUE(load(dir, "", &gray28).is_ok());
  // Channels the model does not take, a model input images cannot feed.
  auto rgb = load(dir, "color=rgb", &gray28);
  EXPECT_NE(error_of(rgb).find("channel mismatch: color=rgb gives 3 channel(s), model input 'x'"),
            std::string::npos)
      << error_of(rgb);
  const IoInfo two = input_of({-1, 2, 28, 28});
  EXPECT_NE(error_of(load(dir, "", &two)).find("image folders give 1 or 3"), std::string::npos);
  const IoInfo flat = input_of({-1, 784});
  EXPECT_NE(error_of(load(dir, "", &flat)).find("has rank 2"), std::string::npos);
  // mean/std counts, a crop larger than the image, a size the model does not take.
  EXPECT_NE(error_of(load(dir, "color=rgb,mean=0.1/0.2", nullptr)).find("mean: 2 values for 3 channel(s)"),
            std::string::npos);
  EXPECT_NE(error_of(load(dir, "crop=30", &gray28)).find("a.png: crop 30x30 is larger"), std::string::npos);
  EXPECT_NE(error_of(load(dir, "resize=14x14", &gray28))
                .find("a.png: 14x14 after preprocessing, the model takes 28x28"),
            std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace verge
