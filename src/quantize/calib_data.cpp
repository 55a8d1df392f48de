#include "quantize/calib_data.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "io/idx.h"
#include "io/npy.h"

namespace verge::quant {
namespace fs = std::filesystem;

namespace {

bool is_idx_dir(const fs::path& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().filename().string().find("-images-idx3-ubyte") != std::string::npos) return true;
  return false;
}

Result<CalibrationData> load_npy_files(const std::vector<fs::path>& files, const IoInfo& input,
                                       int64_t limit) {
  const size_t rank = input.has_shape ? input.shape.size() : 0;
  Shape sample;
  std::vector<float> data;
  int64_t n = 0;
  for (const fs::path& f : files) {
    if (limit > 0 && n >= limit) break;
    VERGE_ASSIGN_OR_RETURN(Tensor t, read_npy(f.string()));
    if (dtype_size(t.dtype()) == 0 || t.dtype() == DType::kBool || t.dtype() == DType::kString)
      return Status::invalid_argument(
          fmt::format("'{}': {} is not numeric", f.string(), dtype_name(t.dtype())));
    Shape s = t.shape();
    int64_t count = 1;
    if (rank > 0 && s.size() == rank) {  // a batch
      count = s.empty() ? 1 : s[0];
      s.erase(s.begin());
    } else if (rank > 0 && s.size() + 1 != rank) {
      return Status::invalid_argument(
          fmt::format("'{}' has shape {}; input '{}' has rank {} (a batch) or {} (one sample)", f.string(),
                      shape_to_string(t.shape()), input.name, rank, rank - 1));
    }
    if (n == 0) sample = s;
    if (s != sample)
      return Status::invalid_argument(fmt::format("'{}': sample shape {} differs from earlier samples {}",
                                                  f.string(), shape_to_string(s), shape_to_string(sample)));
    const int64_t per = shape_numel(sample);
    const int64_t take = limit > 0 ? std::min(count, limit - n) : count;
    for (int64_t i = 0; i < take * per; ++i) data.push_back(static_cast<float>(t.get_as_double(i)));
    n += take;
  }
  if (n == 0) return Status::not_found("no .npy samples found");
  Shape shape = sample;
  shape.insert(shape.begin(), n);
  CalibrationData out;
  VERGE_ASSIGN_OR_RETURN(out.samples, Tensor::allocate(DType::kFloat32, shape));
  std::memcpy(out.samples.raw(), data.data(), data.size() * sizeof(float));
  out.description = fmt::format(".npy files, {} samples of {}", n, shape_to_string(sample));
  return out;
}

}  // namespace

Result<CalibrationData> load_calibration_data(const std::string& path, const IoInfo& input, int64_t limit,
                                              const std::string& split) {
  std::error_code ec;
  const fs::path p(path);
  if (!fs::exists(p, ec)) return Status::not_found(fmt::format("calibration data '{}' does not exist", path));
  if (fs::is_regular_file(p, ec)) {
    if (p.extension() != ".npy")
      return Status::invalid_argument(fmt::format("'{}' is not a .npy file", path));
    auto r = load_npy_files({p}, input, limit);
    if (!r.is_ok()) return Status(r.status().code(), fmt::format("'{}': {}", path, r.status().message()));
    return r;
  }
  if (is_idx_dir(p)) {
    VERGE_ASSIGN_OR_RETURN(LabeledImages ds, load_idx_dataset(path, split, limit));
    CalibrationData out;
    const Shape& s = ds.images.shape();
    out.samples =
        input.has_shape && input.shape.size() == 3 ? ds.images.reshaped({s[0], s[2], s[3]}) : ds.images;
    out.labels = std::move(ds.labels);
    out.description = fmt::format("IDX {} split, {} samples", split, s[0]);
    return out;
  }
  std::vector<fs::path> npy;
  bool has_subdirs = false;
  for (const auto& e : fs::directory_iterator(p, ec)) {
    if (e.is_directory()) has_subdirs = true;
    if (e.is_regular_file() && e.path().extension() == ".npy") npy.push_back(e.path());
  }
  if (ec) return Status::io_error(fmt::format("cannot list '{}': {}", path, ec.message()));
  std::sort(npy.begin(), npy.end());
  if (npy.empty() && has_subdirs)
    return Status::unsupported(
        fmt::format("'{}' looks like an image folder; image folders are not supported yet (Verge "
                    "has no image decoder): convert the images to .npy samples",
                    path));
  if (npy.empty()) return Status::not_found(fmt::format("'{}' has no .npy samples and no IDX images", path));
  auto r = load_npy_files(npy, input, limit);
  if (!r.is_ok()) return Status(r.status().code(), fmt::format("'{}': {}", path, r.status().message()));
  return r;
}

}  // namespace verge::quant
