// 2-D convolution geometry and im2col/col2im shared by the training engine's plain (double) Conv and its
// float32 GEMM path (conv_f32.cpp).
//
// Layouts: x [n, c, h, w], weights [m, c/groups, kh, kw], y [n, m, oh, ow], all row-major. The column
// matrix of one image and group has kdim() = cg*kh*kw rows and p() = oh*ow columns.
#pragma once

#include <algorithm>
#include <cstdint>

namespace verge {
class ThreadPool;
}

namespace verge::train {

struct Conv2d {
  int64_t n, c, h, w, m, groups, kh, kw, oh, ow, sh, sw, dh, dw, pt, pl;
  int64_t cg() const { return c / groups; }
  int64_t mg() const { return m / groups; }
  int64_t kdim() const { return cg() * kh * kw; }
  int64_t p() const { return oh * ow; }
};

// col[(ci*kh + ki)*kw + kj][oy*ow + ox] (row stride ld) = x[ci][oy*sh - pt + ki*dh][ox*sw - pl + kj*dw],
// 0 outside the image; with kAdd the transpose: x += col scattered back (col2im). `x` is one image and
// group ([cg, h, w]).
template <class T, bool kAdd>
void im2col(const Conv2d& g, T* x, T* col, int64_t ld) {
  for (int64_t ci = 0; ci < g.cg(); ++ci)
    for (int64_t ki = 0; ki < g.kh; ++ki)
      for (int64_t kj = 0; kj < g.kw; ++kj) {
        T* row = col + ((ci * g.kh + ki) * g.kw + kj) * ld;
        // Output columns [lo, hi) read inside the image: ox*sw + off in [0, w).
        const int64_t off = kj * g.dw - g.pl;
        const int64_t hi = std::min(g.ow, g.w - off <= 0 ? 0 : (g.w - off + g.sw - 1) / g.sw);
        const int64_t lo = std::min(hi, off >= 0 ? 0 : (-off + g.sw - 1) / g.sw);
        for (int64_t oy = 0; oy < g.oh; ++oy) {
          const int64_t iy = oy * g.sh - g.pt + ki * g.dh;
          T* r = row + oy * g.ow;
          if (iy < 0 || iy >= g.h) {
            if constexpr (!kAdd) std::fill(r, r + g.ow, T(0));
            continue;
          }
          T* xr = x + (ci * g.h + iy) * g.w;
          if constexpr (kAdd) {
            for (int64_t ox = lo; ox < hi; ++ox) xr[ox * g.sw + off] += r[ox];
          } else {
            std::fill(r, r + lo, T(0));
            if (g.sw == 1)
              std::copy(xr + lo + off, xr + hi + off, r + lo);
            else
              for (int64_t ox = lo; ox < hi; ++ox) r[ox] = xr[ox * g.sw + off];
            std::fill(r + hi, r + g.ow, T(0));
          }
        }
      }
}

// float32 Conv on the training GEMM (gemm_train.h), split over `pool` by image (forward, input gradient)
// and by fixed slices of images (weight and bias gradients: per-slice partial sums added in slice order,
// slices fixed by the shapes alone, so results do not depend on the thread count).
// y must be sized [n, m, oh, ow]; bias may be null.
void conv2d_forward_f32(const Conv2d& g, const float* x, const float* w, const float* bias, float* y,
                        ThreadPool* pool);
// ADDS the gradients to dx, dw, db (each may be null).
void conv2d_backward_f32(const Conv2d& g, const float* x, const float* w, const float* dy, float* dx,
                         float* dw, float* db, ThreadPool* pool);

}  // namespace verge::train
