// QLinearConv 3x3 / stride 1 / group 1 by Winograd F(4x4, 3x3) in exact integer arithmetic
// (microkernels and layouts: kernels/cpu/qconv.h). A quarter of the direct kernel's multiplies, done in
// int16 at half of vpdpbusd's rate: about half the arithmetic time, plus the transforms.
//
// Why the result is bit-exact with the reference. With D = diag(4, 6, 6, 24, 24, 1), G' = D G and
// A'^T = 24 A^T D^-1 are integer matrices and 576 Y = A'^T [(G' g G'^T) . (B^T d B)] A' for the 4x4
// outputs Y = sum (x - x_zp) * g of a tile, d = x - x_zp (|d| <= 255), g the int8 3x3 kernels.
// |B^T d B| <= 100 * 255 = 25500 and |G' g G'^T| <= 49 * 127 = 6223: both fit int16. Their products are
// summed over channels in int32 and the output transform runs in int32, both wrapping, so the kernel
// holds Z = 576 Y mod 2^32 exactly. Z / 64 (an exact shift) is 9 Y mod 2^26; times 9^-1 mod 2^32 and
// sign-extended from 26 bits it is Y itself whenever |Y| < 2^25. The kernel is only accepted when
// max|d| * sum|g| < 2^25 for every output channel (a property of the weights, checked at prepare; normal
// per-channel int8 weights whose largest is 127 average |g| ~ 26, which is 512 x 9 x 26 x 255 = 2^24.9 for
// 512 channels: large layers sit close to the bound), else the layer keeps the direct kernel. Y + bias then
// wraps like the reference's int32 accumulator and the requantization is the tile kernels' own.
//
// run(): work items (image, block of tiles, range of 64-channel output blocks) transpose the input rows
// their tiles read to channels-innermost int16 (x - x_zp, zero borders), transform their tiles (V),
// multiply (36 GEMMs into M) and write their output tiles.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <vector>

#include "core/memory.h"
#include "core/thread_pool.h"
#include "ir/conv_geometry.h"
#include "kernels/cpu/qconv.h"
#include "kernels/cpu/qconv_constants.h"
#include "kernels/kernel.h"
#include "runtime/exec_options.h"

namespace verge {
namespace {

std::atomic<bool> g_accept_any_size{false};

constexpr int64_t kMaxAbsY = int64_t{1} << 25;
constexpr double kMaxGemmRatio = 0.8;                          // see accepts_qlinear_winograd_avx512vnni
constexpr int64_t kMaxThreadedWeightBytes = int64_t{2} << 20;  // likewise
constexpr int64_t kMinTilesPerThread = 16;                     // likewise
constexpr int kG[6][3] = {{1, 0, 0}, {-1, -1, -1}, {-1, 1, -1}, {1, 2, 4}, {1, -2, 4}, {0, 0, 1}};  // D G

// The largest |x - x_zp| over every uint8-domain input, times sum |g| of each output channel, below 2^25.
bool output_fits(const int8_t* w, int64_t m, int64_t k, int64_t x_zp_u) {
  const int64_t max_d = std::max<int64_t>(x_zp_u, 255 - x_zp_u);
  for (int64_t o = 0; o < m; ++o) {
    int64_t sum = 0;
    for (int64_t i = 0; i < k; ++i) sum += std::abs(int64_t{w[o * k + i]});
    if (sum * max_d >= kMaxAbsY) return false;
  }
  return true;
}

class QLinearConvWinograd final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    const Shape& xs = c.shape(0);
    const Shape& ws = c.shape(3);
    VERGE_ASSIGN_OR_RETURN(ConvGeometry g, qconv_geometry(c));
    n_ = xs[0], c_ = xs[1], h_ = xs[2], w_ = xs[3], m_ = ws[0];
    oh_ = g.out[0], ow_ = g.out[1], top_ = g.pads_begin[0], left_ = g.pads_begin[1];
    cp_ = (c_ + 31) / 32 * 32;
    blocks_ = (m_ + 63) / 64;
    tiles_h_ = (oh_ + 3) / 4, tiles_w_ = (ow_ + 3) / 4, tiles_ = tiles_h_ * tiles_w_;
    wp_ = std::max(4 * tiles_w_ + 2, left_ + w_);
    flip_ = c.dtype(0) == DType::kInt8 ? 0x80 : 0;
    const QConvConstants q(c);
    x_zp_u_ = static_cast<uint8_t>(q.x_zp_u);
    y_signed_ = c.output(0).dtype == DType::kInt8;
    y_zp_ = static_cast<int32_t>(c.constant(7)->get_as_int64(0));
    const int8_t* wd = c.constant(3)->data<int8_t>();
    pack_ = q.share<Packed>(c, name(), [&] {
      Packed pk;
      const int64_t pairs = cp_ / 2;
      pk.u.assign(static_cast<size_t>(blocks_ * 36 * pairs * 128), 0);
      pk.comp.assign(static_cast<size_t>(blocks_ * 64), 0);
      pk.scale.assign(static_cast<size_t>(blocks_ * 64), 0.f);
      for (int64_t o = 0; o < m_; ++o) {
        for (int64_t ci = 0; ci < c_; ++ci) {
          const int8_t* k = wd + (o * c_ + ci) * 9;
          int gk[6][3];  // G' g
          for (int r = 0; r < 6; ++r)
            for (int j = 0; j < 3; ++j)
              gk[r][j] = kG[r][0] * k[j] + kG[r][1] * k[3 + j] + kG[r][2] * k[6 + j];
          for (int r = 0; r < 6; ++r)
            for (int l = 0; l < 6; ++l) {
              const int val = gk[r][0] * kG[l][0] + gk[r][1] * kG[l][1] + gk[r][2] * kG[l][2];
              const int64_t xi = 6 * r + l;
              pk.u[static_cast<size_t>((((o / 64) * 36 + xi) * pairs + ci / 2) * 128 + (o % 64) * 2 +
                                       ci % 2)] = static_cast<int16_t>(val);
            }
        }
        pk.comp[static_cast<size_t>(o)] = q.comp(o, 0);  // the bias: x_zp is subtracted before the transform
        pk.scale[static_cast<size_t>(o)] = q.scale(o);
      }
      return pk;
    });

