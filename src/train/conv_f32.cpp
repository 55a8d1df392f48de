#include <algorithm>
#include <vector>

#include "core/thread_pool.h"
#include "train/conv2d.h"
#include "train/gemm_train.h"

namespace verge::train {
namespace {

// Scratch slots (gemm_train.h thread_scratch; sgemm uses 0 and 1).
enum Slot { kCol = 2, kPackedCol, kDcol, kPackedDy };

// Images per weight-gradient slice: about 1024 GEMM reduction steps (columns) per slice, and at least 8
// slices when there are 8 images, for load balance. Depends on the shapes only (determinism).
int64_t slice_images(const Conv2d& g) {
  const int64_t by_size = std::max<int64_t>(1, (1024 + g.p() - 1) / g.p());
  return std::min(by_size, std::max<int64_t>(1, (g.n + 7) / 8));
}

bool is_pointwise(const Conv2d& g) {
  return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.pt == 0 && g.pl == 0 && g.oh == g.h &&
         g.ow == g.w;
}

// Sum of d[0, n) in 16 interleaved partial sums (vectorizes; fixed order, so deterministic).
float sum16(const float* d, int64_t n) {
  float acc[16] = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int j = 0; j < 16; ++j) acc[j] += d[i + j];
  for (int j = 0; i < n; ++i, ++j) acc[j] += d[i];
  float sum = 0;
  for (float a : acc) sum += a;
  return sum;
}

}  // namespace

void conv2d_forward_f32(const Conv2d& g, const float* x, const float* w, const float* bias, float* y,
                        ThreadPool* pool) {
  const SgemmKernel& kr = sgemm_kernel();
  const int64_t p = g.p(), k = g.kdim(), mg = g.mg();
  parallel_for(pool, g.n, 1, [&](int64_t n0, int64_t n1) {
    float* col = is_pointwise(g) ? nullptr : thread_scratch(kCol, k * p);
    float* packed = thread_scratch(kPackedCol, packed_b_floats(kr, k, p));
    for (int64_t n = n0; n < n1; ++n)
      for (int64_t gi = 0; gi < g.groups; ++gi) {
        const float* xg = x + (n * g.c + gi * g.cg()) * g.h * g.w;
        if (col) im2col<float, false>(g, const_cast<float*>(xg), col, p);
        pack_b(kr, false, k, p, col ? col : xg, p, packed, k);
        float* yg = y + (n * g.m + gi * mg) * p;
        if (bias)
          for (int64_t o = 0; o < mg; ++o) std::fill_n(yg + o * p, p, bias[gi * mg + o]);
        sgemm_packed(kr, mg, p, k, 1.f, w + gi * mg * k, k, packed, yg, p, bias != nullptr);
      }
  });
}

void conv2d_backward_f32(const Conv2d& g, const float* x, const float* w, const float* dy, float* dx,
                         float* dw, float* db, ThreadPool* pool) {
  const SgemmKernel& kr = sgemm_kernel();
  const int64_t p = g.p(), k = g.kdim(), mg = g.mg(), per = slice_images(g);
  const int64_t slices = (g.n + per - 1) / per, wsize = g.m * k;
  std::vector<float> wt;  // per group W^T [k, mg]
  if (dx) {
    wt.resize(static_cast<size_t>(wsize));
    for (int64_t gi = 0; gi < g.groups; ++gi)
      for (int64_t o = 0; o < mg; ++o)
        for (int64_t kk = 0; kk < k; ++kk) wt[(gi * k + kk) * mg + o] = w[(gi * mg + o) * k + kk];
  }
  // Per slice: dW^T per group [groups][k][mg] and db [m].
  std::vector<float> part_w(dw ? static_cast<size_t>(slices * wsize) : 0),
      part_b(db ? static_cast<size_t>(slices * g.m) : 0);
  parallel_for(pool, slices, 1, [&](int64_t s0, int64_t s1) {
    for (int64_t s = s0; s < s1; ++s) {
      const int64_t n0 = s * per, n1 = std::min(g.n, n0 + per), kt = (n1 - n0) * p;
      for (int64_t gi = 0; gi < g.groups; ++gi) {
        if (dw) {  // dW^T [k, mg] = col [k, kt] * dY^T [kt, mg], images stacked along the reduction
          float* col = thread_scratch(kCol, k * kt);
          float* packed = thread_scratch(kPackedCol, packed_b_floats(kr, kt, mg));
          for (int64_t n = n0; n < n1; ++n) {
            const float* xg = x + (n * g.c + gi * g.cg()) * g.h * g.w;
            const float* dyg = dy + (n * g.m + gi * mg) * p;
            if (is_pointwise(g))
              for (int64_t kk = 0; kk < k; ++kk) std::copy_n(xg + kk * p, p, col + kk * kt + (n - n0) * p);
            else
              im2col<float, false>(g, const_cast<float*>(xg), col + (n - n0) * p, kt);
            pack_b(kr, true, p, mg, dyg, p, packed, kt, (n - n0) * p);
          }
          sgemm_packed(kr, k, mg, kt, 1.f, col, kt, packed, part_w.data() + s * wsize + gi * k * mg, mg,
                       false);
        }
        if (dx) {  // dcol [k, p] = W^T [k, mg] * dY [mg, p], scattered back per image
          float* dcol = thread_scratch(kDcol, k * p);
          float* packed = thread_scratch(kPackedDy, packed_b_floats(kr, mg, p));
          for (int64_t n = n0; n < n1; ++n) {
            pack_b(kr, false, mg, p, dy + (n * g.m + gi * mg) * p, p, packed, mg);
            sgemm_packed(kr, k, p, mg, 1.f, wt.data() + gi * k * mg, mg, packed, dcol, p, false);
            im2col<float, true>(g, dx + (n * g.c + gi * g.cg()) * g.h * g.w, dcol, p);
          }
        }
      }
      if (db)
        for (int64_t n = n0; n < n1; ++n)
          for (int64_t o = 0; o < g.m; ++o) part_b[s * g.m + o] += sum16(dy + (n * g.m + o) * p, p);
    }
  });
  for (int64_t s = 0; s < slices; ++s) {  // fixed order: independent of which thread ran which slice
    if (dw)
      for (int64_t gi = 0; gi < g.groups; ++gi) {
        const float* pw = part_w.data() + s * wsize + gi * k * mg;
        for (int64_t o = 0; o < mg; ++o)
          for (int64_t kk = 0; kk < k; ++kk) dw[(gi * mg + o) * k + kk] += pw[kk * mg + o];
      }
    if (db)
      for (int64_t o = 0; o < g.m; ++o) db[o] += part_b[s * g.m + o];
  }
}

}  // namespace verge::train
