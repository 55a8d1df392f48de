#include "io/dataset.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <set>

#include "io/npy.h"

namespace verge {
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
  out.description = fmt::format("inputs.npy + labels.npy in {}, {} samples", d.string(), n);
  return out;
}

// Unlabeled .npy samples: a file with the input's rank is a batch, one rank lower is one sample.
Result<LabeledImages> load_npy_samples(const std::vector<fs::path>& files, const IoInfo* input,
                                       int64_t limit) {
  const size_t rank = input && input->has_shape ? input->shape.size() : 0;
  Shape sample;
  std::vector<float> data;
  int64_t n = 0;
  for (const fs::path& f : files) {
    if (limit > 0 && n >= limit) break;
    VERGE_ASSIGN_OR_RETURN(Tensor t, read_npy(f.string()));
    VERGE_ASSIGN_OR_RETURN(t, to_float(t, f.string()));
    Shape s = t.shape();
    int64_t count = 1;
    if (rank > 0 && s.size() == rank) {  // a batch
      count = s.empty() ? 1 : s[0];
      s.erase(s.begin());
    } else if (rank > 0 && s.size() + 1 != rank) {
      return Status::invalid_argument(
          fmt::format("{} has shape {}; input '{}' has rank {} (a batch) or {} (one sample)", f.string(),
                      shape_to_string(t.shape()), input->name, rank, rank - 1));
    }
    if (n == 0) sample = s;
    if (s != sample)
      return Status::invalid_argument(fmt::format("{}: sample shape {} differs from earlier samples {}",
                                                  f.string(), shape_to_string(s), shape_to_string(sample)));
    const int64_t per = shape_numel(sample);
    const int64_t take = limit > 0 ? std::min(count, limit - n) : count;
    data.insert(data.end(), t.data<float>(), t.data<float>() + take * per);
    n += take;
  }
  if (n == 0) return Status::not_found("no .npy samples found");
  Shape shape = sample;
  shape.insert(shape.begin(), n);
  LabeledImages out;
  VERGE_ASSIGN_OR_RETURN(out.images, Tensor::allocate(DType::kFloat32, shape));
  std::memcpy(out.images.raw(), data.data(), data.size() * sizeof(float));
  out.description = fmt::format(".npy files, {} samples of {}", n, shape_to_string(sample));
  return out;
}

// ---- image folders ----

// A Preprocess with every default filled in from the model input.
struct ImageSpec {
  Preprocess p;
  int channels = 3;
  bool rank3 = false;                  // [N, H, W] (one channel, no channel axis)
  int64_t model_h = -1, model_w = -1;  // the size the model takes, -1: any (then all images alike)
  std::vector<float> mean, std;        // one per channel
};

std::string describe_input(const IoInfo& in) {
  return fmt::format("model input '{}' [{}]", in.name, fmt::join(in.shape, ", "));
}

Result<ImageSpec> resolve(const Preprocess& pre, const IoInfo* in) {
  ImageSpec s{.p = pre};
  int64_t c = -1;  // the model's channel count, -1 unknown
  if (in && in->has_shape) {
    const std::vector<int64_t>& d = in->shape;
    if (d.size() == 3) {
      s.rank3 = true;
      c = 1;
      s.model_h = d[1], s.model_w = d[2];
    } else if (d.size() == 4) {
      if (s.p.layout.empty())
        s.p.layout = d[1] != 1 && d[1] != 3 && (d[3] == 1 || d[3] == 3) ? "nhwc" : "nchw";
      const bool nhwc = s.p.layout == "nhwc";
      c = d[nhwc ? 3 : 1];
      s.model_h = d[nhwc ? 1 : 2], s.model_w = d[nhwc ? 2 : 3];
    } else {
      return Status::invalid_argument(
          fmt::format("image folders feed [N, C, H, W], [N, H, W, C] or [N, H, W] inputs; {} has rank {}",
                      describe_input(*in), d.size()));
    }
  }
  if (s.p.layout.empty()) s.p.layout = "nchw";
  if (s.p.color.empty()) s.p.color = c == 1 ? "gray" : "rgb";
  s.channels = s.p.color == "gray" ? 1 : 3;
  if (c > 0 && c != s.channels)
    return Status::invalid_argument(
        fmt::format("channel mismatch: color={} gives {} channel(s), {} takes {}{}", s.p.color, s.channels,
                    describe_input(*in), c, c == 1 || c == 3 ? "" : " (image folders give 1 or 3)"));
  for (const auto& [key, v, out, def] :
       {std::tuple{"mean", &pre.mean, &s.mean, 0.f}, std::tuple{"std", &pre.std, &s.std, 1.f}}) {
    if (!v->empty() && v->size() != 1 && v->size() != static_cast<size_t>(s.channels))
      return Status::invalid_argument(fmt::format("--preprocess {}: {} values for {} channel(s) (color={})",
                                                  key, v->size(), s.channels, s.p.color));
    for (int ch = 0; ch < s.channels; ++ch)
      out->push_back(v->empty() ? def : (*v)[v->size() == 1 ? 0 : static_cast<size_t>(ch)]);
  }
  return s;
}

