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
// Requantization (bit-exact with quant::requantize_f32 in ref/quant_math.h, ONNX Runtime's scheme):
// v = float(acc) * scale[m] (float32), clamped above to qmax - y_zp, rounded to nearest-even
// (cvtps2dq), then packed to bytes with saturation (int16 saturating pack, + y_zp with int16
// saturation, byte saturating pack): four accumulator vectors become one 64-byte vector.
#pragma once

#include <cstddef>
#include <cstdint>

namespace verge {

constexpr int kQConvMr = 8;   // output channels per tile (16 accumulators: MR x 2 pixel vectors)
constexpr int kQConvPt = 32;  // output pixels per tile

struct QRequant {
  const int32_t* comp = nullptr;  // per output channel of the tile (MR values)
  const float* scale = nullptr;   // per output channel of the tile (MR values)
  int32_t y_zp = 0;
  bool y_signed = false;  // int8 output (else uint8)
};

// Where the 32 pixels of a tile go in each output row: `runs` runs of consecutive tile pixels; run s holds
// the pixels whose bit is set in lanes[s] and stores pixel p at y + offset[s] + p. A tile of the padded
// grid (qconv.cpp) spans several output rows and drops the grid points past the row's end, so its
// offsets differ per run (and may be negative: only the run's own bytes are written).
struct QTileStore {
  int width = kQConvPt;  // the tile's pixels: every run lies in [0, width); <= 16 computes one vector
  int runs = 0;
  int64_t offset[kQConvPt] = {};
  uint32_t lanes[kQConvPt] = {};
  // The first `pixels` pixels at y + offset + p.
  static QTileStore contiguous(int pixels, int64_t offset = 0) {
    QTileStore st;
    st.width = pixels;
    st.runs = 1;
    st.offset[0] = offset;
    st.lanes[0] = pixels >= 32 ? ~0u : (1u << pixels) - 1;
    return st;
  }
  // Grid points [q0, q0 + pixels) of rows `gw` points long, of which the first `ow` are output pixels of
  // an output plane `ow` wide: one run per row touched, the points past ow dropped.
  static QTileStore grid(int64_t q0, int pixels, int64_t gw, int64_t ow) {
    QTileStore st;
    st.width = pixels;
    for (int p = 0; p < pixels;) {
      const int64_t q = q0 + p, oy = q / gw, ox = q % gw;
      const int len = static_cast<int>(pixels - p < gw - ox ? pixels - p : gw - ox);
      const int valid = static_cast<int>(ow - ox < 0 ? 0 : ow - ox < len ? ow - ox : len);
      if (valid > 0) {
        st.offset[st.runs] = oy * ow + ox - p;
        st.lanes[st.runs++] = static_cast<uint32_t>(((uint64_t{1} << valid) - 1) << p);
      }
      p += len;
    }
    return st;
  }
};

// The requantized tile: pixel p of output channel r (< rows <= MR) at y + r * ldy + (its run's offset) + p.
// A tile of at most 16 pixels (the last one of a plane, e.g. 169 = 5 x 32 + 9) computes only the panel's
// first 16 pixels.
void qconv_tile_avx512vnni(const uint8_t* col, const int8_t* wpack, int64_t k4, const QRequant& rq, int rows,
                           uint8_t* y, int64_t ldy, const QTileStore& store);

// Interleaves 4 rows of 32 bytes into the panel layout above: dst[p * 4 + j] = rows[j][p] ^ flip.
void qconv_interleave4_avx512vnni(const uint8_t* r0, const uint8_t* r1, const uint8_t* r2, const uint8_t* r3,
                                  uint8_t flip, uint8_t* dst);

// The whole panel of a tile whose rows are pointers into the input: row k (< k_count) is the 32 bytes at
// base + koff[k] (`even`: the even bytes of the 64 there), rows k_count .. 4 k4 - 1 are `pad` (as many
// bytes); xor flip, interleaved as qconv_interleave4 does, into k4 * 128 bytes. Needs AVX512-VBMI.
void qconv_panel_rows_avx512vbmi(const uint8_t* base, const int64_t* koff, int64_t k_count, int64_t k4,
                                 const uint8_t* pad, uint8_t flip, bool even, uint8_t* panel);

// dst[p] = src[2p] for p < 32 (reads 64 bytes).
void qconv_even_bytes_avx512vnni(const uint8_t* src, uint8_t* dst);
// even[p] = src[2p] for 2p < n, odd[p] = src[2p + 1] for 2p + 1 < n (reads and writes nothing else).
void qconv_split_columns_avx512vnni(const uint8_t* src, int64_t n, uint8_t* even, uint8_t* odd);

// dst[p] = src[idx[p]] for p < 32, idx[p] < 128 (reads 128 bytes of src and 64 of idx). Needs
// AVX512-VBMI (vpermt2b).
void qconv_gather32_avx512vbmi(const uint8_t* src, const uint8_t* idx, uint8_t* dst);

// Matrix-vector product for a 1x1 convolution on a 1x1 plane (a Gemm / MatMul classifier rewritten as
// QLinearConv): "channels in lanes" instead of pixels, so one pixel does not fill a 32-pixel tile.
// Packed weights: wpack[((b * k4) + q) * 64 + l * 4 + j] = W(16 * b + l, 4 * q + j) (0 past M or K); x4 holds
// k4 * 4 activation bytes in the uint8 domain (0 past K). y[m] for m < M = requantize(comp[m] + sum_k
// x[k] * W(m, k), scale[m]) exactly as qconv_tile_avx512vnni does.
void qgemv_avx512vnni(const uint8_t* x4, const int8_t* wpack, int64_t k4, int64_t m, const int32_t* comp,
                      const float* scale, int32_t y_zp, bool y_signed, uint8_t* y);

// "Channels in lanes" for planes the 32-pixel tiles fit badly (7x7 and 14x14: a quarter and an eighth
// of the tile lanes would be dropped grid points): `pixels` (1-6) pixels of a built panel, taken from any
// positions, times 64 output channels; accumulators hold 16 channels of one pixel. Packed weights: the
// gemv layout per block of 16 channels, the block's 4 blocks consecutive: wpack[((b * k4) + q) * 64 + l * 4
// + j] = W(16 * b + l, 4 * q + j). comp and scale hold the 64 channels. Pixel i reads panel pixel px[i];
// its requantized output goes to y[m * plane + out[i]] for m < channels.
constexpr int kQLanesPixels = 6;  // pixels per call: 1 to 6 (24 accumulators)
void qconv_lanes_avx512vnni(const uint8_t* col, const int8_t* wpack, int64_t k4, const int32_t* comp,
                            const float* scale, int32_t y_zp, bool y_signed, const int* px,
                            const int64_t* out, int pixels, int channels, uint8_t* y, int64_t plane);

// AMX (tdpbsud: signed weights times unsigned activations, 16x16 int32 per tile register, 16 x 64 byte
// operands): the same panel, read as the unsigned operand 16 pixels at a time (a panel row group of 64
// bytes per k4, rows 128 bytes apart), and weights as the signed operand, 16 output channels of 64
// reduction bytes per tile register. Packed weights of one tile of MR = 32 output channels, K padded to
// 64 (k4 to 16, the panel's rows past K hold x_zp and meet zero weights):
// wpack[((k / 64) * 32 + r) * 64 + k % 64] = W(m0 + r, k). A call computes 32 channels x 32 pixels (16 x 16
// when rows / width are at most 16) in four accumulator tiles, stores them to the stack and requantizes
// exactly as qconv_tile_avx512vnni (acc = sum x*w + comp, wrapping like vpdpbusd). Loads its own tile
// configuration (every tile 16 x 64 bytes) on each call; needs Isa::kAmxInt8 (the OS's permission).
constexpr int kQConvMrAmx = 32;
void qconv_tile_amx(const uint8_t* col, const int8_t* wpack, int64_t k4, const QRequant& rq, int rows,
                    uint8_t* y, int64_t ldy, const QTileStore& store);
// Returns the tile registers to their initial state (tilerelease): called by each thread after its last
// tile of a run, so a thread pool's idle threads do not carry 8 KB of tile data through context switches.
void qconv_amx_release();

// Direct convolution without a panel (stride 1, kernels/cpu/qconv_direct.cpp): the input, padded, in
// channel quads: x[q * plane_bytes + point * 4 + j] = X(channel 4 q + j, padded point) ("quad planes"). The
// 32 grid points from x on (x already points at the first one's quad-plane byte) times 32 channels: step (tap
// t, chunk c) multiplies the 16 quad planes of chunk c at the tap's byte offset tap_off[t] by the packed
// weights wpack[(((t * chunks + c) * 32 + r) * 64 + b] = W(m0 + r, channel 64 c + b, tap t); requantized and
// stored as qconv_tile_amx does.
void qconv_direct_tile_amx(const uint8_t* x, int64_t plane_bytes, const int64_t* tap_off, int taps,
                           int64_t chunks, const int8_t* wpack, const QRequant& rq, int rows, uint8_t* y,
                           int64_t ldy, const QTileStore& store);
// dst[4 p + j] = rows[j][p] ^ flip for p < n (writes 4 n bytes). Needs AVX512-VBMI.
void qconv_interleave_quad_amx(const uint8_t* r0, const uint8_t* r1, const uint8_t* r2, const uint8_t* r3,
                               int64_t n, uint8_t flip, uint8_t* dst);

// AVX2 (no VNNI): the same tiles and arithmetic with pairs instead of quads, in 16 bits. Panel:
// col[(k2 * 32 + p) * 2 + j] = X(k = 2*k2 + j, pixel p) as int16 (the uint8 value); packed weights
// wpack[(k2 * MR + r) * 2 + j] = W(m0 + r, 2*k2 + j) as int16. vpmaddwd multiplies 8 pixels' pairs by one
// channel's broadcast pair and adds the two products in 32 bits: exact for every uint8 x int8 product,
// where vpmaddubsw's int16 pair sums would saturate (255 * 127 * 2 > 32767). Requantization as above.
constexpr int kQConvMrAvx2 = 2;  // output channels per tile (8 accumulators: MR x 4 pixel vectors)
void qconv_tile_avx2(const int16_t* col, const int16_t* wpack, int64_t k2, const QRequant& rq, int rows,
                     uint8_t* y, int64_t ldy, const QTileStore& store);
// dst[p * 2 + j] = int16(rows[j][p] ^ flip) for p < 32.
void qconv_interleave2_avx2(const uint8_t* r0, const uint8_t* r1, uint8_t flip, int16_t* dst);
void qconv_even_bytes_avx2(const uint8_t* src, uint8_t* dst);
void qconv_split_columns_avx2(const uint8_t* src, int64_t n, uint8_t* even, uint8_t* odd);

}  // namespace verge

