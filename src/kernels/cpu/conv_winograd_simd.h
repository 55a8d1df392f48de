// Winograd F(4x4, 3x3) microkernels written once over a vector type and instantiated by
// conv_winograd_avx512.cpp (16 floats in __m512) and conv_winograd_avx2.cpp (8 floats in __m256); see
// conv_winograd.h for the math and layouts. Include ONLY from those ISA files, at file scope, after the
// including file has defined, in an anonymous namespace inside namespace verge: `Vec`, `kB` (lanes = the
// blocked layout's block), `kCols` (GEMM register block columns), `kFusedTiles` (tiles per fused_row call),
// the v_* operations (add, sub, mul, fmadd, fnmadd, loadu, storeu, store, set1, setzero, activate), and the
// macro VERGE_WINOGRAD_FN(stage) naming the exported function of a stage. Helpers have internal linkage, so
// no ISA code leaks into portable code.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/cpu/conv_winograd.h"

namespace verge {
namespace {

constexpr int kRows = 6;  // GEMM register block: kRows tiles x kCols output blocks
constexpr int cap(int n, int max) { return n < max ? n : max; }  // template arguments beyond the limits

// r = B^T d for one 6-vector (rows of B^T: [2,-3,-4,3,2,0] [0,-2,1,5,2,0] [0,-2,5,-1,-2,0] [0,2,1,-2,-1,0]
// [0,1,-2,-1,2,0] [0,2,-3,-4,3,2]).
static inline void bt6(Vec d0, Vec d1, Vec d2, Vec d3, Vec d4, Vec d5, Vec* r) {
  // 6 adds + 10 FMAs (Zen 4 runs them on separate pipes).
  const Vec two = v_set1(2.f), three = v_set1(3.f), four = v_set1(4.f);
  const Vec a = v_sub(d1, d3), b = v_sub(d2, d4);
  r[3] = v_fmadd(two, a, b);                                    // 2a + b
  r[4] = v_fnmadd(two, b, a);                                   // a - 2b
  r[0] = v_fnmadd(four, a, v_fmadd(two, v_sub(d0, d2), r[4]));  // 2 (d0 - d2) + r4 - 4a
  r[5] = v_fnmadd(four, b, v_fmadd(two, v_sub(d5, d3), r[3]));  // 2 (d5 - d3) + r3 - 4b
  const Vec w = v_fnmadd(two, a, b);                            // b - 2a
  r[1] = v_fmadd(three, v_add(d3, d4), w);                      // b - 2a + 3 (d3 + d4)
  r[2] = v_fnmadd(three, v_sub(d3, d4), v_fmadd(four, b, w));   // 5b - 2a - 3 (d3 - d4)
}

// y = A^T m for one 6-vector (rows of A^T: [1,1,1,1,1,0] [0,1,-1,1/2,-2,0] [0,1,1,1/4,4,0]
// [0,1,-1,1/8,-8,1]).
static inline void at6(Vec m0, Vec m1, Vec m2, Vec m3, Vec m4, Vec m5, Vec* y) {
  const Vec s = v_add(m1, m2), d = v_sub(m1, m2);
  y[0] = v_add(v_add(m0, s), v_add(m3, m4));
  y[1] = v_fmadd(v_set1(0.5f), m3, v_fnmadd(v_set1(2.f), m4, d));
  y[2] = v_fmadd(v_set1(0.25f), m3, v_fmadd(v_set1(4.f), m4, s));
  y[3] = v_add(v_fmadd(v_set1(0.125f), m3, v_fnmadd(v_set1(8.f), m4, d)), m5);
}

// V[xi] = B^T d B for the 6x6 tile at p (row stride rs floats, pixel stride 16); V[xi] at out + xi * os.
static inline void input_tile(const float* p, int64_t rs, float* out, int64_t os) {
  Vec z[36];
  for (int i = 0; i < 6; ++i) {
    const float* q = p + i * rs;
    bt6(v_loadu(q), v_loadu(q + kB), v_loadu(q + 2 * kB), v_loadu(q + 3 * kB), v_loadu(q + 4 * kB),
        v_loadu(q + 5 * kB), z + i * 6);
  }
  for (int j = 0; j < 6; ++j) {
    Vec r[6];
    bt6(z[j], z[6 + j], z[12 + j], z[18 + j], z[24 + j], z[30 + j], r);
    for (int i = 0; i < 6; ++i) v_storeu(out + (i * 6 + j) * os, r[i]);
  }
}

// M[r][j] = sum_k V[r][k] U[j][k] for R tiles x N output blocks (k_len >= 1), accumulators in registers.
// Also prefetches `pf_lines` cache lines from `pf` (weights of a later GEMM), `ppk` per k step.
template <int R, int N>
static void gemm_block(const float* v, int64_t vs, const float* u, int64_t us, float* m, int64_t ms_tile,
                       int64_t ms_block, int64_t k_len, const char* pf, int64_t pf_lines, int64_t ppk) {
  Vec acc[R][N];
  {
    Vec w[N];
#pragma GCC unroll 4
    for (int j = 0; j < N; ++j) w[j] = v_loadu(u + j * us);
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
      const Vec x = v_set1(v[r * vs]);
#pragma GCC unroll 4
      for (int j = 0; j < N; ++j) acc[r][j] = v_mul(x, w[j]);
    }
  }
  for (int64_t k = 1; k < k_len; ++k) {
    for (int64_t p = 0; p < ppk; ++p) {
      const int64_t line = k * ppk + p;
      if (line < pf_lines) _mm_prefetch(pf + line * 64, _MM_HINT_T1);
    }
    Vec w[N];
#pragma GCC unroll 4
    for (int j = 0; j < N; ++j) w[j] = v_loadu(u + j * us + k * kB);
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
      const Vec x = v_set1(v[r * vs + k]);
#pragma GCC unroll 4
      for (int j = 0; j < N; ++j) acc[r][j] = v_fmadd(x, w[j], acc[r][j]);
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int j = 0; j < N; ++j) v_storeu(m + r * ms_tile + j * ms_block, acc[r][j]);
}

using GemmFn = void (*)(const float*, int64_t, const float*, int64_t, float*, int64_t, int64_t, int64_t,
                        const char*, int64_t, int64_t);

template <int N>
static GemmFn gemm_for_rows(int r) {
  switch (r) {
    case 1:
      return gemm_block<1, N>;
    case 2:
      return gemm_block<2, N>;
    case 3:
      return gemm_block<3, N>;
    case 4:
      return gemm_block<4, N>;
    case 5:
      return gemm_block<5, N>;
    default:
      return gemm_block<6, N>;
  }
}

static GemmFn gemm_for(int r, int n) {
  switch (n) {
    case 1:
      return gemm_for_rows<1>(r);
    case 2:
      return gemm_for_rows<cap(2, kCols)>(r);
    case 3:
      return gemm_for_rows<cap(3, kCols)>(r);
    default:
      return gemm_for_rows<cap(4, kCols)>(r);
  }
}

// The streamed path computes U' = G' g G'^T with G' = diag(1/s) G integral (rows [1,0,0] [1,1,1] [1,-1,1]
// [4,2,1] [1,-2,4] [0,0,1], s = 1/2, 1/6, 1/6, 4/15, 1/30, 1/2) and folds s_a s_b into the repacked V.
static constexpr float kRowScale[6] = {0.5f, 1.f / 6, 1.f / 6, 4.f / 15, 1.f / 30, 0.5f};

// y = G' x for one 3-vector.
static inline void g3i(Vec x0, Vec x1, Vec x2, Vec* y) {
  const Vec p = v_add(x0, x2);
  y[0] = x0;
  y[1] = v_add(p, x1);
  y[2] = v_sub(p, x1);
  y[3] = v_fmadd(v_set1(4.f), x0, v_fmadd(v_set1(2.f), x1, x2));
  y[4] = v_fmadd(v_set1(4.f), x2, v_fnmadd(v_set1(2.f), x1, x0));
  y[5] = x2;
}

// Row A of (G' g) for one kernel column: g0, g1, g2 are the kernel's rows at that column.
template <int A>
static inline Vec g_row(const float* g) {
  const auto ld = [g](int row) { return v_loadu(g + row * 3 * kB); };
  switch (A) {
    case 0:
      return ld(0);
    case 1:
      return v_add(v_add(ld(0), ld(2)), ld(1));
    case 2:
      return v_sub(v_add(ld(0), ld(2)), ld(1));
    case 3:
      return v_fmadd(v_set1(4.f), ld(0), v_fmadd(v_set1(2.f), ld(1), ld(2)));
    case 4:
      return v_fmadd(v_set1(4.f), ld(2), v_fnmadd(v_set1(2.f), ld(1), ld(0)));
    default:
      return ld(2);
  }
}

// Streamed weights, T tiles, one output block, the 6 points xi = 6A..6A+5: per input channel the row A
// of U = G g G^T is computed in registers from the raw kernel and used right away (no U buffer).
// vs = row A of V repacked as [k][6][T] and scaled by s_a s_b. Prefetches `pf_lines` lines from `pf` (later
// kernels), `ppk` per channel.
template <int A, int T>
static void fused_row(const float* w, int64_t k_len, const float* vs, float* m, int64_t m_tile,
                      const char* pf, int64_t pf_lines, int64_t ppk) {
  Vec acc[6][T];
#pragma GCC unroll 6
  for (int b = 0; b < 6; ++b)
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) acc[b][t] = v_setzero();
  for (int64_t k = 0; k < k_len; ++k) {
    for (int64_t p = 0; p < ppk; ++p) {
      const int64_t line = k * ppk + p;
      if (line < pf_lines) _mm_prefetch(pf + line * 64, _MM_HINT_T1);
    }
    const float* g = w + k * 9 * kB;
    Vec u[6];
    g3i(g_row<A>(g), g_row<A>(g + kB), g_row<A>(g + 2 * kB), u);
    const float* vk = vs + k * 6 * T;
#pragma GCC unroll 6
    for (int b = 0; b < 6; ++b)
#pragma GCC unroll 4
      for (int t = 0; t < T; ++t) acc[b][t] = v_fmadd(v_set1(vk[b * T + t]), u[b], acc[b][t]);
  }
#pragma GCC unroll 6
  for (int b = 0; b < 6; ++b)
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) v_storeu(m + t * m_tile + (A * 6 + b) * kB, acc[b][t]);
}

