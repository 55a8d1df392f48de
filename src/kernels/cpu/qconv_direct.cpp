// QLinearConv by AMX tile registers straight from the input (qconv_direct_tile_amx, kernels/cpu/qconv.h):
// stride 1, group 1. run() first writes the input, padded with x_zp, in channel quads into the scratch
// arena (one pass over the input, where the panel kernels build an im2col panel per 32-pixel tile: kh kw
// passes); then every tile of 32 padded-grid points (as in qconv.cpp's grid mode: point oy * wp + ox, tap
// (i, j) at + i dh wp + j dw, points past ow dropped) times every tile of 32 output channels loads its
// activations from the quad planes at the tap's offset: 16 points x 4 channels are 64 contiguous bytes.
#include <algorithm>
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

constexpr int PT = kQConvPt, MR = kQConvMrAmx;
constexpr int64_t kChannelMajorWeightBytes = int64_t{1} << 20;

class QLinearConvAmxDirect final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    const Shape& xs = c.shape(0);
    const Shape& ws = c.shape(3);
    VERGE_ASSIGN_OR_RETURN(ConvGeometry g, qconv_geometry(c));
    n_ = xs[0], c_ = xs[1], h_ = xs[2], w_ = xs[3], m_ = ws[0];
    const int64_t kh = ws[2], kw = ws[3], dh = g.dilations[0], dw = g.dilations[1];
    ph_ = g.pads_begin[0], pw_ = g.pads_begin[1], oh_ = g.out[0], ow_ = g.out[1];
    hp_ = h_ + g.pads_begin[0] + g.pads_end[0], wp_ = w_ + g.pads_begin[1] + g.pads_end[1];
    taps_ = static_cast<int>(kh * kw), chunks_ = (c_ + 63) / 64, quads_ = chunks_ * 16;
    mtiles_ = (m_ + MR - 1) / MR;
    tap_off_.clear();
    for (int64_t i = 0; i < kh; ++i)
      for (int64_t j = 0; j < kw; ++j) tap_off_.push_back((i * dh * wp_ + j * dw) * 4);
    grid_q_ = (oh_ - 1) * wp_ + ow_, ptiles_ = (grid_q_ + PT - 1) / PT;
    // Every point a tile reads (the last tile's dropped ones included) lies in its quad plane; an odd
    // number of cache lines per plane spreads a tile load's 16 rows over 16 cache sets.
    const int64_t points = std::max(hp_ * wp_, ptiles_ * PT + tap_off_.back() / 4);
    plane_bytes_ = (points * 4 + 63) / 64 * 64;
    if (plane_bytes_ / 64 % 2 == 0) plane_bytes_ += 64;
    flip_ = c.dtype(0) == DType::kInt8 ? 0x80 : 0;
    x_zp_ = static_cast<uint8_t>(c.constant(2)->get_as_int64(0));
    zp_row_.assign(static_cast<size_t>(w_), x_zp_);
    rq_base_.y_signed = c.output(0).dtype == DType::kInt8;
    rq_base_.y_zp = static_cast<int32_t>(c.constant(7)->get_as_int64(0));

    const int8_t* wd = c.constant(3)->data<int8_t>();
    const QConvConstants q(c);
    pack_ = q.share<Packed>(c, name(), [&] {
      Packed pk;
      pk.w.assign(static_cast<size_t>(mtiles_ * taps_ * chunks_ * MR * 64), 0);
      pk.comp.assign(static_cast<size_t>(mtiles_ * MR), 0);
      pk.scale.assign(static_cast<size_t>(mtiles_ * MR), 0.f);
      for (int64_t m = 0; m < m_; ++m) {
        int64_t sum = 0;
        for (int64_t ch = 0; ch < c_; ++ch)
          for (int64_t t = 0; t < taps_; ++t) {
            const int8_t v = wd[(m * c_ + ch) * taps_ + t];
            pk.w[static_cast<size_t>((((m / MR * taps_ + t) * chunks_ + ch / 64) * MR + m % MR) * 64 +
                                     ch % 64)] = v;
            sum += v;
          }
        pk.comp[static_cast<size_t>(m)] = q.comp(m, sum);
        pk.scale[static_cast<size_t>(m)] = q.scale(m);
      }
      return pk;
    });
    const int64_t threads = c.options().pool ? c.options().pool->num_threads() : 1;
    const int64_t tiles = n_ * ptiles_;  // split the channels too when the tiles are few (qconv.cpp)
    msplit_ = threads == 1 ? 1 : std::clamp<int64_t>((2 * threads + tiles - 1) / tiles, 1, mtiles_);
    // Channel tile major when the packed weights are large: each channel tile's weights are then read once
    // for all pixel tiles instead of once per pixel tile. resnet18 at 1 thread: its 7x7 layers (2.4 MB of
    // weights, 51 KB of quad planes) 14% faster; its 28x28 ones (147 KB and 115 KB) 17% slower.
    const int64_t quad_bytes = n_ * quads_ * plane_bytes_;
    channel_major_ = static_cast<int64_t>(pack_->w.size()) > kChannelMajorWeightBytes;
    c.request_scratch(static_cast<size_t>(quad_bytes));
    return Status::ok();
  }

  Status run(const RunContext& c) override {
    const auto* x = static_cast<const uint8_t*>(c.input(0).raw());
    auto* y = static_cast<uint8_t*>(c.output(0).raw());
    auto* quad_planes = static_cast<uint8_t*>(c.scratch);
    const int64_t real_quads = (c_ + 3) / 4;  // quads past them meet zero weights only
    parallel_for(c.pool, n_ * real_quads, 1, [&](int64_t begin, int64_t end) {
      for (int64_t u = begin; u < end; ++u) write_quad_plane(x, u / real_quads, u % real_quads, quad_planes);
    });
    const int64_t tiles = n_ * ptiles_, plane = oh_ * ow_;
    // The output runs of pixel tile `tile` (grid points past a row's end dropped).
    auto store_of = [&](int64_t tile) {
      const int64_t p0 = tile % ptiles_ * PT;
      const int pixels = static_cast<int>(std::min<int64_t>(PT, grid_q_ - p0));
      return wp_ != ow_ ? QTileStore::grid(p0, pixels, wp_, ow_) : QTileStore::contiguous(pixels, p0);
    };
    auto tile_times_channels = [&](int64_t tile, const QTileStore& st, int64_t t) {
      const int64_t n = tile / ptiles_, p0 = tile % ptiles_ * PT;
      QRequant rq = rq_base_;
      rq.comp = pack_->comp.data() + t * MR;
      rq.scale = pack_->scale.data() + t * MR;
      const int rows = static_cast<int>(std::min<int64_t>(MR, m_ - t * MR));
      qconv_direct_tile_amx(quad_planes + n * quads_ * plane_bytes_ + p0 * 4, plane_bytes_, tap_off_.data(),
                            taps_, chunks_, pack_->w.data() + t * taps_ * chunks_ * MR * 64, rq, rows,
                            y + (n * m_ + t * MR) * plane, plane, st);
    };
    if (channel_major_)  // work items: channel tile major, then pixel tile
      parallel_for(c.pool, mtiles_ * tiles, 1, [&](int64_t begin, int64_t end) {
        for (int64_t u = begin; u < end; ++u) tile_times_channels(u % tiles, store_of(u % tiles), u / tiles);
        qconv_amx_release();
      });
    else  // work items: channel part major (see prepare), then pixel tile, each over its part's channel tiles
      parallel_for(c.pool, tiles * msplit_, 1, [&](int64_t begin, int64_t end) {
        for (int64_t u = begin; u < end; ++u) {
          const int64_t part = u / tiles;
          const QTileStore st = store_of(u % tiles);  // one per pixel tile, for all its channel tiles
          for (int64_t t = mtiles_ * part / msplit_; t < mtiles_ * (part + 1) / msplit_; ++t)
            tile_times_channels(u % tiles, st, t);
        }
        qconv_amx_release();
      });
    return Status::ok();
  }
  const char* name() const override { return "qlinearconv_amx_direct"; }

 private:
  // Quad q of image n: channels 4q .. 4q + 3 (x_zp past C), padded with x_zp, flipped to uint8.
  void write_quad_plane(const uint8_t* x, int64_t n, int64_t q, uint8_t* quad_planes) const {
    uint8_t* dst = quad_planes + (n * quads_ + q) * plane_bytes_;
    const uint8_t pad = x_zp_ ^ flip_;
    const uint8_t* rows[4];
    for (int64_t r = 0; r < hp_; ++r) {
      uint8_t* row = dst + r * wp_ * 4;
      const int64_t iy = r - ph_;
      if (iy < 0 || iy >= h_) {
        std::memset(row, pad, static_cast<size_t>(wp_ * 4));
        continue;
      }
      for (int j = 0; j < 4; ++j) {
        const int64_t ch = 4 * q + j;
        rows[j] = ch < c_ ? x + ((n * c_ + ch) * h_ + iy) * w_ : zp_row_.data();
      }
      std::memset(row, pad, static_cast<size_t>(pw_ * 4));
      qconv_interleave_quad_amx(rows[0], rows[1], rows[2], rows[3], w_, flip_, row + pw_ * 4);
      std::memset(row + (pw_ + w_) * 4, pad, static_cast<size_t>((wp_ - pw_ - w_) * 4));
    }
  }

  int64_t n_ = 0, c_ = 0, h_ = 0, w_ = 0, m_ = 0, ph_ = 0, pw_ = 0, oh_ = 0, ow_ = 0, hp_ = 0, wp_ = 0;
  int taps_ = 0;
  bool channel_major_ = false;
  int64_t chunks_ = 0, quads_ = 0, mtiles_ = 0, grid_q_ = 0, ptiles_ = 0, plane_bytes_ = 0, msplit_ = 1;
  std::vector<int64_t> tap_off_;  // per tap: its byte offset in a quad plane
  uint8_t flip_ = 0, x_zp_ = 0;
  std::vector<uint8_t> zp_row_;  // x_zp: the rows of channels past C
  QRequant rq_base_;
  struct Packed {
    LargeVector<int8_t> w;  // [M / 32][tap][C / 64][32][64]
    std::vector<int32_t> comp;
    std::vector<float> scale;
  };
  std::shared_ptr<const Packed> pack_;
};

}  // namespace