namespace verge {

// Depthwise k x k (k = 3 or 5, stride 1 or 2, dilation 1) of g channel planes (g = 1, or 2 when
// ow <= 8: then lanes 0-7 are channel 0's pixels and lanes 8-15 channel 1's). Needs AVX512-VBMI too.
// Reads the unpadded h x w input planes directly: per input row and 16 output columns, one masked load
// (the zero point where the window leaves the plane; int8 activations are flipped to uint8) and one
// byte permute (vpermb, or vpermt2b for two channels) per 4 taps put the taps of 16 output pixels in the
// 4 bytes of each lane (taps past k meet zero weights); one vpdpbusd per 4 taps adds them for every
// output row that reads the input row (kQDwRows output rows per pass). acc = comp + sum x * w
// (comp = bias - x_zp * sum w, x_zp in the uint8 domain), requantized as above with scale < 1 (no
// clamp before the conversion).
constexpr int kQDwRows = 8;
struct QDwChannel {
  const uint8_t* in = nullptr;  // h x w input plane
  const int32_t* w = nullptr;   // k x ceil(k / 4) dwords: row i, taps 4c .. 4c + 3 (0 past k)
  int32_t comp = 0;
  float scale = 0.f;     // < 1
  uint8_t* y = nullptr;  // oh x ow output plane
};
struct QDwGeometry {
  int64_t h = 0, w = 0, oh = 0, ow = 0, ph = 0, pw = 0;
  int k = 3, stride = 1;
  uint8_t x_zp = 0, flip = 0;  // raw input zero point byte; 0x80 for int8 input
};
void qdw_avx512vbmi(const QDwChannel* ch, int g, const QDwGeometry& geom, int32_t y_zp, bool y_signed);

// Requantization schemes of ref/quant_math.h over n int32 values (n a multiple of 64), for
// bench/micro/qrequant.cpp and their bit-exactness test: float32 (the one the kernels use), fixed point
// (mult in [2^30, 2^31) or 0, 31 <= shift <= 62) and double.
void qrequant_f32_avx512vnni(const int32_t* acc, int64_t n, float scale, int32_t y_zp, bool y_signed,
                             uint8_t* y);
void qrequant_fixed_avx512vnni(const int32_t* acc, int64_t n, int32_t mult, int32_t shift, int32_t y_zp,
                               bool y_signed, uint8_t* y);
void qrequant_double_avx512vnni(const int32_t* acc, int64_t n, double mult, int32_t y_zp, bool y_signed,
                                uint8_t* y);

}  // namespace verge

