// Compile-time dispatch from a runtime DType to a C++ element type.
//
//   if (!dispatch(FloatTypes{}, t, [&]<class T>() { kernel<T>(...); }))
//     return unsupported_dtype(...);
//
// Lists are deliberately per-op: instantiate only the types ONNX allows for the op.
#pragma once

#include <type_traits>

#include "verge/dtype.h"

namespace verge {

template <class... Ts>
struct TypeList {};

using FloatTypes = TypeList<float, double, float16_t, bfloat16_t>;
using SignedIntTypes = TypeList<int8_t, int16_t, int32_t, int64_t>;
using UnsignedIntTypes = TypeList<uint8_t, uint16_t, uint32_t, uint64_t>;
using IntTypes = TypeList<int8_t, int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t>;
using NumericTypes = TypeList<float, double, float16_t, bfloat16_t, int8_t, int16_t, int32_t, int64_t, uint8_t,
                              uint16_t, uint32_t, uint64_t>;
using SignedNumericTypes = TypeList<float, double, float16_t, bfloat16_t, int8_t, int16_t, int32_t, int64_t>;
using AllTypes = TypeList<float, double, float16_t, bfloat16_t, int8_t, int16_t, int32_t, int64_t, uint8_t,
                          uint16_t, uint32_t, uint64_t, bool>;

// Calls f.template operator()<T>() for the T whose DType is t. Returns false if t is not in the list.
template <class... Ts, class F>
bool dispatch(TypeList<Ts...>, DType t, F&& f) {
  return ((t == kDTypeOf<Ts> ? (f.template operator()<Ts>(), true) : false) || ...);
}

template <class F>
bool dispatch_all(DType t, F&& f) {
  return dispatch(AllTypes{}, t, static_cast<F&&>(f));
}

template <class T>
inline constexpr bool kIsHalf = std::is_same_v<T, float16_t> || std::is_same_v<T, bfloat16_t>;
template <class T>
inline constexpr bool kIsFloat = std::is_floating_point_v<T> || kIsHalf<T>;

// Type arithmetic is done in: float for the 16-bit floats, T otherwise.
template <class T>
using ComputeT = std::conditional_t<kIsHalf<T>, float, T>;

// Converts a compute value back to storage type (rounds for half types).
template <class T, class U>
inline T to_storage(U v) {
  if constexpr (kIsHalf<T>) {
    return T(static_cast<float>(v));
  } else {
    return static_cast<T>(v);
  }
}

}  // namespace verge
