// Scalar arithmetic of the quantized ops: rounding, saturation, int32 accumulator wrap-around and the
// requantization of QLinearConv / QLinearMatMul. This header is the numeric oracle: optimized int8
// kernels (VNNI, ...) must produce bit-identical results to these functions.
//
// Definitions (all exact unless an IEEE rounding is named):
//
//   round_half_even(v)   nearest integer to v, ties to the even integer; independent of the FP
//                        environment's rounding mode. NaN stays NaN, +-inf stays +-inf.
//
//   saturate<Q>(r, zp)   r is an integer-valued (or NaN / infinite) double from round_half_even.
//                        NaN counts as 0. Result = clamp(r + zp, Q's min, Q's max) computed without
//                        overflow (r is clamped to +-2^31 first).
//
//   wrap_int32(acc)      the int64 sum reduced modulo 2^32 into [-2^31, 2^31): exactly what a wrapping
//                        int32 accumulator produces, whatever the summation order. ONNX says the
//                        accumulation of ConvInteger / MatMulInteger / QLinear* "may overflow if and only if
//                        in 32 bits"; Verge accumulates in int64 (no UB) and wraps once at the end.
//
//   QuantizeLinear       float x:  q = round_half_even(float(x / scale))   (IEEE float32 division)
//                        int32 x:  q = round_half_even(double(x) / double(scale))
//                        y = saturate<Q>(q, zero_point)
//
//   DequantizeLinear     y = float(int64(x) - int64(zero_point)) * scale   (one float32 multiply)
//
//   Requantization (QLinearConv, QLinearMatMul), per output element:
//     acc  = wrap_int32( sum_k (x_k - x_zp) * (w_k - w_zp)  [+ bias, QLinearConv] )   (int64 sum)
//     mult = (double(x_scale) * double(w_scale)) / double(y_scale)   (the product is exact in double;
//            the division is one IEEE double division; w_scale is per output channel / column where
//            given, x_scale per row for QLinearMatMul)
//     v    = double(acc) * mult                                       (one IEEE double multiply)
//     y    = saturate<Q>(round_half_even(v), y_zp)
//   This double-precision form is `requantize` below. QLinearConv and QLinearMatMul use the float32
//   form (`requantize_f32`, the scheme of ONNX Runtime's MLAS), see "Requantization schemes".
//
// Requantization schemes (per output element, acc = the wrapped int32 accumulator above):
//   float32 (requantize_f32; what QLinearConv / QLinearMatMul compute):
//     scale = float(float(x_scale * w_scale) / y_scale)            (IEEE float32 multiply, then divide)
//     v     = float(acc) * scale            (int32 -> float32 rounds to nearest-even; one float32 multiply)
//     y     = saturate<Q>(round_half_even(v), y_zp)
//     On x86 this is cvtdq2ps, mulps, minps, cvtps2dq: the cheapest exact-to-define vector form, and
//     bit-identical to ONNX Runtime's MLAS requantization (same scale expression, same roundings).
//   fixed point (requantize_fixed; gemmlowp/TFLite-style multiplier, single rounding):
//     mult in (0, 2^30) is written m = M * 2^-s with M = round_half_even(frac * 2^31) in [2^30, 2^31)
//     (frac, e = frexp(mult), s = 31 - e; M = 2^31 after rounding becomes 2^30 with s - 1), s <= 62;
//     a mult below 2^-31 gives M = 0 (every result rounds to 0).
//     y = saturate<Q>((int64(acc) * M + 2^(s-1)) >> s, y_zp)      (arithmetic shift: round half up)
//     One rounding of the exact 64-bit product (TFLite rounds twice: the doubling high multiply, then
//     the power-of-two division). |error| vs the exact acc * mult is <= 0.5 + |acc * mult| * 2^-31.
//     On AVX-512 it needs even/odd vpmuldq, 64-bit adds and shifts: more instructions than float32
//     (bench/micro/qrequant.cpp measures all three); it is the natural form for NEON (sqrdmulh).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

