#include "train/data.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <set>

#include "io/npy.h"

namespace verge::train {
namespace fs = std::filesystem;
namespace {

bool is_integer(DType t) { return dtype_is_signed_int(t) || dtype_is_unsigned_int(t); }

bool is_image_file(const fs::path& p) {
  static const std::set<std::string> kExt = {".png", ".jpg", ".jpeg", ".bmp",  ".pgm",
                                             ".ppm", ".pnm", ".tif",  ".tiff", ".webp"};
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return kExt.contains(e);
}

std::vector<fs::path> class_folders(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_directory()) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

fs::path split_dir(const fs::path& dir, const std::string& split, const char* probe) {
  std::error_code ec;
  const fs::path sub = dir / split;
  if (probe ? fs::exists(sub / probe, ec) : fs::is_directory(sub, ec)) return sub;
  return dir;
}

Result<Tensor> to_float(const Tensor& t, const std::string& what) {
  if (t.dtype() == DType::kFloat32) return t;
  if (!dtype_is_float(t.dtype()) && !is_integer(t.dtype()))
    return Status::invalid_argument(
        fmt::format("{} has dtype {}; expected a numeric array", what, dtype_name(t.dtype())));
  VERGE_ASSIGN_OR_RETURN(Tensor f, Tensor::allocate(DType::kFloat32, t.shape()));
  for (int64_t i = 0; i < t.numel(); ++i) f.data<float>()[i] = static_cast<float>(t.get_as_double(i));
  return f;
}

Result<Tensor> first_rows(const Tensor& t, int64_t n) {
  if (n >= t.dim(0)) return t;
  Shape s = t.shape();
  const int64_t per = t.numel() / s[0];
  s[0] = n;
  VERGE_ASSIGN_OR_RETURN(Tensor out, Tensor::allocate(DType::kFloat32, s));
  std::memcpy(out.data<float>(), t.data<float>(), static_cast<size_t>(n * per) * sizeof(float));
  return out;
}

Result<LabeledImages> load_npy_pair(const fs::path& dir, const std::string& split, int64_t limit) {
  const fs::path d = split_dir(dir, split, "inputs.npy");
  VERGE_ASSIGN_OR_RETURN(Tensor raw_in, read_npy((d / "inputs.npy").string()));
  VERGE_ASSIGN_OR_RETURN(Tensor raw_labels, read_npy((d / "labels.npy").string()));
  if (raw_in.rank() < 2 || raw_in.dim(0) == 0)
    return Status::invalid_argument(fmt::format("{}: inputs must be [N, ...] with N >= 1, got {}",
                                                (d / "inputs.npy").string(),
                                                shape_to_string(raw_in.shape())));
  if (raw_labels.rank() < 1 || raw_labels.dim(0) != raw_in.dim(0))
    return Status::invalid_argument(fmt::format("{}: {} labels for {} inputs", (d / "labels.npy").string(),
                                                raw_labels.rank() ? raw_labels.dim(0) : 0, raw_in.dim(0)));
  const int64_t n = limit > 0 ? std::min(limit, raw_in.dim(0)) : raw_in.dim(0);
  LabeledImages out;
  VERGE_ASSIGN_OR_RETURN(Tensor inputs, to_float(raw_in, (d / "inputs.npy").string()));
  VERGE_ASSIGN_OR_RETURN(out.images, first_rows(inputs, n));
  if (is_integer(raw_labels.dtype())) {
    if (raw_labels.rank() != 1)
      return Status::invalid_argument(fmt::format("{}: integer labels must be [N], got {}",
                                                  (d / "labels.npy").string(),
                                                  shape_to_string(raw_labels.shape())));
    for (int64_t i = 0; i < n; ++i) {
      const double v = raw_labels.get_as_double(i);
      if (v < 0)
        return Status::invalid_argument(
            fmt::format("{}: label {} is negative", (d / "labels.npy").string(), v));
      out.labels.push_back(static_cast<int64_t>(v));
    }
  } else {
    VERGE_ASSIGN_OR_RETURN(Tensor targets, to_float(raw_labels, (d / "labels.npy").string()));
    VERGE_ASSIGN_OR_RETURN(out.targets, first_rows(targets, n));
  }
  return out;
}

Result<LabeledImages> load_image_folder(const fs::path& dir, const std::string& split, int64_t limit,
                                        const Preprocess& pre) {
  const fs::path d = split_dir(dir, split, nullptr);
  const std::vector<fs::path> classes = class_folders(d);
  std::vector<std::pair<fs::path, int64_t>> files;
  for (size_t c = 0; c < classes.size(); ++c) {
    std::vector<fs::path> in_class;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(classes[c], ec))
      if (e.is_regular_file() && is_image_file(e.path())) in_class.push_back(e.path());
    std::sort(in_class.begin(), in_class.end());
    for (const auto& f : in_class) files.emplace_back(f, static_cast<int64_t>(c));
  }
  if (files.empty()) return Status::not_found(fmt::format("{}: no images in class subfolders", d.string()));
  if (limit > 0 && static_cast<int64_t>(files.size()) > limit) files.resize(static_cast<size_t>(limit));
  const int channels = pre.gray ? 1 : 3;
  for (const auto* v : {&pre.mean, &pre.std})
    if (!v->empty() && v->size() != 1 && v->size() != static_cast<size_t>(channels))
      return Status::invalid_argument(fmt::format("--preprocess mean/std need 1 or {} values", channels));
  const auto per_channel = [](const std::vector<float>& v, int c, float def) {
    return v.empty() ? def : v[v.size() == 1 ? 0 : static_cast<size_t>(c)];
  };
  LabeledImages out;
  int64_t h = pre.height, w = pre.width;
  std::vector<float> pixels;
  for (const auto& [path, label] : files) {
    cv::Mat img = cv::imread(path.string(), pre.gray ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR);
    if (img.empty())
      return Status::invalid_argument(fmt::format("{}: cannot decode the image", path.string()));
    if (!pre.gray) cv::cvtColor(img, img, cv::COLOR_BGR2RGB);
    if (h == 0) h = img.rows, w = img.cols;
    if (img.rows != h || img.cols != w) {
      if (pre.height == 0)
        return Status::invalid_argument(
            fmt::format("{} is {}x{}, earlier images are {}x{}; give --preprocess size=HxW", path.string(),
                        img.rows, img.cols, h, w));
      cv::resize(img, img, cv::Size(static_cast<int>(w), static_cast<int>(h)), 0, 0,
                 img.rows > h || img.cols > w ? cv::INTER_AREA : cv::INTER_LINEAR);
    }
    cv::Mat f;
    img.convertTo(f, CV_32F, img.depth() == CV_16U ? 1.0 / 65535 : 1.0 / 255);
    for (int c = 0; c < channels; ++c) {
      const float m = per_channel(pre.mean, c, 0.f), s = per_channel(pre.std, c, 1.f);
      for (int64_t y = 0; y < h; ++y) {
        const float* row = f.ptr<float>(static_cast<int>(y));
        for (int64_t x = 0; x < w; ++x) pixels.push_back((row[x * channels + c] - m) / s);
      }
    }
    out.labels.push_back(label);
  }
  VERGE_ASSIGN_OR_RETURN(
      out.images, Tensor::allocate(DType::kFloat32, {static_cast<int64_t>(files.size()), channels, h, w}));
  std::memcpy(out.images.data<float>(), pixels.data(), pixels.size() * sizeof(float));
  return out;
}

Result<std::vector<float>> parse_floats(const std::string& s, const std::string& part) {
  std::vector<float> v;
  size_t start = 0;
  while (true) {
    const size_t colon = s.find(':', start);
    const std::string item = s.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    char* end = nullptr;
    const float f = std::strtof(item.c_str(), &end);
    if (item.empty() || *end != '\0' || !std::isfinite(f))
      return Status::invalid_argument(fmt::format("--preprocess '{}': '{}' is not a number", part, item));
    v.push_back(f);
    if (colon == std::string::npos) return v;
    start = colon + 1;
  }
}

}  // namespace