namespace verge {

// Winograd F(4x4, 3x3) in exact integer arithmetic (the algorithm and why it is bit-exact:
// kernels/cpu/qconv_winograd.cpp). Layouts, cp = input channels rounded up to 32:
//   xt  a band of input rows, transposed and padded: xt[(row * wp + col) * cp + c] = x - x_zp (int16), 0
//       outside the input;
//   v   transformed input tiles of a block of tb tiles: v[(xi * tb + t) * cp + c] (int16), xi = 6 k + l for
//       element (k, l) of B^T d B;
//   u   transformed weights of one block of 64 output channels: u[((xi * cp / 2 + p) * 64 + o) * 2 + j] =
//       (G' g G'^T)(xi) of output channel o and input channel 2 p + j (int16);
//   m   channel sums of a block: m[(xi * tb + t) * 64 + o] (int32, wrapping).
constexpr int kQWinoTiles = 6;  // tiles per GEMM microkernel (6 x 4 accumulators)

// `rows` interior rows of xt (xt points at the first one's first interior element), all cp channels, from
// the uint8 (flip 0) or int8 (flip 0x80) planes of `channels` channels (plane elements apart; x points at
// the first row); 0 for the channels past `channels`. x_zp in the uint8 domain.
void qwino_transpose_avx512vnni(const uint8_t* x, int64_t plane, int64_t channels, int64_t rows, int64_t w,
                                uint8_t flip, uint8_t x_zp, int16_t* xt, int64_t wp, int64_t cp);
// v for `tiles` tiles whose 6x6 windows start at xt + origin[t].
void qwino_input_avx512vnni(const int16_t* xt, int64_t wp, int64_t cp, const int64_t* origin, int tiles,
                            int16_t* v, int64_t tb);
// m = v x u for every xi (vpdpwssd).
void qwino_gemm_avx512vnni(const int16_t* v, int64_t tb, int tiles, int64_t cp, const int16_t* u, int32_t* m);

struct QWinoOutput {
  const int32_t* comp = nullptr;  // the block's 64 channels: bias (0 when absent)
  const float* scale = nullptr;   // the block's 64 requantization multipliers
  int channels = 64;              // channels of the block that exist
  int32_t y_zp = 0;
  bool y_signed = false;
  uint8_t* y = nullptr;  // the block's first output plane
  int64_t plane = 0, oh = 0, ow = 0;
};
// A'^T m A' per tile, Y recovered from 576 Y, + comp, requantized (as qconv_tile_avx512vnni), stored at
// output rows tile_oy[t] .. + 3 and columns tile_ox[t] .. + 3 (clipped to oh x ow). Needs AVX512-VBMI.
void qwino_output_avx512vbmi(const int32_t* m, int64_t tb, const int64_t* tile_oy, const int64_t* tile_ox,
                             int tiles, const QWinoOutput& o);

// Tests: accept layers of any size and channel count, not only those where it is the faster kernel.
void qwino_accept_any_size(bool any);

}  // namespace verge