    // Tile blocks: V of a block (36 * tb * cp int16) within ~384 KiB of L2, blocks spread evenly; with
    // fewer blocks than 2 per thread, the output blocks are split between threads too (each part
    // transforms its tiles itself).
    threads_ = c.options().pool ? c.options().pool->num_threads() : 1;
    const int64_t cap =
        std::max<int64_t>(kQWinoTiles, std::min<int64_t>(kMaxBlockTiles, (384 << 10) / (72 * cp_)));
    int64_t nblk = (tiles_ + cap - 1) / cap;
    nblk = (nblk + threads_ - 1) / threads_ * threads_;
    nblk = std::min(nblk, tiles_);
    tb_ = (tiles_ + nblk - 1) / nblk;
    tile_blocks_ = (tiles_ + tb_ - 1) / tb_;
    msplit_ = tile_blocks_ >= 2 * threads_ ? 1 : std::min<int64_t>(blocks_, threads_);
    band_rows_ = 0;
    for (int64_t t0 = 0; t0 < tiles_; t0 += tb_)
      band_rows_ =
          std::max(band_rows_, 4 * ((std::min(t0 + tb_, tiles_) - 1) / tiles_w_ - t0 / tiles_w_) + 6);
    c.request_scratch(static_cast<size_t>(threads_) * slot_bytes());
    return Status::ok();
  }