// Stride 1, group 1, a window larger than 1x1, input channels that fill their chunks of 64 to 7/8 at least
// (squeezenet1_1's 3x3 layers on 32 and 48 channels were 5% slower here than on qlinearconv_amx, whose
// panels pad only the whole reduction to 64). 1x1 convolutions stay on qlinearconv_amx, whose per-tile panel
// is the same interleave as a quad plane and is reused by every channel tile (measured with 1x1 ones taken
// here: mobilenet_v2 13%, squeezenet1_1 12%, mobilenet_v3_small 12% slower at 1 thread).
bool accepts_qlinear_conv_amx_direct(const PrepareContext& c) {
  if (!accepts_qlinear_conv_tiles(c) || c.node().get_int("group", 1) != 1) return false;
  const auto st = c.node().get_ints("strides", {1, 1});
  const int64_t channels = c.shape(0)[1], padded = (channels + 63) / 64 * 64;
  if (st.size() != 2 || st[0] != 1 || st[1] != 1 || channels * 8 < padded * 7) return false;
  const Shape& ws = c.shape(3);
  if (ws[2] * ws[3] == 1) return false;
  auto g = qconv_geometry(c);
  return g.is_ok() && g->out[0] > 0 && g->out[1] > 0;
}
std::unique_ptr<Kernel> make_qlinear_conv_amx_direct(const ir::Node&) {
  return std::make_unique<QLinearConvAmxDirect>();
}

}  // namespace verge
