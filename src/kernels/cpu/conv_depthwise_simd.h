// Depthwise convolution row kernel, written once over a vector-traits type V and instantiated by
// conv_depthwise_avx512.cpp (V = 16 x float in __m512) and conv_depthwise_avx2.cpp (8 x float in __m256).
// Include ONLY from those ISA files, after defining V: everything here has internal linkage (anonymous
// namespace), so no ISA-specific code can be merged into portable parts of the binary.
//
// V provides: Vec, kLanes, kRegs (vector registers), kTile (widest register tile), load, store, fmadd,
// add, min, max, set1, zero, activate (vecmath activate_ps).
#pragma once

#include <cstdint>

#include "kernels/cpu/conv_depthwise.h"

namespace verge {
namespace {

template <class V>
struct DwTileArgs {
  typename V::Vec bias, lo, hi;  // bias; clamp bounds (Relu / Clip fused into the tile)
  int64_t xrs = 0;               // floats between consecutive kernel rows in the input (dilation included)
  int64_t nkh = 0;               // kernel rows inside the input for this output row
  int64_t width = 0;             // input columns
  int64_t kw = 0, sw = 1, dw = 1;
  bool clamp = false;
};

// T output pixels starting at input column i0 (= ow * sw - pl, the column of their first tap). xrow: the
// input row of kernel row kh_lo; w: the weights of kernel row kh_lo; sum: the tiles' Sum pixels or
// nullptr; y: the tile's output pixels. Interior tiles read every tap; edge tiles skip taps outside
// columns [0, width) (zero padding).
template <class V>
using DwTileFn = void (*)(const DwTileArgs<V>& a, const float* xrow, int64_t i0, const float* w,
                          const float* sum, float* y);

template <class V, int T>
__attribute__((always_inline)) inline void dw_finish(const DwTileArgs<V>& a, typename V::Vec* acc,
                                                     const float* sum, float* y) {
  constexpr int B = V::kLanes;
  if (sum) {
#pragma GCC unroll 32
    for (int t = 0; t < T; ++t) acc[t] = V::add(acc[t], V::load(sum + t * B));
  }
  if (a.clamp) {
#pragma GCC unroll 32
    for (int t = 0; t < T; ++t) acc[t] = V::min(V::max(acc[t], a.lo), a.hi);
  }
#pragma GCC unroll 32
  for (int t = 0; t < T; ++t) V::store(y + t * B, acc[t]);
}

// Kernel width K, stride S, dilation 1: every input pixel of the row is loaded once and feeds the (up to
// K) accumulators that use it; the K weights of the kernel row stay in registers. kEdge: input pixels
// outside the row are skipped (a predictable branch per pixel, no per-tap work).
template <class V, int K, int S, int T, bool kEdge>
void dw_tile_ks(const DwTileArgs<V>& a, const float* xrow, int64_t i0, const float* w, const float* sum,
                float* y) {
  constexpr int B = V::kLanes;
  typename V::Vec acc[T];
#pragma GCC unroll 32
  for (int t = 0; t < T; ++t) acc[t] = a.bias;
  const int64_t ilo = -i0, ihi = a.width - i0;  // valid pixel positions i: ilo <= i < ihi
  // Pixel i is at x + i * B. Edge tiles may start left of the row: the address is formed in integer
  // arithmetic (no out-of-range pointer arithmetic) and only pixels inside the row are dereferenced.
  const float* x = reinterpret_cast<const float*>(reinterpret_cast<uintptr_t>(xrow) +
                                                  static_cast<uintptr_t>(i0 * B) * sizeof(float));
  for (int64_t r = 0; r < a.nkh; ++r) {
    typename V::Vec wv[K];
#pragma GCC unroll 16
    for (int k = 0; k < K; ++k) wv[k] = V::load(w + k * B);
    constexpr int kPos = (T - 1) * S + K;  // input pixels of the kernel row
    if constexpr (kPos + T + K <= V::kRegs - 1) {
      // All pixels of the row in registers first, then the FMAs ordered tap by tap: consecutive FMAs
      // update different accumulators (T apart), so the 4-cycle FMA latency never stalls the pipe.
      typename V::Vec xv[kPos];
#pragma GCC unroll 64
      for (int i = 0; i < kPos; ++i) {
        xv[i] = kEdge && (i < ilo || i >= ihi) ? V::zero() : V::load(x + i * B);
        // Keep the pixel in a register: GCC would otherwise re-load it as a memory operand of every
        // FMA (K loads per pixel), and Zen 4 issues only one 512-bit load per cycle.
        __asm__("" : "+v"(xv[i]));
      }
#pragma GCC unroll 16
      for (int k = 0; k < K; ++k) {
#pragma GCC unroll 32
        for (int t = 0; t < T; ++t) acc[t] = V::fmadd(xv[t * S + k], wv[k], acc[t]);
      }
    } else {  // too few registers: stream the pixels, each feeding the accumulators that use it
#pragma GCC unroll 64
      for (int i = 0; i < kPos; ++i) {
        if (kEdge && (i < ilo || i >= ihi)) continue;
        typename V::Vec xv = V::load(x + i * B);
        __asm__("" : "+v"(xv));
#pragma GCC unroll 16
        for (int k = 0; k < K; ++k) {
          const int d = i - k;
          if (d >= 0 && d % S == 0 && d / S < T) acc[d / S] = V::fmadd(xv, wv[k], acc[d / S]);
        }
      }
    }
    x += a.xrs;
    w += K * B;
  }
  dw_finish<V, T>(a, acc, sum, y);
}

// Any kernel width, stride and dilation (runtime).
template <class V, int T, bool kEdge>
void dw_tile_any(const DwTileArgs<V>& a, const float* xrow, int64_t i0, const float* w, const float* sum,
                 float* y) {
  constexpr int B = V::kLanes;
  typename V::Vec acc[T];
#pragma GCC unroll 32
  for (int t = 0; t < T; ++t) acc[t] = a.bias;
  for (int64_t r = 0; r < a.nkh; ++r) {
    for (int64_t k = 0; k < a.kw; ++k) {
      const typename V::Vec wv = V::load(w + k * B);
      const int64_t ik = i0 + k * a.dw;
#pragma GCC unroll 32
      for (int t = 0; t < T; ++t) {
        const int64_t iw = ik + t * a.sw;
        if (kEdge && (iw < 0 || iw >= a.width)) continue;
        acc[t] = V::fmadd(V::load(xrow + iw * B), wv, acc[t]);
      }
    }
    xrow += a.xrs;
    w += a.kw * B;
  }
  dw_finish<V, T>(a, acc, sum, y);
}

// tiles[t - 1] computes t output pixels, t = 1 .. V::kTile. K == 0: any kernel width / stride / dilation.
template <class V, int K, int S, int T, bool kEdge>
struct DwFill {
  static void fill(DwTileFn<V>* tiles) {
    if constexpr (K == 0)
      tiles[T - 1] = &dw_tile_any<V, T, kEdge>;
    else
      tiles[T - 1] = &dw_tile_ks<V, K, S, T, kEdge>;
    DwFill<V, K, S, T - 1, kEdge>::fill(tiles);
  }
};
template <class V, int K, int S, bool kEdge>
struct DwFill<V, K, S, 0, kEdge> {
  static void fill(DwTileFn<V>*) {}
};

template <class V, int K, int S>
void dw_fill(DwTileFn<V>* tiles, DwTileFn<V>* edges) {
  DwFill<V, K, S, V::kTile, false>::fill(tiles);
  DwFill<V, K, S, V::kTile, true>::fill(edges);
}

template <class V>
void dw_rows(const DwGeom& g, const DwPlane& p, int64_t oh0, int64_t oh1) {
  constexpr int B = V::kLanes;
  constexpr int TM = V::kTile;
  DwTileArgs<V> a;
  a.bias = V::load(p.bias);
  a.xrs = g.dh * g.w * B;
  a.width = g.w;
  a.kw = g.kw;
  a.sw = g.sw;
  a.dw = g.dw;
  const int kind = g.act.kind;  // verge::ActKind: 0 none, 1 Relu, 2 Clip; others run after the row
  a.clamp = kind == 1 || kind == 2;
  a.lo = V::set1(kind == 2 ? g.act.a : 0.f);
  a.hi = V::set1(kind == 2 ? g.act.b : __builtin_inff());
  const bool post = kind > 2;

  DwTileFn<V> tiles[TM], edges[TM];
  if (g.dw == 1 && g.kw == 3 && g.sw == 1)
    dw_fill<V, 3, 1>(tiles, edges);
  else if (g.dw == 1 && g.kw == 3 && g.sw == 2)
    dw_fill<V, 3, 2>(tiles, edges);
  else if (g.dw == 1 && g.kw == 5 && g.sw == 1)
    dw_fill<V, 5, 1>(tiles, edges);
  else if (g.dw == 1 && g.kw == 5 && g.sw == 2)
    dw_fill<V, 5, 2>(tiles, edges);
  else
    dw_fill<V, 0, 0>(tiles, edges);

  const int64_t row = g.w * B;
  for (int64_t oh = oh0; oh < oh1; ++oh) {
    // Kernel rows [k0, k1) fall inside the input.
    const int64_t ih0 = oh * g.sh - g.pt;
    const int64_t k0 = ih0 < 0 ? (-ih0 + g.dh - 1) / g.dh : 0;
    int64_t k1 = ih0 > g.h - 1 ? 0 : (g.h - 1 - ih0) / g.dh + 1;
    if (k1 > g.kh) k1 = g.kh;
    a.nkh = k1 > k0 ? k1 - k0 : 0;
    const float* xrow = a.nkh ? p.x + (ih0 + k0 * g.dh) * row : p.x;
    const float* wrow = p.w + k0 * g.kw * B;
    float* y = p.y + oh * g.ow * B;
    const float* s = p.sum ? p.sum + oh * g.ow * B : nullptr;
    auto call = [&](DwTileFn<V> fn, int64_t ow) {
      fn(a, xrow, ow * g.sw - g.pl, wrow, s ? s + ow * B : nullptr, y + ow * B);
    };
    int64_t ow = 0;
    while (ow < g.ow_lo) {  // left border
      const int64_t n = g.ow - ow < TM ? g.ow - ow : TM;
      call(edges[n - 1], ow);
      ow += n;
    }
    for (; ow + TM <= g.ow_hi; ow += TM) call(tiles[TM - 1], ow);
    while (ow < g.ow) {  // remainder and right border
      const int64_t n = g.ow - ow < TM ? g.ow - ow : TM;
      call(ow + n <= g.ow_hi ? tiles[n - 1] : edges[n - 1], ow);
      ow += n;
    }
    if (post)
      for (int64_t i = 0; i < g.ow; ++i) V::store(y + i * B, V::activate(V::load(y + i * B), g.act));
  }
}

}  // namespace
}  // namespace verge