using FusedFn = void (*)(const float*, int64_t, const float*, float*, int64_t, const char*, int64_t, int64_t);

template <int T>
static FusedFn fused_for_row(int a) {
  switch (a) {
    case 0:
      return fused_row<0, T>;
    case 1:
      return fused_row<1, T>;
    case 2:
      return fused_row<2, T>;
    case 3:
      return fused_row<3, T>;
    case 4:
      return fused_row<4, T>;
    default:
      return fused_row<5, T>;
  }
}

static FusedFn fused_for(int a, int t) {
  switch (t) {
    case 1:
      return fused_for_row<1>(a);
    case 2:
      return fused_for_row<cap(2, kFusedTiles)>(a);
    case 3:
      return fused_for_row<cap(3, kFusedTiles)>(a);
    default:
      return fused_for_row<cap(4, kFusedTiles)>(a);
  }
}

}  // namespace

void VERGE_WINOGRAD_FN(input)(const WinogradArgs& a, int64_t t0, int64_t nt, float* v, int64_t tb) {
  const int64_t cp = a.cb * kB, plane = a.h * a.w * kB, per_image = a.tiles_h * a.tiles_w;
  const int64_t os = tb * cp;  // V stride between points xi
  alignas(64) float patch[36 * kB];
  for (int64_t t = 0; t < nt; ++t) {
    const int64_t g = t0 + t, n = g / per_image, ty = g % per_image / a.tiles_w, tx = g % a.tiles_w;
    const int64_t iy0 = ty * 4 - a.pad_t, ix0 = tx * 4 - a.pad_l;
    const bool inside = iy0 >= 0 && ix0 >= 0 && iy0 + 6 <= a.h && ix0 + 6 <= a.w;
    const int64_t i0 = iy0 < 0 ? -iy0 : 0, i1 = a.h - iy0 < 6 ? a.h - iy0 : 6;
    const int64_t j0 = ix0 < 0 ? -ix0 : 0, j1 = a.w - ix0 < 6 ? a.w - ix0 : 6;
    for (int64_t cb = 0; cb < a.cb; ++cb) {
      const float* img = a.x + (n * a.cb + cb) * plane;
      float* out = v + t * cp + cb * kB;
      if (inside) {
        input_tile(img + (iy0 * a.w + ix0) * kB, a.w * kB, out, os);
        continue;
      }
      for (int64_t i = 0; i < 6; ++i)
        for (int64_t j = 0; j < 6; ++j) {
          const bool ok = i >= i0 && i < i1 && j >= j0 && j < j1;
          v_store(patch + (i * 6 + j) * kB,
                  ok ? v_loadu(img + ((iy0 + i) * a.w + ix0 + j) * kB) : v_setzero());
        }
      input_tile(patch, 6 * kB, out, os);
    }
  }
}

