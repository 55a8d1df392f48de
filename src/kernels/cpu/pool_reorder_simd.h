// Pooling and reorder microkernels written once over a vector-traits type V and instantiated by
// pool_reorder_avx512.cpp (16 x float) and pool_reorder_avx2.cpp (8 x float). Include ONLY from those
// ISA files, after defining V: everything here has internal linkage (anonymous namespace).
//
// V provides: Vec, kLanes, load, store, max, add, mul, set1, zero, transpose (kLanes x kLanes in place),
// merge (lanes of a permuted source vector selected by a ConcatPart).
#pragma once

#include "kernels/cpu/pool_reorder.h"

namespace verge {
namespace {

template <class V, bool kMax>
__attribute__((always_inline)) inline typename V::Vec pool_op(typename V::Vec acc, typename V::Vec x) {
  if constexpr (kMax)
    return V::max(x, acc);
  else
    return V::add(acc, x);
}

// T interior output pixels: x = input of the first tap of the first pixel (kernel row kh_lo).
template <class V, bool kMax, int T>
__attribute__((always_inline)) inline void pool_tile(const PoolGeom& g, const float* x, int64_t nkh,
                                                     const float* inv, float* y) {
  constexpr int B = V::kLanes;
  typename V::Vec acc[T];
  const typename V::Vec init = kMax ? V::set1(-__builtin_inff()) : V::zero();
#pragma GCC unroll 8
  for (int t = 0; t < T; ++t) acc[t] = init;
  const int64_t xs = g.sw * B, xk = g.dw * B, xr = g.dh * g.w * B;
  for (int64_t r = 0; r < nkh; ++r, x += xr) {
    const float* xp = x;
    for (int64_t k = 0; k < g.kw; ++k, xp += xk) {
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) acc[t] = pool_op<V, kMax>(acc[t], V::load(xp + t * xs));
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < T; ++t) {
    if constexpr (!kMax) acc[t] = V::mul(acc[t], V::set1(inv[t]));
    V::store(y + t * B, acc[t]);
  }
}

template <class V, bool kMax>
void pool_rows(const PoolGeom& g, const float* x, float* y, int64_t oh0, int64_t oh1) {
  constexpr int B = V::kLanes;
  const int64_t row = g.w * B;
  const typename V::Vec init = kMax ? V::set1(-__builtin_inff()) : V::zero();
  for (int64_t oh = oh0; oh < oh1; ++oh) {
    const int64_t ih0 = oh * g.sh - g.pt;
    const int64_t k0 = ih0 < 0 ? (-ih0 + g.dh - 1) / g.dh : 0;
    int64_t k1 = ih0 > g.h - 1 ? 0 : (g.h - 1 - ih0) / g.dh + 1;
    if (k1 > g.kh) k1 = g.kh;
    const int64_t nkh = k1 > k0 ? k1 - k0 : 0;
    const float* xrow = nkh ? x + (ih0 + k0 * g.dh) * row : x;
    float* yrow = y + oh * g.ow * B;
    const float* inv = g.inv ? g.inv + oh * g.ow : nullptr;
    auto border = [&](int64_t ow) {
      const int64_t iw0 = ow * g.sw - g.pl;
      const int64_t c0 = iw0 < 0 ? (-iw0 + g.dw - 1) / g.dw : 0;
      int64_t c1 = iw0 > g.w - 1 ? 0 : (g.w - 1 - iw0) / g.dw + 1;
      if (c1 > g.kw) c1 = g.kw;
      typename V::Vec acc = init;
      const float* xr = xrow;
      for (int64_t r = 0; r < nkh; ++r, xr += g.dh * row)
        for (int64_t k = c0; k < c1; ++k) acc = pool_op<V, kMax>(acc, V::load(xr + (iw0 + k * g.dw) * B));
      if constexpr (!kMax) acc = V::mul(acc, V::set1(inv[ow]));
      V::store(yrow + ow * B, acc);
    };
    int64_t ow = 0;
    for (; ow < g.ow_lo; ++ow) border(ow);
    for (; ow + 4 <= g.ow_hi; ow += 4)
      pool_tile<V, kMax, 4>(g, xrow + (ow * g.sw - g.pl) * B, nkh, inv ? inv + ow : nullptr, yrow + ow * B);
    for (; ow < g.ow_hi; ++ow)
      pool_tile<V, kMax, 1>(g, xrow + (ow * g.sw - g.pl) * B, nkh, inv ? inv + ow : nullptr, yrow + ow * B);
    for (; ow < g.ow; ++ow) border(ow);
  }
}

template <class V, bool kMax>
void global_pool(const float* x, float* y, int64_t planes, int64_t pixels) {
  constexpr int B = V::kLanes;
  const typename V::Vec init = kMax ? V::set1(-__builtin_inff()) : V::zero();
  const typename V::Vec scale = V::set1(1.f / static_cast<float>(pixels));
  for (int64_t p = 0; p < planes; ++p) {
    const float* xp = x + p * pixels * B;
    typename V::Vec a0 = init, a1 = init, a2 = init, a3 = init;
    int64_t i = 0;
    for (; i + 4 <= pixels; i += 4) {
      a0 = pool_op<V, kMax>(a0, V::load(xp + i * B));
      a1 = pool_op<V, kMax>(a1, V::load(xp + (i + 1) * B));
      a2 = pool_op<V, kMax>(a2, V::load(xp + (i + 2) * B));
      a3 = pool_op<V, kMax>(a3, V::load(xp + (i + 3) * B));
    }
    for (; i < pixels; ++i) a0 = pool_op<V, kMax>(a0, V::load(xp + i * B));
    typename V::Vec r = pool_op<V, kMax>(pool_op<V, kMax>(a0, a1), pool_op<V, kMax>(a2, a3));
    V::store(y + p * B, kMax ? r : V::mul(r, scale));
  }
}

template <class V>
void to_blocked_impl(const float* x, int64_t stride, int64_t channels, float* y, int64_t p0, int64_t p1) {
  constexpr int B = V::kLanes;
  typename V::Vec r[B];
  int64_t p = p0;
  for (; p + B <= p1; p += B) {
#pragma GCC unroll 16
    for (int l = 0; l < B; ++l) r[l] = l < channels ? V::load(x + l * stride + p) : V::zero();
    V::transpose(r);
#pragma GCC unroll 16
    for (int i = 0; i < B; ++i) V::store(y + (p + i) * B, r[i]);
  }
  for (; p < p1; ++p)
    for (int l = 0; l < B; ++l) y[p * B + l] = l < channels ? x[l * stride + p] : 0.f;
}

template <class V>
void from_blocked_impl(const float* x, float* y, int64_t stride, int64_t channels, int64_t p0, int64_t p1) {
  constexpr int B = V::kLanes;
  typename V::Vec r[B];
  int64_t p = p0;
  for (; p + B <= p1; p += B) {
#pragma GCC unroll 16
    for (int i = 0; i < B; ++i) r[i] = V::load(x + (p + i) * B);
    V::transpose(r);
#pragma GCC unroll 16
    for (int l = 0; l < B; ++l)
      if (l < channels) V::store(y + l * stride + p, r[l]);
  }
  for (; p < p1; ++p)
    for (int64_t l = 0; l < channels; ++l) y[l * stride + p] = x[p * B + l];
}

template <class V>
void concat_lanes_impl(const float* const* src, const ConcatPart* parts, int64_t nparts, float* dst,
                       int64_t pixels) {
  constexpr int B = V::kLanes;
  for (int64_t p = 0; p < pixels; ++p) {
    typename V::Vec v = V::zero();
    for (int64_t k = 0; k < nparts; ++k) v = V::merge(v, parts[k], V::load(src[k] + p * B));
    V::store(dst + p * B, v);
  }
}

}  // namespace
}  // namespace verge