// Decodes `path` and appends its preprocessed pixels to `pixels`; (h, w) is the sample size, set by the
// first image (0 before).
Status add_image(const fs::path& path, const ImageSpec& s, std::vector<float>& pixels, int64_t& h,
                 int64_t& w) {
  cv::Mat img = cv::imread(path.string(), s.channels == 1 ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR);
  if (img.empty()) return Status::invalid_argument(fmt::format("{}: cannot decode the image", path.string()));
  if (s.p.color == "rgb") cv::cvtColor(img, img, cv::COLOR_BGR2RGB);
  const bool to_model = s.model_h > 0 && s.model_w > 0;
  int64_t rh = img.rows, rw = img.cols;
  if (s.p.resize_h > 0) {
    rh = s.p.resize_h, rw = s.p.resize_w;
  } else if (s.p.resize > 0) {  // torchvision Resize(int): the longer side is floor(S * long / short)
    if (img.rows <= img.cols)
      rh = s.p.resize, rw = s.p.resize * img.cols / img.rows;
    else
      rw = s.p.resize, rh = s.p.resize * img.rows / img.cols;
  } else if (s.p.crop_h == 0 && to_model) {
    rh = s.model_h, rw = s.model_w;
  }
  if (rh > 16384 || rw > 16384)
    return Status::invalid_argument(fmt::format("{}: {}x{} resized to {}x{}, more than 16384 pixels a side",
                                                path.string(), img.rows, img.cols, rh, rw));
  if (rh != img.rows || rw != img.cols)
    cv::resize(img, img, cv::Size(static_cast<int>(rw), static_cast<int>(rh)), 0, 0,
               rh < img.rows || rw < img.cols ? cv::INTER_AREA : cv::INTER_LINEAR);
  int64_t ch = s.p.crop_h, cw = s.p.crop_w;
  if (ch == 0 && s.p.resize > 0 && to_model) ch = s.model_h, cw = s.model_w;
  if (ch > 0) {
    if (ch > img.rows || cw > img.cols)
      return Status::invalid_argument(
          fmt::format("{}: crop {}x{} is larger than the image ({}x{} after resizing)", path.string(), ch, cw,
                      img.rows, img.cols));
    // Centered as torchvision's CenterCrop: offset round((size - crop) / 2), halves to even.
    const int top = static_cast<int>(std::nearbyint(static_cast<double>(img.rows - ch) / 2));
    const int left = static_cast<int>(std::nearbyint(static_cast<double>(img.cols - cw) / 2));
    img = img(cv::Rect(left, top, static_cast<int>(cw), static_cast<int>(ch)));
  }
  if ((s.model_h > 0 && img.rows != s.model_h) || (s.model_w > 0 && img.cols != s.model_w))
    return Status::invalid_argument(
        fmt::format("{}: {}x{} after preprocessing, the model takes {}x{}; set --preprocess resize= / crop=",
                    path.string(), img.rows, img.cols, s.model_h, s.model_w));
  if (h == 0) h = img.rows, w = img.cols;
  if (img.rows != h || img.cols != w)
    return Status::invalid_argument(
        fmt::format("{} is {}x{} after preprocessing, earlier images are {}x{}; give --preprocess resize=HxW",
                    path.string(), img.rows, img.cols, h, w));
  const int64_t c_n = s.channels;
  const size_t base = pixels.size();
  pixels.resize(base + static_cast<size_t>(c_n * h * w));
  float* out = pixels.data() + base;
  for (int64_t y = 0; y < h; ++y) {
    const uint8_t* row = img.ptr<uint8_t>(static_cast<int>(y));
    for (int64_t x = 0; x < w; ++x)
      for (int64_t c = 0; c < c_n; ++c) {
        const float v = static_cast<float>(row[x * c_n + c]) * s.p.scale_num / s.p.scale_den;
        const size_t c_i = static_cast<size_t>(c);
        out[s.p.layout == "nhwc" ? (y * w + x) * c_n + c : (c * h + y) * w + x] =
            (v - s.mean[c_i]) / s.std[c_i];
      }
  }
  return Status::ok();
}

