#include <immintrin.h>

#include "kernels/cpu/channel_gather.h"

namespace verge {

void channel_gather_avx512(const float* const* inputs, const int64_t* in_blocks, float* out, int64_t out_blocks,
                           int64_t pixels, const GatherEntry* entries, const int32_t* begin, int64_t n, int64_t ob0,
                           int64_t ob1) {
  for (int64_t ob = ob0; ob < ob1; ++ob) {
    const GatherEntry* e0 = entries + begin[ob];
    const GatherEntry* e1 = entries + begin[ob + 1];
    float* dst = out + (n * out_blocks + ob) * pixels * 16;
    for (int64_t p = 0; p < pixels; ++p) {
      __m512 v = _mm512_setzero_ps();  // padding lanes: zero
      for (const GatherEntry* e = e0; e != e1; ++e) {
        const float* src = inputs[e->input] + ((n * in_blocks[e->input] + e->src_block) * pixels + p) * 16;
        const __m512i idx = _mm512_loadu_si512(e->idx);
        v = _mm512_mask_permutexvar_ps(v, e->mask, idx, _mm512_loadu_ps(src));
      }
      _mm512_storeu_ps(dst + p * 16, v);
    }
  }
}

}  // namespace verge
