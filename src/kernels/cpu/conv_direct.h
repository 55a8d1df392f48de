// verge.BlockedConv, group 1, 2-D: direct convolution microkernels on NCHWc tensors (block 16 with
// AVX-512, 8 with AVX2). Plain data in, no STL (see docs/kernels.md).
//
// Work is a list of tasks (n, group, oh, tile): a tile is `tile_w` consecutive output pixels of one row
// (the last tile of a row may be narrower) times the `group_blocks` output-channel blocks of one group.
// A tile keeps group_blocks x tile_w accumulators in registers, broadcasts one input channel of each
// pixel against the group's packed weight vectors, loops over the real input channels and the kernel
// taps, and finishes with bias + Sum + activation. Tiles whose window crosses the left/right padding
// skip the out-of-image taps (a per-tap pixel mask); rows clip the kh range.
//
// Packed weights: for the group of blocks [ob, ob + nbg), [icb][kh][kw][ic in block][nbg][block] from
// float ob * block_stride on; output channels >= M are zero. `bias` holds Mb*block floats (zero-padded).
#pragma once

#include <cstdint>

#include "kernels/cpu/act_params.h"

namespace verge {

struct ConvDirectArgs {
  const float* x = nullptr;     // [N, Cb, H, W, block]
  const float* w = nullptr;     // packed weights (above)
  const float* bias = nullptr;  // [Mb * block]
  const float* sum = nullptr;   // like y, or nullptr
  float* y = nullptr;           // [N, Mb, OH, OW, block]
  int64_t N = 0, C = 0, Cb = 0, H = 0, W = 0;
  int64_t Mb = 0, OH = 0, OW = 0;
  int64_t KH = 1, KW = 1, SH = 1, SW = 1, DH = 1, DW = 1, PT = 0, PL = 0;
  int64_t group_blocks = 1;  // output-channel blocks per group (1..3 AVX-512, 1..2 AVX2)
  int64_t groups = 0;        // see conv_direct_group
  int64_t block_stride = 0;  // floats of packed weights per output block: C * KH * KW * block
  bool half_last = false;    // the last block (<= block/2 real channels) is a group of its own, computed
                             // on half-width vectors (AVX-512 only)
  int64_t tile_w = 1;        // pixels per tile (<= conv_direct_*_max_tile(group_blocks); 1 when SW > 2)
  int64_t tiles = 0;         // tiles per output row: ceil(OW / tile_w)
  ActParams act;
};

// Number of tasks: N * groups * OH * tiles (tile fastest, then row, group, image).
static inline int64_t conv_direct_tasks(const ConvDirectArgs& a) { return a.N * a.groups * a.OH * a.tiles; }

// Output blocks [*ob, *ob + *nb) of group g; true for the half-width last group. Groups: the blocks
// before the half block (all blocks without one) in runs of group_blocks, then the half block.
// (static: compiled separately into each ISA's file.)
static inline bool conv_direct_group(const ConvDirectArgs& a, int64_t g, int64_t* ob, int64_t* nb) {
  const int64_t full = a.half_last ? a.Mb - 1 : a.Mb;
  *ob = g * a.group_blocks;
  if (*ob >= full) {
    *ob = a.Mb - 1;
    *nb = 1;
    return true;
  }
  *nb = full - *ob < a.group_blocks ? full - *ob : a.group_blocks;
  return false;
}

// Largest tile width the microkernels have for `group_blocks` output blocks (0: unsupported count).
int64_t conv_direct_avx512_max_tile(int64_t group_blocks);
int64_t conv_direct_avx2_max_tile(int64_t group_blocks);

// Runs tasks [begin, end).
void conv_direct_avx512(const ConvDirectArgs& a, int64_t begin, int64_t end);
void conv_direct_avx2(const ConvDirectArgs& a, int64_t begin, int64_t end);

}  // namespace verge