namespace verge::ref::quant {

// Nearest integer, ties to even, without relying on the current rounding mode. Exact: v - floor(v) is
// representable for every finite double.
template <class F>
inline F round_half_even(F v) {
  if (!std::isfinite(v)) return v;
  const F f = std::floor(v);
  const F frac = v - f;
  if (frac > F(0.5)) return f + F(1);
  if (frac < F(0.5)) return f;
  return std::fmod(f, F(2)) == F(0) ? f : f + F(1);  // tie: pick the even neighbour
}

// clamp(r + zp) to Q's range; r integer-valued, NaN counts as 0.
template <class Q>
inline Q saturate(double r, int32_t zp) {
  if (std::isnan(r)) r = 0;
  constexpr double kLimit = 2147483648.0;  // 2^31: beyond this every result saturates anyway
  r = r < -kLimit ? -kLimit : (r > kLimit ? kLimit : r);
  const int64_t v = static_cast<int64_t>(r) + zp;
  constexpr int64_t lo = std::numeric_limits<Q>::min();
  constexpr int64_t hi = std::numeric_limits<Q>::max();
  return static_cast<Q>(v < lo ? lo : (v > hi ? hi : v));
}

// Two's-complement reduction of an int64 sum to int32 (modulo 2^32); conversions are defined in C++20.
inline int32_t wrap_int32(int64_t acc) { return static_cast<int32_t>(static_cast<uint32_t>(acc)); }

// QuantizeLinear of one value.
template <class Q>
inline Q quantize(float x, float scale, int32_t zp) {
  const float q = x / scale;
  return saturate<Q>(static_cast<double>(round_half_even(q)), zp);
}
template <class Q>
inline Q quantize(int32_t x, float scale, int32_t zp) {
  return saturate<Q>(round_half_even(static_cast<double>(x) / static_cast<double>(scale)), zp);
}

// DequantizeLinear of one value.
inline float dequantize(int64_t x, int64_t zp, float scale) { return static_cast<float>(x - zp) * scale; }

// The value of a stored 8-bit element: int8 (is_signed) or uint8.
inline int64_t byte_value(uint8_t b, bool is_signed) { return is_signed ? static_cast<int8_t>(b) : b; }
// QuantizeLinear of x to int8 (is_signed) or uint8, as the stored byte.
inline uint8_t quantize_byte(float x, float scale, int32_t zp, bool is_signed) {
  return is_signed ? static_cast<uint8_t>(quantize<int8_t>(x, scale, zp)) : quantize<uint8_t>(x, scale, zp);
}

// verge.QGlobalAveragePool: the float32 factor of the exact integer sum, x_scale / (plane size).
inline float global_average_multiplier(float x_scale, int64_t size) {
  return x_scale / static_cast<float>(size);
}

// Requantization multiplier and step (see the header comment).
inline double requant_multiplier(float in_scale, float w_scale, float out_scale) {
  return (static_cast<double>(in_scale) * static_cast<double>(w_scale)) / static_cast<double>(out_scale);
}
template <class Q>
inline Q requantize(int32_t acc, double multiplier, int32_t zp) {
  return saturate<Q>(round_half_even(static_cast<double>(acc) * multiplier), zp);
}

// float32 requantization (see "Requantization schemes"); the scale expression is ONNX Runtime's.
inline float requant_scale_f32(float in_scale, float w_scale, float out_scale) {
  const float product = in_scale * w_scale;  // rounded to float before the division
  return product / out_scale;
}
template <class Q>
inline Q requantize_f32(int32_t acc, float scale, int32_t zp) {
  const float v = static_cast<float>(acc) * scale;
  return saturate<Q>(round_half_even(static_cast<double>(v)), zp);
}

// Fixed-point requantization (see "Requantization schemes").
struct FixedMultiplier {
  int32_t mult = 0;    // [2^30, 2^31), or 0
  int32_t shift = 31;  // total right shift s, 1 <= s <= 62
};
// mult must be finite and in (0, 2^30).
inline FixedMultiplier fixed_multiplier(double mult) {
  int e = 0;
  const double frac = std::frexp(mult, &e);  // mult = frac * 2^e, frac in [0.5, 1)
  int64_t m = static_cast<int64_t>(round_half_even(std::ldexp(frac, 31)));
  int s = 31 - e;
  if (m == (int64_t{1} << 31)) m >>= 1, --s;
  if (s > 62) return {0, 31};
  return {static_cast<int32_t>(m), s};
}
template <class Q>
inline Q requantize_fixed(int32_t acc, FixedMultiplier f, int32_t zp) {
  const int64_t v = (int64_t{acc} * f.mult + (int64_t{1} << (f.shift - 1))) >> f.shift;  // |v| < 2^61
  return saturate<Q>(static_cast<double>(v), zp);
}

}  // namespace verge::ref::quant