void VERGE_WINOGRAD_FN(gemm)(const WinogradGemm& g) {
  const int64_t ms_block = 36 * kB, row_blocks = (g.tiles + kRows - 1) / kRows;
  for (int xi = 0; xi < 36; ++xi) {
    const float* vx = g.v + xi * g.v_xi;
    const float* ux = g.u + xi * g.u_xi;
    for (int64_t j = 0; j < g.blocks; j += kCols) {
      const int n = static_cast<int>(g.blocks - j < kCols ? g.blocks - j : kCols);
      // The weights of the next (xi, column group) stream in while this one computes (when asked to).
      const float* next = nullptr;
      int64_t next_blocks = 0;
      if (g.prefetch && j + kCols < g.blocks) {
        next = ux + (j + kCols) * g.u_block;
        next_blocks = g.blocks - j - kCols < kCols ? g.blocks - j - kCols : kCols;
      } else if (g.prefetch && xi + 1 < 36) {
        next = ux + g.u_xi;
        next_blocks = g.blocks < kCols ? g.blocks : kCols;
      }
      const int64_t next_lines = next_blocks * g.k * kB * 4 / 64;
      const int64_t slice = (next_lines + row_blocks - 1) / row_blocks;
      const int64_t ppk = next ? (slice + g.k - 1) / g.k : 0;
      for (int64_t t = 0, i = 0; t < g.tiles; t += kRows, ++i) {
        const int r = static_cast<int>(g.tiles - t < kRows ? g.tiles - t : kRows);
        float* m = g.m + t * g.m_tile + j * ms_block + xi * kB;
        const int64_t lines = next_lines - i * slice < slice ? next_lines - i * slice : slice;
        const char* pf = next ? reinterpret_cast<const char*>(next) + i * slice * 64 : nullptr;
        gemm_for(r, n)(vx + t * g.v_tile, g.v_tile, ux + j * g.u_block, g.u_block, m, g.m_tile, ms_block, g.k,
                       pf, lines, ppk);
      }
    }
  }
}

