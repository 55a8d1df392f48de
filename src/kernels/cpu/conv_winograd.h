// Winograd F(4x4, 3x3) convolution microkernels (verge.BlockedConv, 3x3, stride 1, dilation 1, group 1).
//
// Interpolation points 0, 1, -1, 1/2, -2 and infinity: in fp32 their error is about 3x lower than
// Lavin's 0, +-1, +-2 (simulated max|err|/max|ref| ~2e-6 vs ~6e-6 over 256 input channels).
//   V = B^T d B   (6x6 input tile d, per 16- or 8-channel vector; B^T rows [2,-3,-4,3,2,0] [0,-2,1,5,2,0]
//                  [0,-2,5,-1,-2,0] [0,2,1,-2,-1,0] [0,1,-2,-1,2,0] [0,2,-3,-4,3,2])
//   U = G g G^T   (3x3 kernel g; G rows [1/2,0,0] [1/6,1/6,1/6] [1/6,-1/6,1/6] [16/15,8/15,4/15]
//                  [1/30,-2/30,4/30] [0,0,1/2])
//   M[xi] = V[xi] x U[xi]  for the 36 points xi: a [tiles x C] x [C x M] GEMM each
//   Y = A^T M A   (4x4 output tile; A^T rows [1,1,1,1,1,0] [0,1,-1,1/2,-2,0] [0,1,1,1/4,4,0]
//                  [0,1,-1,1/8,-8,1]) + bias (+ Sum), activation
// The generic kernel (conv_winograd.cpp) cuts the output tiles into batches and calls the stages per
// work item with per-thread scratch buffers.
//
// Buffers (b = block, 16 or 8; Cp = ceil(C/b)*b; tiles of a batch numbered 0..nt-1):
//   V    [36][tb][Cp]          tb = tile stride (>= nt) of the batch's V buffer
//   U    [36][Mb][C][b]        weights transformed at prepare; channels >= M of the last block are zero
//   Wp   [Mb][C][9][b]         raw weights for the streamed path (U computed per run)
//   Mbuf [nt][nmb][36][b]      nmb = output blocks of the work item
#pragma once

#include <cstdint>

#include "kernels/cpu/act_params.h"

namespace verge {

struct WinogradArgs {
  const float* x = nullptr;     // blocked input [N, Cb, H, W, b]
  float* y = nullptr;           // blocked output [N, Mb, OH, OW, b]
  const float* sum = nullptr;   // optional, shaped like y
  const float* bias = nullptr;  // [Mb * b], zero-padded
  int64_t c = 0, cb = 0, m = 0, mb = 0;
  int64_t h = 0, w = 0, oh = 0, ow = 0;
  int64_t pad_t = 0, pad_l = 0;
  int64_t tiles_h = 0, tiles_w = 0;  // tiles per image: ceil(oh / 4) x ceil(ow / 4)
  ActParams act;
};

// Tests only. accept_any_size: accept every supported convolution regardless of the speed rules (channel
// counts, output size), so tails such as 1-pixel outputs or 3 input channels can be checked against the
// reference. mode: -1 = planned, 0 = weights transformed at prepare, 1 = streamed weights transformed
// per run.
struct WinogradTestOptions {
  bool accept_any_size = false;
  int mode = -1;
};
void winograd_set_test_options(const WinogradTestOptions& options);

// Transformed filter of one 3x3 kernel g (row-major) into out[xi], xi = 0..35 (double precision).
void winograd_f43_transform_filter(const float* g, double* out);

// Stage 1: V for tiles [t0, t0 + nt) (global tile index over N x tiles_h x tiles_w), all input blocks.
void winograd_f43_input_avx512(const WinogradArgs& a, int64_t t0, int64_t nt, float* v, int64_t tb);
// Stage 2: the 36 GEMMs M[t][j][xi] (+)= sum_k V[xi][t][k] U[xi][j][k] (vectors of b output channels).
struct WinogradGemm {
  const float* v = nullptr;  // V[xi][t][k] at v + xi * v_xi + t * v_tile + k
  int64_t v_xi = 0, v_tile = 0;
  const float* u = nullptr;  // U[xi][j][k][:] at u + xi * u_xi + j * u_block + k * b
  int64_t u_xi = 0, u_block = 0;
  float* m = nullptr;  // M[t][j][xi][:] at m + t * m_tile + (j * 36 + xi) * b
  int64_t m_tile = 0;
  int64_t k = 0, tiles = 0, blocks = 0;
  bool prefetch = false;  // U comes from memory: prefetch each (xi, column group) while the previous computes
};
void winograd_f43_gemm_avx512(const WinogradGemm& g);
// Stage 2 with streamed weights, for few tiles: U = G g G^T is computed per input channel from the raw
// kernels of one output block, Wp[c][9][b] at w (c < k), and used at once, for up to 4 tiles at a time.
// V is first repacked per group of 4 tiles and row of U (winograd_f43_repack_*, 36 * k floats per tile).
void winograd_f43_repack_avx512(const float* v, int64_t v_xi, int64_t v_tile, int64_t k, int64_t tiles,
                                float* vs);
struct WinogradStream {
  const float* w = nullptr;     // raw kernels of the output block
  const float* next = nullptr;  // kernels to prefetch meanwhile (the next block's) or null
  const float* vs = nullptr;    // repacked V
  float* m = nullptr;           // M[t][xi][:] at m + t * m_tile + xi * b
  int64_t m_tile = 0;
  int64_t k = 0, tiles = 0;
};
void winograd_f43_stream_avx512(const WinogradStream& s);
// Stage 3: output tiles [t0, t0 + nt), blocks [mb0, mb1): A^T M A + bias (+ Sum), activation, edge clipping.
void winograd_f43_output_avx512(const WinogradArgs& a, const float* mbuf, int64_t t0, int64_t nt, int64_t mb0,
                                int64_t mb1);

void winograd_f43_input_avx2(const WinogradArgs& a, int64_t t0, int64_t nt, float* v, int64_t tb);
void winograd_f43_gemm_avx2(const WinogradGemm& g);
void winograd_f43_repack_avx2(const float* v, int64_t v_xi, int64_t v_tile, int64_t k, int64_t tiles,
                              float* vs);
void winograd_f43_stream_avx2(const WinogradStream& s);
void winograd_f43_output_avx2(const WinogradArgs& a, const float* mbuf, int64_t t0, int64_t nt, int64_t mb0,
                              int64_t mb1);

}  // namespace verge