Result<LabeledImages> load_image_folder(const fs::path& dir, const DataOptions& o) {
  VERGE_ASSIGN_OR_RETURN(ImageSpec spec, resolve(o.preprocess, o.input));
  const fs::path d = split_dir(dir, o.split, nullptr);
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
  if (files.empty())
    return Status::not_found(
        fmt::format("{}: no image files in its {} class subfolder(s)", d.string(), classes.size()));
  if (o.limit > 0 && static_cast<int64_t>(files.size()) > o.limit) files.resize(static_cast<size_t>(o.limit));
  LabeledImages out;
  int64_t h = 0, w = 0;
  std::vector<float> pixels;
  for (const auto& [path, label] : files) {
    VERGE_RETURN_IF_ERROR(add_image(path, spec, pixels, h, w));
    out.labels.push_back(label);
    if (o.on_image) o.on_image(static_cast<int64_t>(out.labels.size()), static_cast<int64_t>(files.size()));
  }
  const int64_t n = static_cast<int64_t>(files.size()), c = spec.channels;
  const Shape shape = spec.rank3                ? Shape{n, h, w}
                      : spec.p.layout == "nhwc" ? Shape{n, h, w, c}
                                                : Shape{n, c, h, w};
  VERGE_ASSIGN_OR_RETURN(out.images, Tensor::allocate(DType::kFloat32, shape));
  std::memcpy(out.images.data<float>(), pixels.data(), pixels.size() * sizeof(float));
  out.description = fmt::format("image folder {}, {} images in {} classes, {} {}x{} {}", d.string(), n,
                                classes.size(), spec.p.color, h, w, spec.rank3 ? "nhw" : spec.p.layout);
  return out;
}

// ---- --preprocess ----

Status bad_value(const std::string& key, const std::string& value, const std::string& expected) {
  return Status::invalid_argument(fmt::format("--preprocess {}='{}': expected {}", key, value, expected));
}

Result<float> parse_number(const std::string& s, const std::string& key, const std::string& value) {
  char* end = nullptr;
  const float f = std::strtof(s.c_str(), &end);
  if (s.empty() || std::isspace(static_cast<unsigned char>(s[0])) || *end != '\0' || !std::isfinite(f))
    return bad_value(key, value, fmt::format("numbers ('{}' is not one)", s));
  return f;
}

// "S" (both sides S) or "HxW", each in 1..16384.
Result<std::pair<int64_t, int64_t>> parse_size(const std::string& key, const std::string& value) {
  const size_t x = value.find('x');
  const std::string a = value.substr(0, x), b = x == std::string::npos ? a : value.substr(x + 1);
  int64_t v[2];
  for (int i = 0; i < 2; ++i) {
    const std::string& s = i ? b : a;
    char* end = nullptr;
    const long long n = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || !std::isdigit(static_cast<unsigned char>(s[0])) || *end != '\0' || n < 1 || n > 16384)
      return bad_value(key, value, "S or HxW, integers in 1..16384");
    v[i] = n;
  }
  return std::pair{v[0], v[1]};
}

Result<std::vector<float>> parse_list(const std::string& key, const std::string& value) {
  std::vector<float> out;
  size_t start = 0;
  while (true) {
    const size_t slash = value.find('/', start);
    VERGE_ASSIGN_OR_RETURN(
        float f,
        parse_number(value.substr(start, slash == std::string::npos ? slash : slash - start), key, value));
    if (key == "std" && !(f > 0.f)) return bad_value(key, value, "values > 0");
    out.push_back(f);
    if (slash == std::string::npos) return out;
    start = slash + 1;
  }
}

}  // namespace