void VERGE_WINOGRAD_FN(repack)(const float* v, int64_t v_xi, int64_t v_tile, int64_t k_len, int64_t tiles,
                               float* vs) {
  for (int64_t t0 = 0; t0 < tiles; t0 += kFusedTiles) {
    const int64_t tg = tiles - t0 < kFusedTiles ? tiles - t0 : kFusedTiles;
    float* out = vs + t0 * 36 * k_len;  // this tile group: [a][k][b][t] for tg tiles
    for (int a = 0; a < 6; ++a)
      for (int64_t k = 0; k < k_len; ++k)
        for (int b = 0; b < 6; ++b) {
          const float scale = kRowScale[a] * kRowScale[b];
          const float* src = v + (a * 6 + b) * v_xi + t0 * v_tile + k;
          for (int64_t t = 0; t < tg; ++t) out[((a * k_len + k) * 6 + b) * tg + t] = src[t * v_tile] * scale;
        }
  }
}

void VERGE_WINOGRAD_FN(stream)(const WinogradStream& f) {
  const int64_t w_lines = f.k * 9 * kB * 4 / 64;  // one output block's kernels
  const int64_t groups = (f.tiles + kFusedTiles - 1) / kFusedTiles, calls = 6 * groups;
  const int64_t slice = (w_lines + calls - 1) / calls, ppk = (slice + f.k - 1) / f.k;
  for (int64_t t0 = 0, i = 0; t0 < f.tiles; t0 += kFusedTiles) {
    const int tg = static_cast<int>(f.tiles - t0 < kFusedTiles ? f.tiles - t0 : kFusedTiles);
    const float* vs = f.vs + t0 * 36 * f.k;
    for (int a = 0; a < 6; ++a, ++i) {
      const int64_t lines = w_lines - i * slice < slice ? w_lines - i * slice : slice;
      const char* pf = f.next ? reinterpret_cast<const char*>(f.next) + i * slice * 64 : nullptr;
      fused_for(a, tg)(f.w, f.k, vs + a * f.k * 6 * tg, f.m + t0 * f.m_tile, f.m_tile, pf, f.next ? lines : 0,
                       ppk);
    }
  }
}

