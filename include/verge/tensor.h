// Tensor: a dtype, a shape and a pointer to row-major (C order) data.
//
// Ownership: a Tensor either owns its storage (allocate(), copy(); shared between copies of the Tensor
// object, freed with the last one) or is a view (wrap()) over memory someone else keeps alive — the
// caller's buffer, a session arena, a constant. Copying a Tensor never copies elements; clone() does.
// Storage from allocate() is 64-byte aligned and zero-filled.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "verge/dtype.h"
#include "verge/status.h"

namespace verge {

using Shape = std::vector<int64_t>;

// Product of dims (1 for a scalar). Dims must be >= 0.
int64_t shape_numel(std::span<const int64_t> shape);
// "1x3x224x224"; "scalar" for rank 0.
std::string shape_to_string(std::span<const int64_t> shape);
// Parses "1x3x224x224" (or "1,3,224,224"); error on anything else.
Result<Shape> parse_shape(std::string_view text);

class Tensor {
 public:
  Tensor() = default;

  // New zero-filled, 64-byte aligned storage. Fails only when the size overflows or memory runs out.
  static Result<Tensor> allocate(DType dtype, Shape shape);
  // Non-owning view; `data` must outlive every use of the view.
  static Tensor wrap(DType dtype, Shape shape, void* data);
  static Tensor wrap(DType dtype, Shape shape, const void* data) {
    return wrap(dtype, std::move(shape), const_cast<void*>(data));
  }
  // Owning tensor built from values (tests, constants).
  template <class T>
  static Tensor from_vector(Shape shape, const std::vector<T>& values);
  template <class T>
  static Tensor scalar(T value) {
    return from_vector<T>({}, {value});
  }

  bool defined() const { return dtype_ != DType::kUndefined; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int i) const { return shape_[i < 0 ? i + rank() : i]; }
  int64_t numel() const { return numel_; }
  size_t nbytes() const { return static_cast<size_t>(numel_) * dtype_size(dtype_); }
  bool owns_storage() const { return storage_ != nullptr; }

  void* raw() { return data_; }
  const void* raw() const { return data_; }
  template <class T>
  T* data() {
    return static_cast<T*>(data_);
  }
  template <class T>
  const T* data() const {
    return static_cast<const T*>(data_);
  }
  template <class T>
  std::span<const T> values() const {
    return {data<T>(), static_cast<size_t>(numel_)};
  }

  // For runtimes: points this tensor at other memory holding the same dtype and shape (no ownership).
  void reset_data(void* data) { data_ = data; }

  // Deep copy into new owned storage.
  Result<Tensor> clone() const;
  // Same storage, new shape with the same element count (caller guarantees).
  Tensor reshaped(Shape shape) const;
  // Reads element i converted to double / int64 (any numeric dtype). For small metadata tensors
  // (shapes, axes, scalars) — never in a hot loop.
  double get_as_double(int64_t i) const;
  int64_t get_as_int64(int64_t i) const;
  std::vector<int64_t> to_int64_vector() const;

 private:
  DType dtype_ = DType::kUndefined;
  Shape shape_;
  int64_t numel_ = 0;
  void* data_ = nullptr;
  std::shared_ptr<void> storage_;
};

template <class T>
Tensor Tensor::from_vector(Shape shape, const std::vector<T>& values) {
  Tensor t = allocate(kDTypeOf<T>, std::move(shape)).value();
  for (size_t i = 0; i < values.size() && i < static_cast<size_t>(t.numel()); ++i) t.data<T>()[i] = values[i];
  return t;
}

}  // namespace verge
