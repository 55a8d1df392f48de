// verge.ChannelGather microkernel (AVX-512, block 16). For every pixel and output block, each entry
// permutes one 16-lane source block and merges the lanes it owns into the output vector.
#pragma once

#include <cstdint>

namespace verge {

struct GatherEntry {
  int32_t input;       // source tensor index
  int32_t src_block;   // block index within the source
  int32_t idx[16];     // source lane for every output lane (permutation vector)
  uint16_t mask;       // output lanes this entry fills
};

// out[n][ob][p][:] for ob in [0, out_blocks): entries[begin[ob] .. begin[ob+1]) build block ob.
// `inputs[i]` points at source tensor i (blocked, `in_blocks[i]` blocks); `pixels` = H*W per image.
void channel_gather_avx512(const float* const* inputs, const int64_t* in_blocks, float* out, int64_t out_blocks,
                           int64_t pixels, const GatherEntry* entries, const int32_t* begin, int64_t n, int64_t ob0,
                           int64_t ob1);

}  // namespace verge
