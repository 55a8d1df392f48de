#include "io/idx.h"

#include <fmt/format.h>
#include <zlib.h>

#include <filesystem>

namespace verge {
namespace fs = std::filesystem;

namespace {
Result<std::string> read_maybe_gzip(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");  // reads plain files transparently too
  if (!f) return Status::not_found(fmt::format("cannot open '{}'", path));
  std::string out;
  char buf[1 << 16];
  for (;;) {
    const int n = gzread(f, buf, sizeof buf);
    if (n < 0) {
      gzclose(f);
      return Status::invalid_argument(fmt::format("'{}': corrupt gzip data", path));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > (size_t{1} << 32)) {
      gzclose(f);
      return Status::invalid_argument(fmt::format("'{}' is larger than 4 GiB uncompressed", path));
    }
  }
  gzclose(f);
  return out;
}
}  // namespace

Result<IdxArray> read_idx(const std::string& path) {
  VERGE_ASSIGN_OR_RETURN(std::string b, read_maybe_gzip(path));
  auto bad = [&](std::string_view why) { return Status::invalid_argument(fmt::format("'{}' is not a valid IDX file: {}", path, why)); };
  if (b.size() < 4 || b[0] != 0 || b[1] != 0) return bad("bad magic");
  if (static_cast<uint8_t>(b[2]) != 0x08) return bad("only unsigned-byte data (type 0x08) is supported");
  const int rank = static_cast<uint8_t>(b[3]);
  if (rank < 1 || b.size() < 4 + 4 * static_cast<size_t>(rank)) return bad("truncated header");
  IdxArray a;
  int64_t n = 1;
  for (int d = 0; d < rank; ++d) {
    const auto* p = reinterpret_cast<const uint8_t*>(b.data() + 4 + 4 * d);
    const int64_t v = (int64_t{p[0]} << 24) | (p[1] << 16) | (p[2] << 8) | p[3];
    a.dims.push_back(v);
    n *= v;
    if (n > (int64_t{1} << 32)) return bad("dimensions too large");
  }
  const size_t off = 4 + 4 * static_cast<size_t>(rank);
  if (b.size() - off != static_cast<size_t>(n))
    return bad(fmt::format("header says {} bytes of data, file has {}", n, b.size() - off));
  a.data.assign(b.begin() + static_cast<long>(off), b.end());
  return a;
}

Result<LabeledImages> load_idx_dataset(const std::string& dir, const std::string& split, int64_t limit) {
  if (split != "train" && split != "test")
    return Status::invalid_argument(fmt::format("split must be 'train' or 'test', got '{}'", split));
  const std::string prefix = split == "train" ? "train" : "t10k";
  auto find = [&](const std::string& stem) -> std::string {
    for (const char* ext : {"", ".gz"}) {
      fs::path p = fs::path(dir) / (stem + ext);
      if (fs::exists(p)) return p.string();
    }
    return {};
  };
  const std::string img_path = find(prefix + "-images-idx3-ubyte");
  const std::string lbl_path = find(prefix + "-labels-idx1-ubyte");
  if (img_path.empty() || lbl_path.empty())
    return Status::not_found(fmt::format("'{}' has no {}-images-idx3-ubyte[.gz] / {}-labels-idx1-ubyte[.gz]", dir, prefix, prefix));
  VERGE_ASSIGN_OR_RETURN(IdxArray img, read_idx(img_path));
  VERGE_ASSIGN_OR_RETURN(IdxArray lbl, read_idx(lbl_path));
  if (img.dims.size() != 3) return Status::invalid_argument(fmt::format("'{}' must be N x H x W", img_path));
  if (lbl.dims.size() != 1 || lbl.dims[0] != img.dims[0])
    return Status::invalid_argument(fmt::format("'{}' has {} labels for {} images", lbl_path, lbl.dims.empty() ? 0 : lbl.dims[0], img.dims[0]));
  int64_t n = img.dims[0];
  if (limit > 0) n = std::min(n, limit);
  const int64_t h = img.dims[1], w = img.dims[2];
  LabeledImages out;
  VERGE_ASSIGN_OR_RETURN(out.images, Tensor::allocate(DType::kFloat32, {n, 1, h, w}));
  float* px = out.images.data<float>();
  for (int64_t i = 0; i < n * h * w; ++i) px[i] = static_cast<float>(img.data[static_cast<size_t>(i)]) / 255.0f;
  out.labels.assign(lbl.data.begin(), lbl.data.begin() + n);
  return out;
}

}  // namespace verge
