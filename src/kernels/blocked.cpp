#include "kernels/blocked.h"

namespace verge {

void to_blocked(const float* x, float* y, int64_t n, int64_t c, int64_t s, int64_t b) {
  const int64_t cb = blocks_of(c, b);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t blk = 0; blk < cb; ++blk) {
      float* dst = y + (i * cb + blk) * s * b;
      for (int64_t p = 0; p < s; ++p)
        for (int64_t l = 0; l < b; ++l) {
          const int64_t ch = blk * b + l;
          dst[p * b + l] = ch < c ? x[(i * c + ch) * s + p] : 0.f;
        }
    }
}

void from_blocked(const float* x, float* y, int64_t n, int64_t c, int64_t s, int64_t b) {
  const int64_t cb = blocks_of(c, b);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t ch = 0; ch < c; ++ch) {
      const float* src = x + ((i * cb + ch / b) * s) * b + ch % b;
      float* dst = y + (i * c + ch) * s;
      for (int64_t p = 0; p < s; ++p) dst[p] = src[p * b];
    }
}

}  // namespace verge