  Status run(const RunContext& c) override {
    const auto* x = static_cast<const uint8_t*>(c.input(0).raw());
    auto* y = static_cast<uint8_t*>(c.output(0).raw());
    auto* scratch = static_cast<uint8_t*>(c.scratch);
    parallel_for(c.pool, n_ * tile_blocks_ * msplit_, 1, [&](int64_t begin, int64_t end) {
      const int64_t slot = ThreadPool::thread_index();
      auto* band = reinterpret_cast<int16_t*>(scratch + slot * slot_bytes());
      int16_t* v = band + band_rows_ * wp_ * cp_;
      auto* m = reinterpret_cast<int32_t*>(v + 36 * tb_ * cp_);
      int64_t origin[kMaxBlockTiles], tile_oy[kMaxBlockTiles], tile_ox[kMaxBlockTiles];
      for (int64_t item = begin; item < end; ++item) {
        const int64_t n = item / (tile_blocks_ * msplit_), blk = item / msplit_ % tile_blocks_,
                      part = item % msplit_;
        const int64_t t0 = blk * tb_;
        const int tiles = static_cast<int>(std::min(tb_, tiles_ - t0));
        const int64_t r0 = 4 * (t0 / tiles_w_);  // the band's first padded row
        for (int t = 0; t < tiles; ++t) {
          const int64_t ty = (t0 + t) / tiles_w_, tx = (t0 + t) % tiles_w_;
          tile_oy[t] = 4 * ty, tile_ox[t] = 4 * tx;
          origin[t] = ((4 * ty - r0) * wp_ + 4 * tx) * cp_;
        }
        if (item == begin || part == 0) {
          build_band(x + n * c_ * h_ * w_, r0, 4 * ((t0 + tiles - 1) / tiles_w_) + 6, band);
          qwino_input_avx512vnni(band, wp_, cp_, origin, tiles, v, tb_);
        }
        const int64_t b0 = blocks_ * part / msplit_, b1 = blocks_ * (part + 1) / msplit_;
        for (int64_t b = b0; b < b1; ++b) {
          qwino_gemm_avx512vnni(v, tb_, tiles, cp_, pack_->u.data() + b * 36 * cp_ * 64, m);
          QWinoOutput out;
          out.comp = pack_->comp.data() + b * 64;
          out.scale = pack_->scale.data() + b * 64;
          out.channels = static_cast<int>(std::min<int64_t>(64, m_ - b * 64));
          out.y_zp = y_zp_, out.y_signed = y_signed_;
          out.plane = oh_ * ow_, out.oh = oh_, out.ow = ow_;
          out.y = y + (n * m_ + b * 64) * out.plane;
          qwino_output_avx512vbmi(m, tb_, tile_oy, tile_ox, tiles, out);
        }
      }
    });
    return Status::ok();
  }
  const char* name() const override { return "qlinearconv_winograd_avx512vnni"; }

 private:
  static constexpr int64_t kMaxBlockTiles = 48;

  // The band of padded rows [r0, r1) of image x, transposed (zero rows and columns outside the input).
  // Built by the work item that reads it: on 2 vCPUs that share no cache, input bytes transposed by the
  // other thread cost more than transposing them again.
  void build_band(const uint8_t* x, int64_t r0, int64_t r1, int16_t* band) const {
    const int64_t in0 = std::max(r0, top_), in1 = std::min(r1, top_ + h_);
    for (int64_t r = r0; r < r1; ++r) {
      int16_t* row = band + (r - r0) * wp_ * cp_;
      if (r < in0 || r >= in1) {
        std::memset(row, 0, static_cast<size_t>(wp_ * cp_) * 2);
      } else {
        std::memset(row, 0, static_cast<size_t>(left_ * cp_) * 2);
        std::memset(row + (left_ + w_) * cp_, 0, static_cast<size_t>((wp_ - left_ - w_) * cp_) * 2);
      }
    }
    if (in1 > in0)
      qwino_transpose_avx512vnni(x + (in0 - top_) * w_, h_ * w_, c_, in1 - in0, w_, flip_, x_zp_u_,
                                 band + ((in0 - r0) * wp_ + left_) * cp_, wp_, cp_);
  }

  // The band (band_rows x wp x cp int16), V (36 x tb x cp int16) and M (36 x tb x 64 int32).
  size_t slot_bytes() const {
    return static_cast<size_t>(band_rows_ * wp_ * cp_ * 2 + 36 * tb_ * cp_ * 2 + 36 * tb_ * 64 * 4 + 63) /
           64 * 64;
  }

  struct Packed {
    LargeVector<int16_t> u;     // [64-channel block][xi][input channel pair][64][2]
    std::vector<int32_t> comp;  // per output channel (64 per block): the bias
    std::vector<float> scale;   // per output channel: the requantization multiplier
  };
  int64_t n_ = 0, c_ = 0, h_ = 0, w_ = 0, m_ = 0, oh_ = 0, ow_ = 0, top_ = 0, left_ = 0;
  int64_t cp_ = 0, blocks_ = 0, tiles_h_ = 0, tiles_w_ = 0, tiles_ = 0, wp_ = 0;
  int64_t threads_ = 1, tb_ = 1, tile_blocks_ = 1, msplit_ = 1, band_rows_ = 0;
  uint8_t flip_ = 0, x_zp_u_ = 0;
  bool y_signed_ = false;
  int32_t y_zp_ = 0;
  std::shared_ptr<const Packed> pack_;
};

}  // namespace