void VERGE_WINOGRAD_FN(output)(const WinogradArgs& a, const float* mbuf, int64_t t0, int64_t nt, int64_t mb0,
                               int64_t mb1) {
  const int64_t nmb = mb1 - mb0, per_image = a.tiles_h * a.tiles_w;
  for (int64_t t = 0; t < nt; ++t) {
    const int64_t g = t0 + t, n = g / per_image, ty = g % per_image / a.tiles_w, tx = g % a.tiles_w;
    const int64_t oy0 = ty * 4, ox0 = tx * 4;
    const int64_t rows = a.oh - oy0 < 4 ? a.oh - oy0 : 4, cols = a.ow - ox0 < 4 ? a.ow - ox0 : 4;
    for (int64_t mb = mb0; mb < mb1; ++mb) {
      const float* m = mbuf + (t * nmb + (mb - mb0)) * 36 * kB;
      Vec s[24];  // s[u * 6 + j] = (A^T M)[u][j]
      for (int j = 0; j < 6; ++j) {
        Vec y[4];
        at6(v_loadu(m + j * kB), v_loadu(m + (6 + j) * kB), v_loadu(m + (12 + j) * kB),
            v_loadu(m + (18 + j) * kB), v_loadu(m + (24 + j) * kB), v_loadu(m + (30 + j) * kB), y);
        for (int u = 0; u < 4; ++u) s[u * 6 + j] = y[u];
      }
      const Vec bias = v_loadu(a.bias + mb * kB);
      const int64_t off = ((n * a.mb + mb) * a.oh + oy0) * a.ow * kB + ox0 * kB;
      for (int u = 0; u < rows; ++u) {
        Vec y[4];
        at6(s[u * 6], s[u * 6 + 1], s[u * 6 + 2], s[u * 6 + 3], s[u * 6 + 4], s[u * 6 + 5], y);
        const int64_t row = off + u * a.ow * kB;
        for (int c = 0; c < cols; ++c) {
          Vec r = v_add(y[c], bias);
          if (a.sum) r = v_add(r, v_loadu(a.sum + row + c * kB));
          v_storeu(a.y + row + c * kB, v_activate(r, a.act));
        }
      }
    }
  }
}

}  // namespace verge