Result<Preprocess> parse_preprocess(const std::string& spec) {
  Preprocess p;
  size_t start = 0;
  while (!spec.empty()) {
    const size_t comma = spec.find(',', start);
    const std::string part =
        spec.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (part == "gray") {
      p.gray = true;
    } else if (part.rfind("size=", 0) == 0) {
      long long hh = 0, ww = 0;
      char x = 0, extra = 0;
      if (std::sscanf(part.c_str() + 5, "%lld%c%lld%c", &hh, &x, &ww, &extra) != 3 || x != 'x' || hh < 1 ||
          ww < 1 || hh > 16384 || ww > 16384)
        return Status::invalid_argument(fmt::format("--preprocess '{}': expected size=HxW", part));
      p.height = hh, p.width = ww;
    } else if (part.rfind("mean=", 0) == 0) {
      VERGE_ASSIGN_OR_RETURN(p.mean, parse_floats(part.substr(5), part));
    } else if (part.rfind("std=", 0) == 0) {
      VERGE_ASSIGN_OR_RETURN(p.std, parse_floats(part.substr(4), part));
      for (float s : p.std)
        if (!(s > 0.f))
          return Status::invalid_argument(fmt::format("--preprocess '{}': std must be > 0", part));
    } else {
      return Status::invalid_argument(
          fmt::format("--preprocess: unknown part '{}' (size=HxW, gray, mean=, std=)", part));
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return p;
}

Result<std::string> detect_layout(const std::string& dir, const std::string& split) {
  std::error_code ec;
  const fs::path d(dir);
  if (!fs::is_directory(d, ec)) return Status::not_found(fmt::format("{} is not a directory", dir));
  const std::string prefix = split == "test" ? "t10k" : "train";
  for (const char* ext : {"", ".gz"})
    if (fs::exists(d / (prefix + "-images-idx3-ubyte" + ext), ec)) return std::string("idx");
  if (fs::exists(split_dir(d, split, "inputs.npy") / "inputs.npy", ec)) return std::string("npy");
  if (!class_folders(split_dir(d, split, nullptr)).empty()) return std::string("images");
  return Status::not_found(
      fmt::format("{}: no IDX files ({}-images-idx3-ubyte), no inputs.npy/labels.npy and no class subfolders",
                  dir, prefix));
}

Result<LabeledImages> load_training_data(const std::string& dir, const std::string& split, int64_t limit,
                                         const Preprocess& preprocess) {
  VERGE_ASSIGN_OR_RETURN(std::string layout, detect_layout(dir, split));
  if (layout == "idx") return load_idx_dataset(dir, split, limit);
  if (layout == "npy") return load_npy_pair(dir, split, limit);
  return load_image_folder(dir, split, limit, preprocess);
}

}  // namespace verge::train