// 3x3, stride 1, dilation 1, group 1, the weights' output bound (see the top of this file); needs VBMI.
bool accepts_qlinear_winograd_avx512vnni(const PrepareContext& c) {
  if (!accepts_qlinear_conv_tiles(c) || !__builtin_cpu_supports("avx512vbmi")) return false;
  const Shape& ws = c.shape(3);
  const ir::Node& n = c.node();
  if (n.get_int("group", 1) != 1 || ws[2] != 3 || ws[3] != 3) return false;
  for (int64_t s : n.get_ints("strides", {1, 1}))
    if (s != 1) return false;
  for (int64_t d : n.get_ints("dilations", {1, 1}))
    if (d != 1) return false;
  auto g = qconv_geometry(c);
  if (!g.is_ok() || g->out[0] <= 0 || g->out[1] <= 0) return false;
  // Where it beats the direct kernel (bench/micro/qconv.cpp, Zen 4, 2026-12-05): ResNet-18's 56x56, 28x28
  // and 14x14 layers (1.55-1.62x at 1 thread, 1.4-1.9x at 2); on 7x7 (4 tiles, 31% of their pixels outside
  // the plane, 18 MB of transformed 512x512 weights for 4 tiles) it was 1.3x slower.
  // Its GEMM against the direct kernel's multiplies: tiles x 36 x cp int16 pairs at half vpdpbusd's rate
  // over pixels x 9 x C, i.e. 8 tiles cp / (pixels C); channel padding to 32 and tiles past the plane's
  // edge raise it from the ideal 0.5. Zen 5, 2026-12-05, SqueezeNet's 3x3 expands (direct / Winograd,
  // 1 thread): C=16 on 55x55 (1.04) 103 / 139 us and C=48 on 13x13 (1.01) 44 / 54 us, declined; C=64
  // on 13x13 (0.76) 76 / 72, C=32 on 27x27 (0.54) 84 / 64, taken.
  const int64_t tiles = ((g->out[0] + 3) / 4) * ((g->out[1] + 3) / 4);
  const int64_t cp = (ws[1] + 31) / 32 * 32;
  const double gemm_ratio =
      8.0 * static_cast<double>(tiles * cp) / static_cast<double>(g->out[0] * g->out[1] * ws[1]);
  // With several threads, each thread's tiles read every transformed weight (36 x cp x M int16: 8x the
  // int8 weights), where the direct kernel splits output channels and each thread reads its share of the
  // int8 weights. resnet18 at 2 threads (Zen 5, 2026-12-05, 12 alternating rounds, two passes) ran 6-12%
  // faster with its 256-channel 14x14 layers (4.7 MB transformed) on the direct kernel; at 1 thread
  // Winograd stays 1-2% ahead there, and the 128-channel layers (1.2 MB) were even at 2 threads.
  // Few tiles per thread likewise: SqueezeNet's 64 -> 256 on 13x13 (16 tiles, 1.2 MB transformed) at 2
  // threads ran 56-68 us on Winograd and 45-47 us direct (bench/micro/qconv.cpp, Zen 5, 2026-12-06; at
  // 1 thread Winograd 72 vs 76); 49 tiles at 2 threads: 32 -> 128 on 27x27 even, 128 -> 128 on 28x28
  // Winograd 1.5-2x faster.
  const int64_t threads = c.options().pool ? c.options().pool->num_threads() : 1;
  const int64_t transformed_bytes = 36 * cp * ws[0] * 2;
  if (!g_accept_any_size.load(std::memory_order_relaxed) &&
      (tiles < 16 || ws[0] < 8 || ws[1] < 8 || gemm_ratio > kMaxGemmRatio ||
       (threads > 1 &&
        (transformed_bytes > kMaxThreadedWeightBytes || tiles < kMinTilesPerThread * threads))))
    return false;
  const QConvConstants q(c);
  return output_fits(c.constant(3)->data<int8_t>(), ws[0], ws[1] * 9, q.x_zp_u);
}
void qwino_accept_any_size(bool any) { g_accept_any_size.store(any); }
std::unique_ptr<Kernel> make_qlinear_winograd_avx512vnni(const ir::Node&) {
  return std::make_unique<QLinearConvWinograd>();
}

}  // namespace verge
