// Direct blocked convolution, AVX2+FMA, block 8 (see conv_direct.h).
// GCC 12 false positive inside the intrinsics headers (the self-initialized `__Y` of _mm*_undefined_ps).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <immintrin.h>

#include <cstdint>

#include "kernels/cpu/conv_direct.h"
#include "kernels/cpu/vecmath_avx2.h"

namespace verge {
namespace {

constexpr int kB = 8;
constexpr int kMaxNb = 2;
constexpr int kMaxT = 12;
constexpr int kMaxTile[kMaxNb] = {12, 6};  // 16 ymm registers: accumulators + weights + broadcast

using TileFn = void (*)(const ConvDirectArgs&, const float* x, const float* w, const float* bias,
                        const float* sum, float* y, int64_t ih0, int64_t iw0, int64_t kh0, int64_t kh1,
                        int64_t count);

// Activations without a cheap inline form run in place over the stored tile.
__attribute__((noinline)) void activate_tile(float* y, int64_t block_stride, int nb, int n,
                                             const ActParams& act) {
  for (int b = 0; b < nb; ++b)
    for (int i = 0; i < n; ++i) {
      float* p = y + b * block_stride + i * kB;
      _mm256_storeu_ps(p, avx2::activate_ps(_mm256_loadu_ps(p), act));
    }
}

// Bit j (j < t) is set when input column col + j * s lies in [0, w).
inline uint32_t valid_columns(int64_t col, int64_t s, int64_t w, int t) {
  const int64_t lo = col >= 0 ? 0 : (-col + s - 1) / s;
  int64_t hi = col > w - 1 ? -1 : (w - 1 - col) / s;  // inclusive
  if (hi > t - 1) hi = t - 1;
  if (lo > hi) return 0;
  return ((2u << hi) - 1) & ~((1u << lo) - 1);
}

// Bias is in the accumulators; adds Sum, applies the activation and stores NB blocks x T pixels.
template <int NB, int T>
inline void finish(__m256 (&acc)[NB][T], const ConvDirectArgs& a, const float* sum, float* y) {
  const int64_t ostride = a.OH * a.OW * kB;
  if (sum) {
#pragma GCC unroll 4
    for (int b = 0; b < NB; ++b)
#pragma GCC unroll 32
      for (int j = 0; j < T; ++j)
        acc[b][j] = _mm256_add_ps(acc[b][j], _mm256_loadu_ps(sum + b * ostride + j * kB));
  }
  if (a.act.kind == 1) {
    const __m256 zero = _mm256_setzero_ps();
#pragma GCC unroll 4
    for (int b = 0; b < NB; ++b)
#pragma GCC unroll 32
      for (int j = 0; j < T; ++j) acc[b][j] = _mm256_max_ps(acc[b][j], zero);
  } else if (a.act.kind == 2) {
    const __m256 lo = _mm256_set1_ps(a.act.a), hi = _mm256_set1_ps(a.act.b);
#pragma GCC unroll 4
    for (int b = 0; b < NB; ++b)
#pragma GCC unroll 32
      for (int j = 0; j < T; ++j) acc[b][j] = _mm256_min_ps(_mm256_max_ps(acc[b][j], lo), hi);
  }
#pragma GCC unroll 4
  for (int b = 0; b < NB; ++b)
#pragma GCC unroll 32
    for (int j = 0; j < T; ++j) _mm256_storeu_ps(y + b * ostride + j * kB, acc[b][j]);
  if (a.act.kind > 2) activate_tile(y, ostride, NB, T, a.act);
}

// `count` tiles side by side: NB output blocks x T pixels of one output row each (input stride S between
// pixels; the tiles are T * SW input columns apart). BORDER
// tiles skip taps that fall into the left/right padding (their per-pixel tap masks are loop invariant:
// unswitching would copy the inner loop 2^T times).
template <int NB, int T, int S, bool BORDER>
__attribute__((optimize("no-unswitch-loops"))) void tile(const ConvDirectArgs& a, const float* x,
                                                         const float* w, const float* bias, const float* sum,
                                                         float* y, int64_t ih0, int64_t iw0, int64_t kh0,
                                                         int64_t kh1, int64_t count) {
  for (int64_t c = 0; c < count; ++c, iw0 += T * a.SW, y += T * kB, sum = sum ? sum + T * kB : nullptr) {
    __m256 acc[NB][T];
#pragma GCC unroll 4
    for (int b = 0; b < NB; ++b) {
      const __m256 bv = _mm256_loadu_ps(bias + b * kB);
#pragma GCC unroll 32
      for (int j = 0; j < T; ++j) acc[b][j] = bv;
    }
    const int64_t KH = a.KH, KW = a.KW, plane = a.H * a.W * kB, row = a.W * kB;
    for (int64_t icb = 0; icb < a.Cb; ++icb) {
      const int64_t icr = a.C - icb * kB < kB ? a.C - icb * kB : kB;
      const float* xb = x + icb * plane;
      const float* wb = w + icb * kB * KH * KW * NB * kB;
      for (int64_t kh = kh0; kh < kh1; ++kh) {
        const float* xr = xb + (ih0 + kh * a.DH) * row;
        const float* wp = wb + kh * KW * icr * NB * kB;
        for (int64_t kw = 0; kw < KW; ++kw) {
          const int64_t col = iw0 + kw * a.DW;
          const float* xp = xr + col * kB;
          uint32_t mask = ~0u;
          if (BORDER) {
            mask = valid_columns(col, S, a.W, T);
            if (mask == 0) {
              wp += icr * NB * kB;
              continue;
            }
          }
          for (int64_t ic = 0; ic < icr; ++ic, wp += NB * kB) {
            __m256 wv[NB];
#pragma GCC unroll 4
            for (int b = 0; b < NB; ++b) wv[b] = _mm256_loadu_ps(wp + b * kB);
#pragma GCC unroll 32
            for (int j = 0; j < T; ++j) {
              if (BORDER && !((mask >> j) & 1)) continue;
              const __m256 xv = _mm256_set1_ps(xp[j * S * kB + ic]);
#pragma GCC unroll 4
              for (int b = 0; b < NB; ++b) acc[b][j] = _mm256_fmadd_ps(xv, wv[b], acc[b][j]);
            }
          }
        }
      }
    }
    finish<NB, T>(acc, a, sum, y);
  }
}

// clang-format off
#define VERGE_TILE(NB, T) \
  {{tile<NB, T, 1, false>, tile<NB, T, 1, true>}, {tile<NB, T, 2, false>, tile<NB, T, 2, true>}}
#define VERGE_TILES3(NB, T) VERGE_TILE(NB, T), VERGE_TILE(NB, T + 1), VERGE_TILE(NB, T + 2)
#define VERGE_TILES_1_9(NB) VERGE_TILES3(NB, 1), VERGE_TILES3(NB, 4), VERGE_TILES3(NB, 7)
// clang-format on

// [NB - 1][T - 1][stride 1 / 2][border]
const TileFn kTiles[kMaxNb][kMaxT][2][2] = {
    {VERGE_TILES_1_9(1), VERGE_TILES3(1, 10)},
    {VERGE_TILE(2, 1), VERGE_TILE(2, 2), VERGE_TILE(2, 3), VERGE_TILES3(2, 4)},
};
#undef VERGE_TILES_1_9
#undef VERGE_TILES3
#undef VERGE_TILE

}  // namespace

int64_t conv_direct_avx2_max_tile(int64_t group_blocks) {
  return group_blocks >= 1 && group_blocks <= kMaxNb ? kMaxTile[group_blocks - 1] : 0;
}

void conv_direct_avx2(const ConvDirectArgs& a, int64_t begin, int64_t end) {
  if (begin >= end) return;
  // Task index = mixed-radix digits, fastest first: tile, row, group, image.
  int64_t k = 0, oh = 0, g = 0, n = 0;
  int64_t* const digit[4] = {&k, &oh, &g, &n};
  const int64_t radix[4] = {a.tiles, a.OH, a.groups, a.N};
  int64_t r = begin;
  for (int i = 0; i < 4; ++i) {
    *digit[i] = r % radix[i];
    r /= radix[i];
  }
  for (int64_t t = begin; t < end; ++t) {
    int64_t ob = 0, nb = 0;
    conv_direct_group(a, g, &ob, &nb);  // no half groups with AVX2
    const int64_t ow0 = k * a.tile_w;
    const int64_t tw = a.OW - ow0 < a.tile_w ? a.OW - ow0 : a.tile_w;
    const int64_t ih0 = oh * a.SH - a.PT, iw0 = ow0 * a.SW - a.PL;
    const int64_t kh0 = ih0 >= 0 ? 0 : (-ih0 + a.DH - 1) / a.DH;
    int64_t kh1 = ih0 > a.H - 1 ? 0 : (a.H - 1 - ih0) / a.DH + 1;
    if (kh1 > a.KH) kh1 = a.KH;
    if (kh1 < kh0) kh1 = kh0;
    const bool border = iw0 < 0 || iw0 + (tw - 1) * a.SW + (a.KW - 1) * a.DW >= a.W;
    const int s = tw > 1 && a.SW == 2 ? 1 : 0;  // tiles wider than 1 pixel exist for strides 1 and 2 only
    const TileFn f = kTiles[nb - 1][tw - 1][s][border ? 1 : 0];
    const int64_t off = ((n * a.Mb + ob) * a.OH * a.OW + oh * a.OW + ow0) * kB;
    // Consecutive full-width interior tiles of this row run in one call.
    int64_t count = 1;
    if (!border) {
      const int64_t run = end - t < a.tiles - k ? end - t : a.tiles - k;
      for (; count < run; ++count) {
        const int64_t o = (k + count) * a.tile_w;
        if (a.OW - o < a.tile_w || o * a.SW - a.PL + (a.tile_w - 1) * a.SW + (a.KW - 1) * a.DW >= a.W) break;
      }
    }
    f(a, a.x + n * a.Cb * a.H * a.W * kB, a.w + ob * a.block_stride, a.bias + ob * kB,
      a.sum ? a.sum + off : nullptr, a.y + off, ih0, iw0, kh0, kh1, count);
    t += count - 1;
    for (int64_t c = 0; c < count; ++c)
      for (int i = 0; i < 4 && ++*digit[i] == radix[i]; ++i) *digit[i] = 0;
  }
}

}  // namespace verge
