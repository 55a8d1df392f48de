// Element types. Enumerator values equal ONNX TensorProto.DataType so conversion is a cast.
// float16 / bfloat16 are storage types: arithmetic converts to float (round-to-nearest-even back).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace verge {

enum class DType : uint8_t {
  kUndefined = 0,
  kFloat32 = 1,
  kUInt8 = 2,
  kInt8 = 3,
  kUInt16 = 4,
  kInt16 = 5,
  kInt32 = 6,
  kInt64 = 7,
  kString = 8,  // recognized so errors can name it; Verge has no string tensors
  kBool = 9,
  kFloat16 = 10,
  kFloat64 = 11,
  kUInt32 = 12,
  kUInt64 = 13,
  kBFloat16 = 16,
};

// Size in bytes of one element; 0 for kUndefined / kString.
size_t dtype_size(DType t);
// "float32", "int64", ... (numpy-style names, used in messages and `verge inspect`).
std::string_view dtype_name(DType t);
// True for the numeric and bool types Verge can hold in a Tensor.
bool dtype_supported(DType t);
bool dtype_is_float(DType t);    // float16, bfloat16, float32, float64
bool dtype_is_signed_int(DType t);
bool dtype_is_unsigned_int(DType t);  // bool excluded
// Maps an ONNX TensorProto.DataType value; kUndefined for values Verge does not know.
DType dtype_from_onnx(int32_t onnx_type);
// Parses "float32" / "float" / "f32" etc.; kUndefined if unknown.
DType dtype_from_name(std::string_view name);

// IEEE 754 binary16.
struct float16_t {
  uint16_t bits = 0;
  float16_t() = default;
  explicit float16_t(float f) : bits(from_float(f)) {}
  operator float() const { return to_float(bits); }  // NOLINT: implicit widening is lossless
  static uint16_t from_float(float f);
  static float to_float(uint16_t h);
  static float16_t from_bits(uint16_t b) {
    float16_t h;
    h.bits = b;
    return h;
  }
};

// bfloat16: the top 16 bits of a float32.
struct bfloat16_t {
  uint16_t bits = 0;
  bfloat16_t() = default;
  explicit bfloat16_t(float f) : bits(from_float(f)) {}
  operator float() const { return std::bit_cast<float>(uint32_t{bits} << 16); }  // NOLINT
  static uint16_t from_float(float f) {
    uint32_t u = std::bit_cast<uint32_t>(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);  // quiet NaN
    u += 0x7fffu + ((u >> 16) & 1u);                                                       // round to nearest even
    return static_cast<uint16_t>(u >> 16);
  }
  static bfloat16_t from_bits(uint16_t b) {
    bfloat16_t h;
    h.bits = b;
    return h;
  }
};

template <class T>
struct DTypeOf;
#define VERGE_DTYPE_OF_(T, D) \
  template <>                 \
  struct DTypeOf<T> {         \
    static constexpr DType value = DType::D; \
  }
VERGE_DTYPE_OF_(float, kFloat32);
VERGE_DTYPE_OF_(double, kFloat64);
VERGE_DTYPE_OF_(float16_t, kFloat16);
VERGE_DTYPE_OF_(bfloat16_t, kBFloat16);
VERGE_DTYPE_OF_(int8_t, kInt8);
VERGE_DTYPE_OF_(int16_t, kInt16);
VERGE_DTYPE_OF_(int32_t, kInt32);
VERGE_DTYPE_OF_(int64_t, kInt64);
VERGE_DTYPE_OF_(uint8_t, kUInt8);
VERGE_DTYPE_OF_(uint16_t, kUInt16);
VERGE_DTYPE_OF_(uint32_t, kUInt32);
VERGE_DTYPE_OF_(uint64_t, kUInt64);
VERGE_DTYPE_OF_(bool, kBool);
#undef VERGE_DTYPE_OF_

template <class T>
inline constexpr DType kDTypeOf = DTypeOf<T>::value;

}  // namespace verge