Result<Preprocess> parse_preprocess(const std::string& spec) {
  Preprocess p;
  std::set<std::string> seen;
  size_t start = 0;
  while (!spec.empty()) {
    const size_t comma = spec.find(',', start);
    const std::string part = spec.substr(start, comma == std::string::npos ? comma : comma - start);
    const size_t eq = part.find('=');
    const std::string key = part.substr(0, eq), value = eq == std::string::npos ? "" : part.substr(eq + 1);
    if (eq == std::string::npos || value.empty())
      return Status::invalid_argument(fmt::format(
          "--preprocess: '{}' is not key=value (keys: resize, crop, mean, std, layout, color, scale)", part));
    if (!seen.insert(key).second)
      return Status::invalid_argument(fmt::format("--preprocess: {} given twice", key));
    if (key == "resize") {
      VERGE_ASSIGN_OR_RETURN(auto hw, parse_size(key, value));
      if (value.find('x') == std::string::npos)
        p.resize = hw.first;
      else
        std::tie(p.resize_h, p.resize_w) = hw;
    } else if (key == "crop") {
      VERGE_ASSIGN_OR_RETURN(auto hw, parse_size(key, value));
      std::tie(p.crop_h, p.crop_w) = hw;
    } else if (key == "mean") {
      VERGE_ASSIGN_OR_RETURN(p.mean, parse_list(key, value));
    } else if (key == "std") {
      VERGE_ASSIGN_OR_RETURN(p.std, parse_list(key, value));
    } else if (key == "layout") {
      if (value != "nchw" && value != "nhwc") return bad_value(key, value, "nchw or nhwc");
      p.layout = value;
    } else if (key == "color") {
      if (value != "rgb" && value != "bgr" && value != "gray")
        return bad_value(key, value, "rgb, bgr or gray");
      p.color = value;
    } else if (key == "scale") {
      const size_t slash = value.find('/');
      VERGE_ASSIGN_OR_RETURN(p.scale_num, parse_number(value.substr(0, slash), key, value));
      p.scale_den = 1;
      if (slash != std::string::npos) {
        VERGE_ASSIGN_OR_RETURN(p.scale_den, parse_number(value.substr(slash + 1), key, value));
      }
      if (!(p.scale_num > 0.f) || !(p.scale_den > 0.f))
        return bad_value(key, value, "A or A/B with A, B > 0");
    } else {
      return Status::invalid_argument(fmt::format(
          "--preprocess: unknown key '{}' (keys: resize, crop, mean, std, layout, color, scale)", key));
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return p;
}

Result<std::string> detect_layout(const std::string& path, const std::string& split) {
  std::error_code ec;
  const fs::path d(path);
  if (!fs::exists(d, ec)) return Status::not_found(fmt::format("'{}' does not exist", path));
  if (!fs::is_directory(d, ec)) {
    if (d.extension() == ".npy") return std::string("npy");
    return Status::invalid_argument(fmt::format("'{}' is neither a directory nor a .npy file", path));
  }
  bool idx = false, npy = false;
  for (const auto& e : fs::directory_iterator(d, ec)) {
    idx |= e.path().filename().string().find("-images-idx3-ubyte") != std::string::npos;
    npy |= e.is_regular_file() && e.path().extension() == ".npy";
  }
  if (ec) return Status::io_error(fmt::format("cannot list '{}': {}", path, ec.message()));
  if (idx) return std::string("idx");
  if (fs::exists(split_dir(d, split, "inputs.npy") / "inputs.npy", ec)) return std::string("npy-pair");
  if (npy) return std::string("npy");
  if (!class_folders(split_dir(d, split, nullptr)).empty()) return std::string("images");
  return Status::not_found(fmt::format(
      "'{}': no IDX files (*-images-idx3-ubyte), no inputs.npy + labels.npy, no .npy files and no class "
      "subfolders",
      path));
}

Result<LabeledImages> load_dataset(const std::string& path, const DataOptions& o) {
  VERGE_ASSIGN_OR_RETURN(std::string layout, detect_layout(path, o.split));
  if (layout == "idx") {
    VERGE_ASSIGN_OR_RETURN(LabeledImages out, load_idx_dataset(path, o.split, o.limit));
    const Shape s = out.images.shape();
    if (o.input && o.input->has_shape && o.input->shape.size() == 3)
      out.images = out.images.reshaped({s[0], s[2], s[3]});
    out.description = fmt::format("IDX {} split, {} samples", o.split, s[0]);
    return out;
  }
  if (layout == "npy-pair") return load_npy_pair(path, o.split, o.limit);
  if (layout == "images") return load_image_folder(path, o);
  std::vector<fs::path> files;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    for (const auto& e : fs::directory_iterator(path, ec))
      if (e.is_regular_file() && e.path().extension() == ".npy") files.push_back(e.path());
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(path);
  }
  return load_npy_samples(files, o.input, o.limit);
}

}  // namespace verge
