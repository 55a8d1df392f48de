#include "io/npy.h"

#include <fmt/format.h>

#include <cstring>

#include "import/onnx/tensor_proto.h"
#include "io/file.h"

namespace verge {
namespace {

struct Descr {
  std::string_view code;
  DType dtype;
};
constexpr Descr kDescrs[] = {
    {"f4", DType::kFloat32}, {"f8", DType::kFloat64}, {"f2", DType::kFloat16}, {"i1", DType::kInt8},
    {"u1", DType::kUInt8},   {"i2", DType::kInt16},   {"u2", DType::kUInt16},  {"i4", DType::kInt32},
    {"u4", DType::kUInt32},  {"i8", DType::kInt64},   {"u8", DType::kUInt64},  {"b1", DType::kBool},
};

// Value of 'key': ... in the header dict, up to the next top-level ',' or '}'.
std::string_view dict_value(std::string_view h, std::string_view key) {
  const std::string k1 = fmt::format("'{}'", key), k2 = fmt::format("\"{}\"", key);
  size_t p = h.find(k1);
  if (p == std::string_view::npos) p = h.find(k2);
  if (p == std::string_view::npos) return {};
  p = h.find(':', p);
  if (p == std::string_view::npos) return {};
  ++p;
  while (p < h.size() && h[p] == ' ') ++p;
  size_t e = p;
  int depth = 0;
  while (e < h.size()) {
    const char c = h[e];
    if (c == '(' || c == '[') ++depth;
    else if (c == ')' || c == ']') --depth;
    else if ((c == ',' || c == '}') && depth == 0) break;
    ++e;
  }
  return h.substr(p, e - p);
}

}  // namespace

Result<Tensor> parse_npy(std::string_view b, std::string_view label) {
  auto bad = [&](std::string_view why) { return Status::invalid_argument(fmt::format("{}: not a valid .npy file ({})", label, why)); };
  if (b.size() < 10 || std::memcmp(b.data(), "\x93NUMPY", 6) != 0) return bad("missing the \\x93NUMPY magic");
  const auto major = static_cast<uint8_t>(b[6]);
  size_t header_len = 0, offset = 0;
  if (major == 1) {
    header_len = static_cast<uint8_t>(b[8]) | static_cast<size_t>(static_cast<uint8_t>(b[9])) << 8;
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (b.size() < 12) return bad("truncated header");
    header_len = 0;
    for (int i = 0; i < 4; ++i) header_len |= static_cast<size_t>(static_cast<uint8_t>(b[8 + i])) << (8 * i);
    offset = 12;
  } else {
    return bad(fmt::format("unknown format version {}", major));
  }
  if (header_len > b.size() - offset) return bad("truncated header");
  const std::string_view h = b.substr(offset, header_len);
  std::string_view descr = dict_value(h, "descr");
  if (descr.size() < 4 || (descr.front() != '\'' && descr.front() != '"')) return bad("no 'descr'");
  descr = descr.substr(1, descr.size() - 2);
  if (descr.size() != 3) return bad(fmt::format("unsupported dtype '{}'", descr));
  const char endian = descr[0];
  if (endian == '>')
    return Status::unsupported(fmt::format("{}: big-endian .npy data is not supported; save with '<' byte order", label));
  DType dtype = DType::kUndefined;
  for (const Descr& d : kDescrs)
    if (d.code == descr.substr(1)) dtype = d.dtype;
  if (dtype == DType::kUndefined) return Status::unsupported(fmt::format("{}: unsupported .npy dtype '{}'", label, descr));
  if (dict_value(h, "fortran_order").starts_with("True"))
    return Status::unsupported(fmt::format("{}: Fortran-order .npy arrays are not supported; save a C-order copy", label));
  std::string_view shape_s = dict_value(h, "shape");
  if (shape_s.size() < 2 || shape_s.front() != '(') return bad("no 'shape'");
  Shape shape;
  std::string_view inner = shape_s.substr(1, shape_s.size() - 2);
  size_t p = 0;
  while (p < inner.size()) {
    while (p < inner.size() && (inner[p] == ' ' || inner[p] == ',')) ++p;
    if (p >= inner.size()) break;
    int64_t v = 0;
    size_t digits = 0;
    while (p < inner.size() && inner[p] >= '0' && inner[p] <= '9') {
      if (v > (int64_t{1} << 40)) return bad("dimension too large");
      v = v * 10 + (inner[p++] - '0');
      ++digits;
    }
    while (p < inner.size() && (inner[p] == 'L' || inner[p] == ' ')) ++p;  // Python 2 longs
    if (digits == 0 || (p < inner.size() && inner[p] != ',')) return bad(fmt::format("bad shape '{}'", shape_s));
    shape.push_back(v);
  }
  VERGE_ASSIGN_OR_RETURN(Tensor t, Tensor::allocate(dtype, shape));
  const size_t data_off = offset + header_len;
  if (b.size() - data_off != t.nbytes())
    return bad(fmt::format("shape {} of {} needs {} data bytes, file has {}", shape_to_string(shape), dtype_name(dtype),
                           t.nbytes(), b.size() - data_off));
  if (t.nbytes()) std::memcpy(t.raw(), b.data() + data_off, t.nbytes());
  if (dtype == DType::kBool)
    for (int64_t i = 0; i < t.numel(); ++i) t.data<uint8_t>()[i] = t.data<uint8_t>()[i] != 0;
  return t;
}

Result<Tensor> read_npy(const std::string& path) {
  VERGE_ASSIGN_OR_RETURN(std::string bytes, read_file(path));
  return parse_npy(bytes, path);
}

std::string serialize_npy(const Tensor& in) {
  Tensor t = in;
  Tensor widened;
  if (t.dtype() == DType::kBFloat16) {
    widened = Tensor::allocate(DType::kFloat32, t.shape()).value();
    for (int64_t i = 0; i < t.numel(); ++i) widened.data<float>()[i] = static_cast<float>(t.data<bfloat16_t>()[i]);
    t = widened;
  }
  std::string_view code = "f4";
  for (const Descr& d : kDescrs)
    if (d.dtype == t.dtype()) code = d.code;
  const char endian = (t.dtype() == DType::kBool || dtype_size(t.dtype()) == 1) ? '|' : '<';
  std::string shape;
  for (int i = 0; i < t.rank(); ++i) shape += fmt::format("{}{}", i ? ", " : "", t.dim(i));
  if (t.rank() == 1) shape += ',';
  std::string header = fmt::format("{{'descr': '{}{}', 'fortran_order': False, 'shape': ({}), }}", endian, code, shape);
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  out += header;
  out.append(static_cast<const char*>(t.raw()), t.nbytes());
  return out;
}

Status write_npy(const Tensor& t, const std::string& path) { return write_file(path, serialize_npy(t)); }

Result<Tensor> read_tensor_file(const std::string& path) {
  if (path.ends_with(".pb")) return onnx_io::read_tensor_pb(path);
  if (path.ends_with(".npy")) return read_npy(path);
  VERGE_ASSIGN_OR_RETURN(std::string bytes, read_file(path));
  if (bytes.starts_with("\x93NUMPY")) return parse_npy(bytes, path);
  return onnx_io::read_tensor_pb(path);
}

}  // namespace verge
