#include "import/onnx/tensor_proto.h"

#include <fmt/format.h>
#include <google/protobuf/io/coded_stream.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "io/file.h"

namespace verge::onnx_io {
namespace fs = std::filesystem;

namespace {

template <class Dst, class Src>
void copy_cast(const Src& src, Tensor& t) {
  Dst* d = t.data<Dst>();
  for (int64_t i = 0; i < t.numel(); ++i) d[i] = static_cast<Dst>(src[static_cast<int>(i)]);
}

Status read_external(const onnx::TensorProto& p, std::string_view base_dir, std::string_view what, Tensor& t) {
  std::string location;
  int64_t offset = 0;
  int64_t length = -1;
  for (const auto& kv : p.external_data()) {
    auto parse = [&](int64_t& out) -> Status {
      try {
        size_t used = 0;
        out = std::stoll(kv.value(), &used);
        if (used != kv.value().size() || out < 0) throw std::invalid_argument("bad");
      } catch (const std::exception&) {
        return Status::invalid_model(fmt::format("{}: external data {} '{}' is not a valid number", what, kv.key(), kv.value()));
      }
      return Status::ok();
    };
    if (kv.key() == "location") location = kv.value();
    else if (kv.key() == "offset") VERGE_RETURN_IF_ERROR(parse(offset));
    else if (kv.key() == "length") VERGE_RETURN_IF_ERROR(parse(length));
  }
  if (location.empty()) return Status::invalid_model(fmt::format("{}: external data without a location", what));
  const fs::path rel(location);
  bool escapes = rel.is_absolute() || rel.has_root_name();
  for (const auto& part : rel) escapes = escapes || part == "..";
  if (escapes)
    return Status::invalid_model(
        fmt::format("{}: external data location '{}' must be a relative path inside the model directory", what, location));
  const fs::path full = fs::path(base_dir.empty() ? "." : std::string(base_dir)) / rel;
  const int64_t want = static_cast<int64_t>(t.nbytes());
  if (length >= 0 && length != want)
    return Status::invalid_model(fmt::format("{}: external data length {} does not match shape {} x {} ({} bytes)", what,
                                             length, shape_to_string(t.shape()), dtype_name(t.dtype()), want));
  std::ifstream f(full, std::ios::binary);
  if (!f) return Status::io_error(fmt::format("{}: cannot open external data file '{}'", what, full.string()));
  f.seekg(0, std::ios::end);
  const int64_t size = static_cast<int64_t>(f.tellg());
  if (offset > size || want > size - offset)
    return Status::invalid_model(fmt::format("{}: external data file '{}' has {} bytes; need {} at offset {}", what,
                                             full.string(), size, want, offset));
  f.seekg(offset);
  f.read(static_cast<char*>(t.raw()), want);
  if (!f) return Status::io_error(fmt::format("{}: reading external data file '{}' failed", what, full.string()));
  return Status::ok();
}

}  // namespace

Result<Tensor> tensor_from_proto(const onnx::TensorProto& p, std::string_view base_dir, std::string_view what) {
  const DType dtype = dtype_from_onnx(p.data_type());
  if (p.data_type() == onnx::TensorProto::STRING)
    return Status::unsupported(fmt::format("{}: string tensors are not supported", what));
  if (!dtype_supported(dtype))
    return Status::unsupported(fmt::format("{}: data type {} is not supported", what, p.data_type()));
  if (p.has_segment()) return Status::unsupported(fmt::format("{}: segmented tensors are not supported", what));
  Shape shape;
  for (int64_t d : p.dims()) {
    if (d < 0) return Status::invalid_model(fmt::format("{}: negative dimension {}", what, d));
    shape.push_back(d);
  }
  VERGE_ASSIGN_OR_RETURN(Tensor t, Tensor::allocate(dtype, shape));
  const int64_t n = t.numel();
  if (p.data_location() == onnx::TensorProto::EXTERNAL) {
    VERGE_RETURN_IF_ERROR(read_external(p, base_dir, what, t));
    return t;
  }
  if (p.has_raw_data()) {
    if (p.raw_data().size() != t.nbytes())
      return Status::invalid_model(fmt::format("{}: raw_data has {} bytes; shape {} of {} needs {}", what,
                                               p.raw_data().size(), shape_to_string(shape), dtype_name(dtype), t.nbytes()));
    if (t.nbytes()) std::memcpy(t.raw(), p.raw_data().data(), t.nbytes());
    if (dtype == DType::kBool)
      for (int64_t i = 0; i < n; ++i) t.data<uint8_t>()[i] = t.data<uint8_t>()[i] != 0;
    return t;
  }
  auto count_error = [&](int64_t have) {
    return Status::invalid_model(fmt::format("{}: has {} values; shape {} needs {}", what, have, shape_to_string(shape), n));
  };
  switch (dtype) {
    case DType::kFloat32:
      if (p.float_data_size() != n) return count_error(p.float_data_size());
      copy_cast<float>(p.float_data(), t);
      break;
    case DType::kFloat64:
      if (p.double_data_size() != n) return count_error(p.double_data_size());
      copy_cast<double>(p.double_data(), t);
      break;
    case DType::kInt64:
      if (p.int64_data_size() != n) return count_error(p.int64_data_size());
      copy_cast<int64_t>(p.int64_data(), t);
      break;
    case DType::kUInt32:
    case DType::kUInt64:
      if (p.uint64_data_size() != n) return count_error(p.uint64_data_size());
      if (dtype == DType::kUInt32) copy_cast<uint32_t>(p.uint64_data(), t);
      else copy_cast<uint64_t>(p.uint64_data(), t);
      break;
    default:  // int32_data carries int32, int16, int8, uint16, uint8, bool, float16/bfloat16 bits
      if (p.int32_data_size() != n) return count_error(p.int32_data_size());
      switch (dtype) {
        case DType::kInt32: copy_cast<int32_t>(p.int32_data(), t); break;
        case DType::kInt16: copy_cast<int16_t>(p.int32_data(), t); break;
        case DType::kInt8: copy_cast<int8_t>(p.int32_data(), t); break;
        case DType::kUInt16:
        case DType::kFloat16:
        case DType::kBFloat16: copy_cast<uint16_t>(p.int32_data(), t); break;
        case DType::kUInt8: copy_cast<uint8_t>(p.int32_data(), t); break;
        case DType::kBool:
          for (int64_t i = 0; i < n; ++i) t.data<uint8_t>()[i] = p.int32_data(static_cast<int>(i)) != 0;
          break;
        default: return Status::internal("unhandled dtype in tensor_from_proto");
      }
  }
  return t;
}

void tensor_to_proto(const Tensor& t, const std::string& name, onnx::TensorProto* p) {
  p->Clear();
  if (!name.empty()) p->set_name(name);
  p->set_data_type(static_cast<int32_t>(t.dtype()));
  for (int64_t d : t.shape()) p->add_dims(d);
  p->set_raw_data(t.raw(), t.nbytes());
}

Result<Tensor> read_tensor_pb(const std::string& path) {
  VERGE_ASSIGN_OR_RETURN(std::string bytes, read_file(path));
  onnx::TensorProto p;
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()), static_cast<int>(bytes.size()));
  in.SetTotalBytesLimit(std::numeric_limits<int>::max());
  if (!p.ParseFromCodedStream(&in) || !in.ConsumedEntireMessage())
    return Status::invalid_argument(fmt::format("'{}' is not a valid ONNX TensorProto file", path));
  const std::string dir = fs::path(path).parent_path().string();
  return tensor_from_proto(p, dir, fmt::format("tensor file '{}'", path));
}

Status write_tensor_pb(const Tensor& t, const std::string& name, const std::string& path) {
  onnx::TensorProto p;
  tensor_to_proto(t, name, &p);
  return write_file(path, p.SerializeAsString());
}

}  // namespace verge::onnx_io
