// int8 convolution / matrix-product microkernels (AVX512-VNNI `vpdpbusd`) used by kernels/cpu/qconv.cpp.
//
// Layout ("pixels in lanes"): the activation panel of one tile is PT = 32 output pixels wide and holds,
// for every group of 4 consecutive reduction indices k (input channel x kernel position), the 4 uint8
// values of each pixel next to each other: col[(k4 * 32 + p) * 4 + j] = X(k = 4*k4 + j, pixel p). One
// 64-byte vector is then 16 pixels x 4 k, the unsigned operand of vpdpbusd; the signed operand is one
// output channel's 4 int8 weights broadcast to every lane. The accumulators hold 16 consecutive output
// pixels of one output channel, which is exactly an NCHW output row segment: no transpose on the way out.
//
// Packed weights of one tile of MR output channels: wpack[(k4 * MR + r) * 4 + j] = W(m0 + r, 4*k4 + j),
// zero for k >= K and for rows past the channel count. Weight zero points must be 0 (symmetric weights);
// the activation zero point is folded into comp[m] = bias[m] - x_zp * sum_k W(m, k) at prepare, and
// padding pixels hold x_zp, so acc = comp + sum x*w equals the reference's sum (x - x_zp) * w modulo 2^32.
//
// Requantization (bit-exact with ref/quant_math.h): v = double(acc) * mult[m] (IEEE double), rounded to
// nearest-even, clamped to [qmin - y_zp, qmax - y_zp], plus y_zp, stored as one byte (uint8 or int8 by
// the caller's qmin/qmax).
#pragma once

#include <cstddef>
#include <cstdint>

namespace verge {

constexpr int kQConvMr = 6;   // output channels per tile (12 accumulators: MR x 2 pixel vectors)
constexpr int kQConvPt = 32;  // output pixels per tile

struct QRequant {
  const int32_t* comp = nullptr;  // per output channel of the tile (MR values)
  const double* mult = nullptr;   // per output channel of the tile (MR values)
  int32_t y_zp = 0, qmin = 0, qmax = 255;
};

// y[r * ldy + p] for r < rows (<= MR), p < pixels (<= 32): requantized tile.
void qconv_tile_avx512vnni(const uint8_t* col, const int8_t* wpack, int64_t k4, const QRequant& rq, int rows,
                           uint8_t* y, int64_t ldy, int pixels);

// Interleaves 4 rows of 32 bytes into the panel layout above: dst[p * 4 + j] = rows[j][p] ^ flip.
void qconv_interleave4_avx512vnni(const uint8_t* r0, const uint8_t* r1, const uint8_t* r2, const uint8_t* r3,
                                  uint8_t flip, uint8_t* dst);

// dst[p] = src[2p] for p < 32 (reads 64 bytes).
void qconv_even_bytes_avx512vnni(const uint8_t* src, uint8_t* dst);

}  // namespace verge

namespace verge {

// Depthwise 3x3 (stride 1 or 2) of one channel plane. `in` is the plane padded with x_zp: row stride
// `wp`, top-left = the window origin of output (0, 0); readable for (4 * ceil(oh / 4) - 1) * stride + 3
// rows of wp bytes, wp >= 16 * ceil(ow / 16) * stride + 64. Per input row, one dword permute and one byte
// shuffle put the 3 horizontal taps of 16 output pixels in the 4 bytes of each lane (the 4th byte is
// multiplied by a zero weight), and one vpdpbusd adds them for every output row that uses the input row.
// acc = comp + sum x * w (comp = bias - x_zp * sum w), requantized as in QRequant.
void qdw3x3_avx512vnni(const uint8_t* in, int64_t wp, int stride, const int8_t* w9, int32_t comp, double mult,
                       int32_t y_zp, int32_t qmin, int32_t qmax, uint8_t* y, int64_t oh, int64_t ow);

}  // namespace verge
