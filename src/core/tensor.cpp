#include "verge/tensor.h"

#include <fmt/format.h>

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "core/dispatch.h"
#include "core/memory.h"

namespace verge {

int64_t shape_numel(std::span<const int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shape_to_string(std::span<const int64_t> shape) {
  if (shape.empty()) return "scalar";
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += 'x';
    s += std::to_string(shape[i]);
  }
  return s;
}

Result<Shape> parse_shape(std::string_view text) {
  Shape shape;
  if (text == "scalar") return shape;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find_first_of("x,", pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view tok = text.substr(pos, end - pos);
    int64_t v = -1;
    auto [p, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), v);
    if (tok.empty() || ec != std::errc() || p != tok.data() + tok.size() || v < 0)
      return Status::invalid_argument(fmt::format("cannot parse shape '{}': expected dims like 1x3x224x224", text));
    shape.push_back(v);
    pos = end + 1;
  }
  return shape;
}

namespace {
struct AlignedFree {
  void operator()(void* p) const { free_aligned(p); }
};
constexpr size_t kAlignment = 64;
constexpr int64_t kMaxTensorBytes = int64_t{1} << 40;
}  // namespace

Result<Tensor> Tensor::allocate(DType dtype, Shape shape) {
  if (!dtype_supported(dtype))
    return Status::unsupported(fmt::format("cannot allocate a tensor of dtype {}", dtype_name(dtype)));
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) return Status::invalid_argument(fmt::format("negative dimension in shape {}", fmt::join(shape, "x")));
    if (d != 0 && n > kMaxTensorBytes / d)
      return Status::invalid_argument(fmt::format("tensor of shape {} is too large", shape_to_string(shape)));
    n *= d;
  }
  const int64_t bytes = n * static_cast<int64_t>(dtype_size(dtype));
  if (bytes > kMaxTensorBytes)
    return Status::invalid_argument(fmt::format("tensor of shape {} is too large", shape_to_string(shape)));
  const size_t alloc = (static_cast<size_t>(bytes) + kAlignment - 1) / kAlignment * kAlignment;
  void* p = allocate_aligned(alloc);
  if (!p)
    return Status(StatusCode::kResourceExhausted,
                  fmt::format("out of memory allocating {} bytes for a {} tensor", bytes, shape_to_string(shape)));
  std::memset(p, 0, alloc == 0 ? kAlignment : alloc);
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.numel_ = n;
  t.data_ = p;
  t.storage_ = std::shared_ptr<void>(p, AlignedFree{});
  return t;
}

Tensor Tensor::wrap(DType dtype, Shape shape, void* data) {
  Tensor t;
  t.dtype_ = dtype;
  t.numel_ = shape_numel(shape);
  t.shape_ = std::move(shape);
  t.data_ = data;
  return t;
}

Result<Tensor> Tensor::clone() const {
  VERGE_ASSIGN_OR_RETURN(Tensor t, allocate(dtype_, shape_));
  if (nbytes()) std::memcpy(t.data_, data_, nbytes());
  return t;
}

Tensor Tensor::reshaped(Shape shape) const {
  Tensor t = *this;
  t.numel_ = shape_numel(shape);
  t.shape_ = std::move(shape);
  return t;
}

double Tensor::get_as_double(int64_t i) const {
  double r = 0;
  dispatch_all(dtype_, [&]<class T>() { r = static_cast<double>(static_cast<const T*>(data_)[i]); });
  return r;
}

int64_t Tensor::get_as_int64(int64_t i) const {
  int64_t r = 0;
  dispatch_all(dtype_, [&]<class T>() {
    if constexpr (std::is_floating_point_v<T> || std::is_same_v<T, float16_t> || std::is_same_v<T, bfloat16_t>) {
      const double d = static_cast<double>(static_cast<const T*>(data_)[i]);
      r = d >= 9.2e18 ? std::numeric_limits<int64_t>::max()
          : d <= -9.2e18 ? std::numeric_limits<int64_t>::min()
          : d != d ? 0 : static_cast<int64_t>(d);
    } else {
      r = static_cast<int64_t>(static_cast<const T*>(data_)[i]);
    }
  });
  return r;
}

std::vector<int64_t> Tensor::to_int64_vector() const {
  std::vector<int64_t> v(static_cast<size_t>(numel_));
  for (int64_t i = 0; i < numel_; ++i) v[static_cast<size_t>(i)] = get_as_int64(i);
  return v;
}

}  // namespace verge
