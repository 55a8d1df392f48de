// QLinearConv with AVX512-VNNI or AVX2 (kernels/cpu/qconv.h): uint8 or int8 activations (int8 ones are
// shifted by 128 while the panel is built), constant int8 symmetric weights packed at prepare with the
// activation zero point and the int32 bias folded into one per-channel constant, per-channel
// requantization fused into the tile. Works directly on NCHW tensors: run() builds, per tile of 32
// output pixels, the im2col panel of one group (4 reduction indices interleaved per pixel) in a
// per-thread scratch slot and multiplies it by every output-channel tile of that group (by a range of
// them when there are too few tiles for the threads). Inputs that need padding are padded row by row
// into a per-thread copy, by the thread whose tiles read those rows.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "core/memory.h"
#include "core/thread_pool.h"
#include "ir/conv_geometry.h"
#include "kernels/cpu/qconv.h"
#include "kernels/cpu/qconv_constants.h"
#include "kernels/kernel.h"
#include "kernels/ref/quant_math.h"
#include "runtime/exec_options.h"

namespace verge {
namespace {

constexpr int PT = kQConvPt;
constexpr int64_t kAmxMinK = 32;

// The ISA-specific pieces of the generic QLinearConv: reduction indices per panel group (G), panel and
// packed-weight element types, output channels per tile (MR) and the microkernels (qconv.h). A panel
// group of 32 pixels is 128 bytes in both.
struct VnniMicro {
  static constexpr int G = 4, MR = kQConvMr;
  using Elem = uint8_t;
  using WElem = int8_t;
  static constexpr const char* kName = "qlinearconv_avx512vnni";
  static constexpr int64_t kK4Align = 1;  // panel groups per packed reduction step
  static void finish() {}                 // after a thread's last tile of a run
  static int64_t pack_index(int64_t k, int64_t r) { return ((k / G) * MR + r) * G + k % G; }
  static void interleave(const uint8_t* const* r, uint8_t flip, Elem* dst) {
    qconv_interleave4_avx512vnni(r[0], r[1], r[2], r[3], flip, dst);
  }
  static void even_bytes(const uint8_t* src, uint8_t* dst) { qconv_even_bytes_avx512vnni(src, dst); }
  static void split_columns(const uint8_t* src, int64_t n, uint8_t* even, uint8_t* odd) {
    qconv_split_columns_avx512vnni(src, n, even, odd);
  }
  static bool can_gather() { return __builtin_cpu_supports("avx512vbmi"); }
  static bool can_panel_rows() { return __builtin_cpu_supports("avx512vbmi"); }
  static void panel_rows(const uint8_t* base, const int64_t* koff, int64_t k, int64_t k4, const uint8_t* pad,
                         uint8_t flip, bool even, Elem* panel) {
    qconv_panel_rows_avx512vbmi(base, koff, k, k4, pad, flip, even, panel);
  }
  static constexpr bool kLanes = true;
  static void lanes(const uint8_t* col, const int8_t* w, int64_t k4, const int32_t* comp, const float* scale,
                    int32_t y_zp, bool y_signed, const int* px, const int64_t* out, int pixels, int channels,
                    uint8_t* y, int64_t plane) {
    qconv_lanes_avx512vnni(col, w, k4, comp, scale, y_zp, y_signed, px, out, pixels, channels, y, plane);
  }
  static void gather(const uint8_t* src, const uint8_t* idx, uint8_t* dst) {
    qconv_gather32_avx512vbmi(src, idx, dst);
  }
  static void tile(const Elem* col, const WElem* w, int64_t kg, const QRequant& rq, int rows, uint8_t* y,
                   int64_t ldy, const QTileStore& st) {
    qconv_tile_avx512vnni(col, w, kg, rq, rows, y, ldy, st);
  }
};
// AMX: VNNI's panels, 32-channel tiles multiplied by tile registers, K in steps of 64 (qconv.h).
struct AmxMicro : VnniMicro {
  static constexpr int MR = kQConvMrAmx;
  static constexpr const char* kName = "qlinearconv_amx";
  static constexpr int64_t kK4Align = 16;
  static void finish() { qconv_amx_release(); }
  static int64_t pack_index(int64_t k, int64_t r) { return ((k / 64) * MR + r) * 64 + k % 64; }
  static constexpr bool kLanes = false;
  static void tile(const Elem* col, const WElem* w, int64_t kg, const QRequant& rq, int rows, uint8_t* y,
                   int64_t ldy, const QTileStore& st) {
    qconv_tile_amx(col, w, kg, rq, rows, y, ldy, st);
  }
};
struct Avx2Micro {
  static constexpr int G = 2, MR = kQConvMrAvx2;
  using Elem = int16_t;
  using WElem = int16_t;
  static constexpr const char* kName = "qlinearconv_avx2";
  static constexpr int64_t kK4Align = 1;
  static void finish() {}
  static int64_t pack_index(int64_t k, int64_t r) { return ((k / G) * MR + r) * G + k % G; }
  static void interleave(const uint8_t* const* r, uint8_t flip, Elem* dst) {
    qconv_interleave2_avx2(r[0], r[1], flip, dst);
  }
  static void even_bytes(const uint8_t* src, uint8_t* dst) { qconv_even_bytes_avx2(src, dst); }
  static void split_columns(const uint8_t* src, int64_t n, uint8_t* even, uint8_t* odd) {
    qconv_split_columns_avx2(src, n, even, odd);
  }
  static bool can_gather() { return false; }
  static bool can_panel_rows() { return false; }
  static void panel_rows(const uint8_t*, const int64_t*, int64_t, int64_t, const uint8_t*, uint8_t, bool,
                         Elem*) {}
  static constexpr bool kLanes = false;
  static void lanes(const uint8_t*, const int16_t*, int64_t, const int32_t*, const float*, int32_t, bool,
                    const int*, const int64_t*, int, int, uint8_t*, int64_t) {}
  static void gather(const uint8_t*, const uint8_t*, uint8_t*) {}
  static void tile(const Elem* col, const WElem* w, int64_t kg, const QRequant& rq, int rows, uint8_t* y,
                   int64_t ldy, const QTileStore& st) {
    qconv_tile_avx2(col, w, kg, rq, rows, y, ldy, st);
  }
};

// Weights with output channels in lanes (the layout of qgemv_avx512vnni and qconv_lanes_avx512vnni):
// pk.w[((m / 16) * k4 + k / 4) * 64 + (m % 16) * 4 + k % 4] = W(m, k) and pk.comp / pk.scale[m] for m < M;
// the caller sizes the vectors (zeros past M and K stay zero).
template <class Packed>
void pack_channels_in_lanes(const int8_t* wd, int64_t m_count, int64_t k_count, int64_t k4,
                            const QConvConstants& q, Packed& pk) {
  for (int64_t m = 0; m < m_count; ++m) {
    int64_t sum = 0;
    for (int64_t k = 0; k < k_count; ++k) {
      const int8_t v = wd[m * k_count + k];
      pk.w[static_cast<size_t>(((m / 16) * k4 + k / 4) * 64 + (m % 16) * 4 + k % 4)] = v;
      sum += v;
    }
    pk.comp[static_cast<size_t>(m)] = q.comp(m, sum);
    pk.scale[static_cast<size_t>(m)] = q.scale(m);
  }
}

template <class Micro>
class QLinearConvTiles final : public Kernel {
  static constexpr int G = Micro::G, MR = Micro::MR;
  using Elem = typename Micro::Elem;
  using WElem = typename Micro::WElem;

 public:
  Status prepare(PrepareContext& c) override {
    const Shape& xs = c.shape(0);
    const Shape& ws = c.shape(3);
    VERGE_ASSIGN_OR_RETURN(ConvGeometry g, qconv_geometry(c));
    n_ = xs[0], c_ = xs[1], h_ = xs[2], w_ = xs[3];
    m_ = ws[0], kh_ = ws[2], kw_ = ws[3];
    group_ = c.node().get_int("group", 1);
    cg_ = c_ / group_, mg_ = m_ / group_;
    sh_ = g.strides[0], sw_ = g.strides[1], dh_ = g.dilations[0], dw_ = g.dilations[1];
    ph_ = g.pads_begin[0], pw_ = g.pads_begin[1], oh_ = g.out[0], ow_ = g.out[1];
    k_ = cg_ * kh_ * kw_;
    k4_ = (k_ + G - 1) / G;  // panel groups (of G reduction indices)
    k4_ = (k4_ + Micro::kK4Align - 1) / Micro::kK4Align * Micro::kK4Align;
    mtiles_ = (mg_ + MR - 1) / MR;
    // Stride 1: the "padded grid" — output pixel (oy, ox) is grid point q = oy * wp + ox of the input
    // padded with x_zp (wp = padded width), and reduction index (c, i, j) of every pixel reads the padded
    // plane at q + i * dh * wp + j * dw: the 32 bytes of a tile are contiguous, so the panel is built with
    // interleaves only. Grid points with ox >= ow are computed and dropped. Other strides build rows.
    // Stride 2 (both dims; padded sides rounded up to even), two layouts of the padded plane:
    // - by row phase: its even rows then its odd rows, so padded row 2 * oy + a is row oy + a / 2 of
    //   phase a % 2, and grid point q = oy * (wp / 2) + ox reads phase (i dh) % 2 at 2q + (i dh) / 2 * wp
    //   + j dw: a panel row is the even bytes of 64 (one vpmovwb per panel row);
    // - by row and column phase ("phase planes"): four planes of hp/2 x wp/2, padded (r, col) at phase
    //   (r % 2, col % 2), position (r / 2, col / 2); q reads phase ((i dh) % 2, (j dw) % 2) at
    //   q + (i dh) / 2 * wp / 2 + (j dw) / 2, contiguous like stride 1: panel rows are pointers into the
    //   copy, but every input row is split into even and odd bytes when copied.
    // Phase planes when panel rows outnumber copied rows 8 to 1 (kh kw tiles vs hp): resnet18's 7x7 stem
    // (83:1) 15% faster, the 3x3 stems on 3 channels (16:1) 3-8%; its 3x3 stride-2 layers (2:1) were
    // 20% slower with 2 threads (each thread copies the rows its tiles read, a few at a time).
    gs_ = sh_ == sw_ && (sh_ == 1 || sh_ == 2) ? sh_ : 0;
    grid_ = gs_ != 0;
    pad_top_ = g.pads_begin[0], pad_left_ = g.pads_begin[1];
    hp_ = h_ + g.pads_begin[0] + g.pads_end[0];
    wp_ = w_ + g.pads_begin[1] + g.pads_end[1];
    if (gs_ == 2) wp_ += wp_ % 2, hp_ = std::max(hp_, 2 * oh_ + (kh_ - 1) * dh_), hp_ += hp_ % 2;
    copy_ = grid_ && (hp_ * wp_ != h_ * w_ || gs_ == 2);
    gw_ = grid_ ? wp_ / gs_ : ow_;
    grid_q_ = grid_ ? (oh_ - 1) * gw_ + ow_ : oh_ * ow_;
    ptiles_ = (grid_q_ + PT - 1) / PT;
    // Stride 1 on a padded copy whose grid drops columns (wp > ow): "compact" tiles of 32 consecutive
    // output pixels instead of 32 grid points, so no dropped column is computed (13x13 planes padded to
    // 15: 193 grid points in 7 tiles, 169 pixels in 5.5). Pixel p of a tile reads the padded plane at q(p) =
    // oy * wp + ox (+ the reduction index's offset); when every tile's q span is below 128, a panel row is
    // one byte permute of 128 bytes (gather_idx_: q(p) - q(0) per tile) and the tile's output is contiguous.
    compact_ = false;
    if (gs_ == 1 && copy_ && gw_ != ow_ && Micro::can_gather()) {
      const int64_t pixels = oh_ * ow_, tiles = (pixels + PT - 1) / PT;
      std::vector<uint8_t> idx(static_cast<size_t>(tiles * 64), 0);
      std::vector<int64_t> q0(static_cast<size_t>(tiles));
      bool fits = true;
      for (int64_t t = 0; t < tiles && fits; ++t) {
        const int64_t first = t * PT, base = (first / ow_) * wp_ + first % ow_;
        q0[static_cast<size_t>(t)] = base;
        for (int64_t p = 0; p < PT && first + p < pixels; ++p) {
          const int64_t q = ((first + p) / ow_) * wp_ + (first + p) % ow_ - base;
          fits = fits && q < 128;
          idx[static_cast<size_t>(t * 64 + p)] = static_cast<uint8_t>(q);
        }
      }
      // A gathered panel row costs more than a grid row (measured: 55x55 planes padded to 57, 4% fewer
      // tiles, ran 14% slower; 13x13 padded to 15, 21% fewer, 10% faster): compact only when it saves
      // at least 15% of the tiles (a last tile of <= 16 pixels counts half).
      const double units = static_cast<double>(pixels / PT) + (pixels % PT == 0    ? 0.0
                                                               : pixels % PT <= 16 ? 0.5
                                                                                   : 1.0);
      if (fits && units <= 0.85 * static_cast<double>(ptiles_)) {
        compact_ = true, gather_idx_ = std::move(idx), gather_q0_ = std::move(q0);
        grid_q_ = pixels, ptiles_ = tiles;
      }
    }
    koff_.clear();
    phase_planes_ = gs_ == 2 && kh_ * kw_ * ptiles_ >= 8 * hp_;
    read_row_phases_ = gs_ == 2 ? 0 : 3;
    for (int64_t i = 0; i < kh_; ++i) read_row_phases_ |= 1 << (i * dh_ % 2);
    if (grid_)
      for (int64_t k = 0; k < k_; ++k) {
        const int64_t ci = k / (kh_ * kw_), ki = (k / kw_) % kh_, kj = k % kw_;
        koff_.push_back(ci * hp_ * wp_ + padded_offset(ki * dh_, kj * dw_));
      }
    koff_max_ = koff_.empty() ? 0 : *std::max_element(koff_.begin(), koff_.end());
    panel_rows_ = grid_ && Micro::can_panel_rows();
    flip_ = c.dtype(0) == DType::kInt8 ? 0x80 : 0;
    x_zp_ = static_cast<uint8_t>(c.constant(2)->get_as_int64(0));  // raw byte (int8 two's complement)
    zp_row_.fill(x_zp_);
    rq_base_.y_signed = c.output(0).dtype == DType::kInt8;
    rq_base_.y_zp = static_cast<int32_t>(c.constant(7)->get_as_int64(0));

    const int8_t* wd = c.constant(3)->data<int8_t>();
    const QConvConstants q(c);
    // Channels in lanes (qconv_lanes_avx512vnni) where it wastes enough fewer lanes than the tiles (see
    // lanes_gain). Its output is scattered byte by byte to the channel planes, which a short reduction
    // does not pay for (resnet18's 1x1 downsample convs, K = 128 and 256: 13-27% slower; its 3x3 convs on
    // 14x14 and 7x7, K >= 1152: 10-22% faster).
    lanes_ = Micro::kLanes && group_ == 1 && k4_ >= kLanesMinK4 && lanes_gain() >= kLanesGain;
    if (lanes_) {
      pack_ = q.share<Packed>(c, "qlinearconv_avx512vnni_lanes", [&] {
        const int64_t blocks = (m_ + 63) / 64 * 4;  // of 16 channels
        Packed pk;
        pk.w.assign(static_cast<size_t>(blocks * k4_ * 64), 0);
        pk.comp.assign(static_cast<size_t>(blocks * 16), 0);
        pk.scale.assign(static_cast<size_t>(blocks * 16), 0.f);
        pack_channels_in_lanes(wd, m_, k_, k4_, q, pk);
        return pk;
      });
    } else
      pack_ = q.share<Packed>(c, Micro::kName, [&] {
        const int64_t rows = group_ * mtiles_ * MR;
        Packed pk;
        pk.w.assign(static_cast<size_t>(rows * k4_ * G), 0);
        pk.comp.assign(static_cast<size_t>(rows), 0);
        pk.scale.assign(static_cast<size_t>(rows), 0.f);
        for (int64_t gi = 0; gi < group_; ++gi)
          for (int64_t mi = 0; mi < mg_; ++mi) {
            const int64_t m = gi * mg_ + mi, t = mi / MR, r = mi % MR;
            const int64_t row = (gi * mtiles_ + t) * MR + r;
            WElem* tile = pk.w.data() + (gi * mtiles_ + t) * k4_ * MR * G;
            int64_t sum = 0;
            for (int64_t k = 0; k < k_; ++k) {
              const int8_t v = wd[m * k_ + k];
              tile[Micro::pack_index(k, r)] = v;
              sum += v;
            }
            pk.comp[static_cast<size_t>(row)] = q.comp(m, sum);
            pk.scale[static_cast<size_t>(row)] = q.scale(m);
          }
        return pk;
      });
    threads_ = c.options().pool ? c.options().pool->num_threads() : 1;
    // Few tiles for the threads (7x7 planes: 2): the output channels are split too, each part building
    // the tile's panel itself, so every thread gets work. Work items run part-major (a thread's block of
    // items is its channel part over every tile), so each thread reads only its part's weights: at 2
    // threads, 5-30% faster per layer than tile-major items (each thread one tile, every weight) on
    // resnet18's and mobilenet_v2's 7x7 layers (mobilenet_v2's last 1x1 expand 0.081 -> 0.037 ms).
    const int64_t tiles = n_ * group_ * ptiles_, mparts = lanes_ ? (mg_ + 63) / 64 : mtiles_;
    msplit_ = threads_ == 1 ? 1 : std::clamp<int64_t>((2 * threads_ + tiles - 1) / tiles, 1, mparts);
    // The padded copies live with the kernel, not in the arena: their padding is written once, here,
    // and each run copies only the input's bytes (resnet18 at 1 thread: the per-run memsets were 1.6% of
    // its time; the copies hold ~1 MB per thread there).
    pad_bytes_ = copy_ ? static_cast<size_t>(n_ * c_ * hp_ * wp_ + 192 + 63) / 64 * 64 : 0;
    padded_.assign(static_cast<size_t>(threads_) * pad_bytes_, x_zp_);
    padded_run_.assign(static_cast<size_t>(copy_ ? threads_ * n_ * group_ * hp_ : 0), -1);
    c.request_scratch(static_cast<size_t>(threads_) * slot_bytes());
    return Status::ok();
  }

  Status run(const RunContext& c) override {
    const auto* x = static_cast<const uint8_t*>(c.input(0).raw());
    auto* y = static_cast<uint8_t*>(c.output(0).raw());
    auto* scratch = static_cast<uint8_t*>(c.scratch);
    const int64_t run = ++runs_;
    if (copy_ && (c.pool == nullptr || c.pool->num_threads() == 1))  // one thread: every row up front
      for (int64_t n = 0; n < n_; ++n)
        for (int64_t gi = 0; gi < group_; ++gi) pad_rows(x, n, gi, 0, hp_ - 1, 0, run, padded_.data());
    const int64_t tiles = n_ * group_ * ptiles_;
    parallel_for(c.pool, tiles * msplit_, 1, [&](int64_t begin, int64_t end) {
      const int64_t slot = ThreadPool::thread_index();
      uint8_t* own = scratch + slot * slot_bytes();
      uint8_t* padded = padded_.data() + slot * pad_bytes_;
      auto* panel = reinterpret_cast<Elem*>(own);
      const uint8_t* xs = copy_ ? padded : x;  // the padded copy (this thread's) or x
      const uint8_t* xs_end = xs + (copy_ ? n_ * c_ * hp_ * wp_ + 192 : n_ * c_ * h_ * w_);
      int64_t built = -1;  // the tile whose panel is built
      for (int64_t u = begin; u < end; ++u) {
        const int64_t part = u / tiles, tile = u % tiles;  // part-major: see prepare
        const int64_t pt = tile % ptiles_, gi = (tile / ptiles_) % group_, n = tile / (ptiles_ * group_);
        const int64_t p0 = pt * PT;
        const int pixels = static_cast<int>(std::min<int64_t>(PT, grid_q_ - p0));
        const int64_t plane = oh_ * ow_;
        uint8_t* yg = y + (n * m_ + gi * mg_) * plane;
        if (tile != built) {
          built = tile;
          if (copy_) pad_rows_for(x, n, gi, p0, pixels, slot, run, padded);
          const int64_t in_plane = copy_ ? hp_ * wp_ : h_ * w_;
          const uint8_t* xg = xs + (n * c_ + gi * cg_) * in_plane;
          if (compact_)
            build_panel_compact(xg, pt, panel);
          else if (grid_)
            build_panel_grid(xg, xs_end, p0, panel);
          else
            build_panel(xg, p0, pixels, panel);
        }
        if (lanes_) {
          const int64_t blocks = (mg_ + 63) / 64;
          run_lanes(panel, p0, pixels, yg, blocks * part / msplit_ * 64, blocks * (part + 1) / msplit_ * 64);
          continue;
        }
        // The tile's output runs: one per output row it touches (grid points past a row's end dropped).
        const QTileStore st = grid_ && !compact_ && gw_ != ow_ ? QTileStore::grid(p0, pixels, gw_, ow_)
                                                               : QTileStore::contiguous(pixels, p0);
        for (int64_t t = mtiles_ * part / msplit_; t < mtiles_ * (part + 1) / msplit_; ++t) {
          const int64_t row = (gi * mtiles_ + t) * MR;
          QRequant rq = rq_base_;
          rq.comp = pack_->comp.data() + row;
          rq.scale = pack_->scale.data() + row;
          const int rows = static_cast<int>(std::min<int64_t>(MR, mg_ - t * MR));
          Micro::tile(panel, pack_->w.data() + row * k4_ * G, k4_, rq, rows, yg + t * MR * plane, plane, st);
        }
      }
      Micro::finish();
    });
    return Status::ok();
  }
  const char* name() const override { return Micro::kName; }

 private:
  // Panel (k4 * 128 bytes) and 4 row buffers, 64-byte multiples.
  size_t slot_bytes() const { return static_cast<size_t>(k4_ * 128 + 4 * 64 + 63) / 64 * 64; }

  // Row k of the im2col panel for output pixels [p0, p0 + pixels): 32 bytes, x_zp where the window is
  // in the padding or past the last pixel. Returns a pointer into x when the bytes are contiguous there.
  const uint8_t* build_row(const uint8_t* xg, int64_t k, int64_t p0, int pixels, uint8_t* buf) const {
    const int64_t ci = k / (kh_ * kw_), i = (k / kw_) % kh_, j = k % kw_;
    const uint8_t* plane = xg + ci * h_ * w_;
    if (kh_ == 1 && kw_ == 1 && sh_ == 1 && sw_ == 1 && ph_ == 0 && pw_ == 0 && pixels == PT)
      return plane + p0;
    int p = 0;
    while (p < pixels) {
      const int64_t oy = (p0 + p) / ow_, ox0 = (p0 + p) % ow_;
      const int seg = static_cast<int>(std::min<int64_t>(ow_ - ox0, pixels - p));
      const int64_t iy = oy * sh_ - ph_ + i * dh_;
      uint8_t* out = buf + p;
      if (iy < 0 || iy >= h_) {
        std::memset(out, x_zp_, static_cast<size_t>(seg));
      } else {
        const uint8_t* src = plane + iy * w_;
        const int64_t ix0 = ox0 * sw_ - pw_ + j * dw_;
        if (sw_ == 1) {
          const int64_t lo = std::clamp<int64_t>(-ix0, 0, seg), hi = std::clamp<int64_t>(w_ - ix0, lo, seg);
          std::memset(out, x_zp_, static_cast<size_t>(lo));
          std::memcpy(out + lo, src + ix0 + lo, static_cast<size_t>(hi - lo));
          std::memset(out + hi, x_zp_, static_cast<size_t>(seg - hi));
        } else {
          for (int q = 0; q < seg; ++q) {
            const int64_t ix = ix0 + q * sw_;
            out[q] = ix >= 0 && ix < w_ ? src[ix] : x_zp_;
          }
        }
      }
      p += seg;
    }
    std::memset(buf + pixels, x_zp_, static_cast<size_t>(PT - pixels));
    return buf;
  }

  // Where padded (r, col) is stored in its channel's padded plane (stride 2: by phase, see prepare).
  int64_t padded_offset(int64_t r, int64_t col) const {
    if (gs_ != 2) return r * wp_ + col;
    if (!phase_planes_) return ((r % 2) * (hp_ / 2) + r / 2) * wp_ + col;
    return ((r % 2) * 2 + col % 2) * (hp_ / 2) * (wp_ / 2) + (r / 2) * (wp_ / 2) + col / 2;
  }

  // The panel of one tile: row(k, buf) gives reduction index k's 32 bytes (a pointer into the input, or
  // into buf after writing them there); G rows at a time are interleaved, rows past K are x_zp.
  template <class Row>
  void build_panel_rows(Elem* panel, Row&& row) const {
    uint8_t* bufs = reinterpret_cast<uint8_t*>(panel) + k4_ * 128;
    for (int64_t k4 = 0; k4 < k4_; ++k4) {
      const uint8_t* r[G];
      for (int j = 0; j < G; ++j) {
        const int64_t k = k4 * G + j;
        r[j] = k < k_ ? row(k, bufs + j * 64) : zp_row_.data();
      }
      Micro::interleave(r, flip_, panel + k4 * G * PT);
    }
  }

  // Writes into this thread's padded copy the padded rows (of image n, group gi) that the kept output
  // pixels of the tile at grid point / pixel p0 read. Each thread pads what its own tiles read, from x:
  // on 2 vCPUs that share no cache, gathering panel rows from a copy the other thread wrote cost more
  // than padding them again (a 3x3 stride-2 layer on 28x28 at 2 threads: 111 us with one shared copy,
  // 72 us with per-thread copies; 115 us at 1 thread). Bytes past a kept pixel's rows (read by dropped
  // grid points) may be stale: they are never stored.
  void pad_rows_for(const uint8_t* x, int64_t n, int64_t gi, int64_t p0, int pixels, int64_t slot,
                    int64_t run, uint8_t* padded) {
    const int64_t row_len = compact_ ? ow_ : gw_;
    const int64_t oy0 = p0 / row_len, oy1 = std::min(oh_ - 1, (p0 + pixels - 1) / row_len);
    pad_rows(x, n, gi, oy0 * sh_, std::min(hp_ - 1, oy1 * sh_ + (kh_ - 1) * dh_), slot, run, padded);
  }

  // Padded rows [r0, r1] of image n, group gi, skipping rows this thread already padded in this run.
  void pad_rows(const uint8_t* x, int64_t n, int64_t gi, int64_t r0, int64_t r1, int64_t slot, int64_t run,
                uint8_t* padded) {
    int64_t* stamp = padded_run_.data() + (slot * n_ * group_ + n * group_ + gi) * hp_;
    for (int64_t a = r0; a <= r1;) {
      if (stamp[a] == run) {
        ++a;
        continue;
      }
      int64_t b = a;  // rows [a, b] are a run of rows not padded yet
      while (b + 1 <= r1 && stamp[b + 1] != run) ++b;
      for (int64_t r = a; r <= b; ++r) stamp[r] = run;
      // Only the input's bytes: the padding around them was set to x_zp at prepare and is never written.
      for (int64_t ci = gi * cg_; ci < (gi + 1) * cg_; ++ci) {
        uint8_t* plane = padded + (n * c_ + ci) * hp_ * wp_;
        const uint8_t* src = x + (n * c_ + ci) * h_ * w_;
        for (int64_t r = std::max(a, pad_top_); r <= std::min(b, pad_top_ + h_ - 1); ++r) {
          if (!(read_row_phases_ >> (r % 2) & 1)) continue;  // no tap reads it (stride 2: 1x1, dilation 2)
          const uint8_t* row = src + (r - pad_top_) * w_;
          if (phase_planes_)
            Micro::split_columns(row, w_, plane + padded_offset(r, pad_left_),
                                 plane + padded_offset(r, pad_left_ + 1));
          else
            std::memcpy(plane + padded_offset(r, pad_left_), row, static_cast<size_t>(w_));
        }
      }
      a = b + 1;
    }
  }

  // Panel from the padded grid (see prepare): rows are pointers into the (padded) input.
  void build_panel_grid(const uint8_t* xg, const uint8_t* x_end, int64_t q0, Elem* panel) const {
    const bool even = gs_ == 2 && !phase_planes_;  // panel rows: the even bytes of 64 (see prepare)
    const uint8_t* base = xg + (even ? 2 : 1) * q0;
    if (panel_rows_ && base + koff_max_ + (even ? 2 : 1) * PT <= x_end) {  // every row inside: one call
      Micro::panel_rows(base, koff_.data(), k_, k4_, zp_row_.data(), flip_, even, panel);
      return;
    }
    build_panel_rows(panel, [&](int64_t k, uint8_t* buf) -> const uint8_t* {
      if (even) {  // always padded with 192 bytes of slack: the 64 bytes are readable
        Micro::even_bytes(base + koff_[static_cast<size_t>(k)], buf);
        return buf;
      }
      const uint8_t* src = xg + q0 + koff_[static_cast<size_t>(k)];
      if (src + PT <= x_end) return src;
      // The end of the input: valid pixels are inside, the rest of the tile is dropped.
      const int64_t avail = std::clamp<int64_t>(x_end - src, 0, PT);
      std::memcpy(buf, src, static_cast<size_t>(avail));
      std::memset(buf + avail, x_zp_, static_cast<size_t>(PT - avail));
      return buf;
    });
  }

  // Useful fraction of the computed lanes, channels in lanes over tiles. Tiles: 32 pixels (grid points
  // included), a last one of <= 16 counting half, times 8-channel tiles. Lanes: the tiles' output pixels
  // rounded up to 4 per tile, times 64-channel blocks. (The kernel no longer computes the rounded-up
  // pixels, but the threshold was measured with this count: counting exact pixels moved mobilenet_v2's
  // 7x7 1x1 convs to lanes and three of the four got 5-20% slower.)
  double lanes_gain() const {
    double tile_lanes = 0, lane_pixels = 0;
    for (int64_t t = 0; t < ptiles_; ++t) {
      const int64_t pixels = std::min<int64_t>(PT, grid_q_ - t * PT);
      tile_lanes += t == ptiles_ - 1 && pixels <= 16 ? 16 : PT;
      int64_t valid = 0;
      for (int64_t p = 0; p < pixels; ++p) valid += !grid_ || compact_ || (t * PT + p) % gw_ < ow_;
      lane_pixels += static_cast<double>((valid + 3) / 4 * 4);
    }
    const double out = static_cast<double>(oh_ * ow_), m = static_cast<double>(mg_);
    const double tiles = out / tile_lanes * m / static_cast<double>(mtiles_ * MR);
    const double lanes = out / lane_pixels * m / static_cast<double>((mg_ + 63) / 64 * 64);
    return lanes / tiles;
  }

  // The channels-in-lanes path for one built panel: its pixels that are output pixels, in groups of as
  // equal size as kQLanesPixels allows (26 pixels: 6 + 5 + 5 + 5 + 5, no pixel computed twice), times
  // every block of 64 output channels.
  void run_lanes(const Elem* panel, int64_t p0, int pixels, uint8_t* yg, int64_t m_begin,
                 int64_t m_end) const {
    int px[PT];
    int64_t out[PT];
    int valid = 0;
    for (int p = 0; p < pixels; ++p) {
      const int64_t q = p0 + p;
      if (grid_ && !compact_ && gw_ != ow_) {
        if (q % gw_ >= ow_) continue;
        out[valid] = (q / gw_) * ow_ + q % gw_;
      } else {
        out[valid] = q;
      }
      px[valid++] = p;
    }
    if (valid == 0) return;
    const int groups = (valid + kQLanesPixels - 1) / kQLanesPixels;
    const int64_t plane = oh_ * ow_;
    for (int64_t m0 = m_begin; m0 < std::min(m_end, m_); m0 += 64) {
      const int channels = static_cast<int>(std::min<int64_t>(64, m_ - m0));
      for (int g = 0, i = 0; g < groups; ++g) {
        const int n = valid / groups + (g < valid % groups ? 1 : 0);
        Micro::lanes(reinterpret_cast<const uint8_t*>(panel), pack_->w.data() + m0 * k4_ * G, k4_,
                     pack_->comp.data() + m0, pack_->scale.data() + m0, rq_base_.y_zp, rq_base_.y_signed,
                     px + i, out + i, n, channels, yg + m0 * plane, plane);
        i += n;
      }
    }
  }

  // Compact panel of tile t (see prepare): row k gathered from 128 bytes at the padded group input +
  // koff[k] + q0[t] (the padded copy has 192 bytes of slack after its last plane).
  void build_panel_compact(const uint8_t* xg, int64_t t, Elem* panel) const {
    const uint8_t* idx = gather_idx_.data() + t * 64;
    const uint8_t* base = xg + gather_q0_[static_cast<size_t>(t)];
    build_panel_rows(panel, [&](int64_t k, uint8_t* buf) -> const uint8_t* {
      Micro::gather(base + koff_[static_cast<size_t>(k)], idx, buf);
      return buf;
    });
  }

  void build_panel(const uint8_t* xg, int64_t p0, int pixels, Elem* panel) const {
    build_panel_rows(panel, [&](int64_t k, uint8_t* buf) { return build_row(xg, k, p0, pixels, buf); });
  }

  int64_t n_ = 0, c_ = 0, h_ = 0, w_ = 0, m_ = 0, kh_ = 0, kw_ = 0, group_ = 1, cg_ = 0, mg_ = 0;
  int64_t sh_ = 1, sw_ = 1, dh_ = 1, dw_ = 1, ph_ = 0, pw_ = 0, oh_ = 0, ow_ = 0;
  int64_t k_ = 0, k4_ = 0, mtiles_ = 0, ptiles_ = 0, threads_ = 1, msplit_ = 1;
  size_t pad_bytes_ = 0;             // per thread: its padded copy of the input (copy_ only)
  std::vector<uint8_t> padded_;      // the threads' padded copies, pad_bytes_ apart
  std::vector<int64_t> padded_run_;  // per thread, image, group, padded row: the run that last padded it
  int64_t runs_ = 0;
  static constexpr double kLanesGain = 1.08;
  static constexpr int64_t kLanesMinK4 = 96;
  bool grid_ = false, copy_ = false, compact_ = false, lanes_ = false;
  std::vector<uint8_t> gather_idx_;  // compact tiles: per tile 64 permute indices (32 used)
  std::vector<int64_t> gather_q0_;   // compact tiles: per tile the padded-plane offset of its first pixel
  int64_t gs_ = 0, gw_ = 0;
  bool phase_planes_ = false;  // stride 2: the padded copy by row and column phase (see prepare)
  int read_row_phases_ = 3;    // bit a set when some tap reads padded rows of phase a (stride 2: 1 or 2)
  std::vector<int64_t> koff_;  // grid mode: offset of reduction index k in the padded group input
  int64_t koff_max_ = 0;
  bool panel_rows_ = false;  // grid panels by Micro::panel_rows (rows are pointers into the input)
  std::array<uint8_t, 2 * PT> zp_row_{};  // x_zp: the panel rows past K
  int64_t hp_ = 0, wp_ = 0, grid_q_ = 0, pad_top_ = 0, pad_left_ = 0;
  uint8_t flip_ = 0, x_zp_ = 0;
  QRequant rq_base_;
  struct Packed {
    LargeVector<WElem> w;       // [group][channel tile][k / G][MR][G]
    std::vector<int32_t> comp;  // per packed row: bias - x_zp * sum(w)
    std::vector<float> scale;   // per packed row: the requantization multiplier
  };
  std::shared_ptr<const Packed> pack_;
};

// A 1x1 convolution on 1x1 planes (the classifier Gemm / MatMul the optimizer rewrites as QLinearConv):
// per image one matrix-vector product with output channels in lanes (qgemv_avx512vnni).
class QGemvVnni final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    const Shape& xs = c.shape(0);
    n_ = xs[0], k_ = xs[1], m_ = c.shape(3)[0], k4_ = (k_ + 3) / 4;
    flip_ = c.dtype(0) == DType::kInt8 ? 0x80 : 0;
    y_signed_ = c.output(0).dtype == DType::kInt8;
    y_zp_ = static_cast<int32_t>(c.constant(7)->get_as_int64(0));
    const int8_t* wd = c.constant(3)->data<int8_t>();
    const QConvConstants q(c);
    pack_ = q.share<Packed>(c, name(), [&] {
      Packed pk;
      const int64_t blocks = (m_ + 15) / 16;
      pk.w.assign(static_cast<size_t>(blocks * k4_ * 64), 0);
      pk.comp.assign(static_cast<size_t>(m_), 0);
      pk.scale.assign(static_cast<size_t>(m_), 0.f);
      pack_channels_in_lanes(wd, m_, k_, k4_, q, pk);
      return pk;
    });
    c.request_scratch(static_cast<size_t>(k4_ * 4 + 64));
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    const auto* x = static_cast<const uint8_t*>(c.input(0).raw());
    auto* y = static_cast<uint8_t*>(c.output(0).raw());
    auto* x4 = static_cast<uint8_t*>(c.scratch);
    for (int64_t n = 0; n < n_; ++n) {
      for (int64_t k = 0; k < k_; ++k) x4[k] = x[n * k_ + k] ^ flip_;
      std::memset(x4 + k_, 0, static_cast<size_t>(k4_ * 4 - k_));  // meets zero weights
      qgemv_avx512vnni(x4, pack_->w.data(), k4_, m_, pack_->comp.data(), pack_->scale.data(), y_zp_,
                       y_signed_, y + n * m_);
    }
    return Status::ok();
  }
  const char* name() const override { return "qlinearconv_gemv_avx512vnni"; }

 private:
  struct Packed {
    LargeVector<int8_t> w;  // [M / 16][k4][16][4]
    std::vector<int32_t> comp;
    std::vector<float> scale;
  };
  int64_t n_ = 0, k_ = 0, m_ = 0, k4_ = 0;
  uint8_t flip_ = 0;
  bool y_signed_ = false;
  int32_t y_zp_ = 0;
  std::shared_ptr<const Packed> pack_;
};

// Depthwise 3x3 / 5x5 (one output channel per input channel), stride 1 or 2, dilation 1: qdw_avx512vbmi
// per channel plane (per two planes when the output is at most 8 wide), straight from the input.
class QDepthwiseVnni final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    const Shape& xs = c.shape(0);
    const Shape& ws = c.shape(3);
    VERGE_ASSIGN_OR_RETURN(ConvGeometry g, qconv_geometry(c));
    n_ = xs[0], c_ = xs[1], h_ = xs[2], w_ = xs[3], k_ = ws[2];
    stride_ = g.strides[0], ph_ = g.pads_begin[0], pw_ = g.pads_begin[1], oh_ = g.out[0], ow_ = g.out[1];
    flip_ = c.dtype(0) == DType::kInt8 ? 0x80 : 0;
    x_zp_ = static_cast<uint8_t>(c.constant(2)->get_as_int64(0));
    y_signed_ = c.output(0).dtype == DType::kInt8;
    y_zp_ = static_cast<int32_t>(c.constant(7)->get_as_int64(0));
    const int8_t* wd = c.constant(3)->data<int8_t>();
    const QConvConstants q(c);
    const int64_t taps = k_ * k_, chunks = (k_ + 3) / 4;
    wq_.assign(static_cast<size_t>(c_ * k_ * chunks), 0);
    for (int64_t ch = 0; ch < c_; ++ch)
      for (int64_t i = 0; i < k_; ++i)
        for (int64_t j = 0; j < k_; ++j) {
          const auto byte = static_cast<uint32_t>(static_cast<uint8_t>(wd[ch * taps + i * k_ + j]));
          auto& dword = wq_[static_cast<size_t>((ch * k_ + i) * chunks + j / 4)];
          dword = static_cast<int32_t>(static_cast<uint32_t>(dword) | byte << (8 * (j % 4)));
        }
    comp_.assign(static_cast<size_t>(c_), 0);
    scale_.assign(static_cast<size_t>(c_), 0.f);
    for (int64_t ch = 0; ch < c_; ++ch) {
      int64_t sum = 0;
      for (int64_t t = 0; t < taps; ++t) sum += wd[ch * taps + t];
      comp_[static_cast<size_t>(ch)] = q.comp(ch, sum);
      scale_[static_cast<size_t>(ch)] = q.scale(ch);
    }
    geom_ = {.h = h_,
             .w = w_,
             .oh = oh_,
             .ow = ow_,
             .ph = ph_,
             .pw = pw_,
             .k = static_cast<int>(k_),
             .stride = static_cast<int>(stride_),
             .x_zp = x_zp_,
             .flip = flip_};
    g_ = ow_ <= 8 ? 2 : 1;  // two channel planes per vector
    return Status::ok();
  }

  Status run(const RunContext& c) override {
    const uint8_t* x = static_cast<const uint8_t*>(c.input(0).raw());
    uint8_t* y = static_cast<uint8_t*>(c.output(0).raw());
    const int64_t planes = n_ * c_, units = (planes + g_ - 1) / g_, chunks = (k_ + 3) / 4;
    parallel_for(c.pool, units, 4, [&](int64_t begin, int64_t end) {
      for (int64_t u = begin; u < end; ++u) {
        QDwChannel ch[2];
        for (int64_t gi = 0; gi < g_; ++gi) {
          const int64_t pl = std::min(u * g_ + gi, planes - 1), cc = pl % c_;
          ch[gi] = {x + pl * h_ * w_, wq_.data() + cc * k_ * chunks, comp_[static_cast<size_t>(cc)],
                    scale_[static_cast<size_t>(cc)], y + pl * oh_ * ow_};
        }
        qdw_avx512vbmi(ch, static_cast<int>(g_), geom_, y_zp_, y_signed_);
      }
    });
    return Status::ok();
  }
  const char* name() const override { return "qlinearconv_dw_avx512vnni"; }

 private:
  int64_t n_ = 0, c_ = 0, h_ = 0, w_ = 0, k_ = 3, stride_ = 1, ph_ = 0, pw_ = 0, oh_ = 0, ow_ = 0;
  int64_t g_ = 1;
  QDwGeometry geom_;
  uint8_t flip_ = 0, x_zp_ = 0;
  bool y_signed_ = false;
  int32_t y_zp_ = 0;
  std::vector<int32_t> wq_;  // per channel: k x ceil(k / 4) weight dwords (QDwChannel::w)
  std::vector<int32_t> comp_;
  std::vector<float> scale_;
};

}  // namespace

// Constant symmetric int8 weights, constant quantization parameters with finite positive float32 scales,
// 2-D convolution.
bool accepts_qlinear_conv_tiles(const PrepareContext& c) {
  if (c.node().op != OpId::QLinearConv || c.shape(0).size() != 4) return false;
  if (!is_constant_of(c, 3, {DType::kInt8})) return false;
  for (size_t i : {1, 4, 6})
    if (!is_constant_of(c, i, {DType::kFloat32})) return false;
  for (size_t i : {2, 5, 7})
    if (!c.has_input(i) || !c.constant(i)) return false;
  if (c.has_input(8) && !c.constant(8)) return false;
  const Tensor& wzp = *c.constant(5);
  for (int64_t i = 0; i < wzp.numel(); ++i)
    if (wzp.get_as_int64(i) != 0) return false;
  const float xs = c.constant(1)->data<float>()[0], ys = c.constant(6)->data<float>()[0];
  const Tensor& wsc = *c.constant(4);
  for (int64_t i = 0; i < wsc.numel(); ++i) {  // a NaN / infinite scale would meet 0 * inf in the vector min
    const float m = ref::quant::requant_scale_f32(xs, wsc.data<float>()[i], ys);
    if (!std::isfinite(m) || !(m > 0)) return false;
  }
  return true;
}

bool accepts_qlinear_conv_avx512vnni(const PrepareContext& c) { return accepts_qlinear_conv_tiles(c); }
std::unique_ptr<Kernel> make_qlinear_conv_avx512vnni(const ir::Node&) {
  return std::make_unique<QLinearConvTiles<VnniMicro>>();
}
// AMX pads K to 64: reductions under kAmxMinK take the VNNI kernels (with the 1x1 convolutions on 16 and
// 24 channels taken here, mobilenet_v2 was 11% and mobilenet_v3_small 12% slower at 1 thread), and so do
// depthwise ones (one input channel per group; qlinearconv_dw_avx512vnni).
bool accepts_qlinear_conv_amx(const PrepareContext& c) {
  if (!accepts_qlinear_conv_tiles(c)) return false;
  const Shape& ws = c.shape(3);
  const bool depthwise = ws[1] == 1 && c.node().get_int("group", 1) > 1;
  return !depthwise && ws[1] * ws[2] * ws[3] >= kAmxMinK;
}
std::unique_ptr<Kernel> make_qlinear_conv_amx(const ir::Node&) {
  return std::make_unique<QLinearConvTiles<AmxMicro>>();
}
bool accepts_qlinear_conv_avx2(const PrepareContext& c) { return accepts_qlinear_conv_tiles(c); }
std::unique_ptr<Kernel> make_qlinear_conv_avx2(const ir::Node&) {
  return std::make_unique<QLinearConvTiles<Avx2Micro>>();
}

// 1x1 kernel over 1x1 planes, group 1, no padding (any stride: one output pixel).
bool accepts_qlinear_gemv_avx512vnni(const PrepareContext& c) {
  if (!accepts_qlinear_conv_tiles(c)) return false;
  const Shape& xs = c.shape(0);
  const Shape& ws = c.shape(3);
  if (xs[2] != 1 || xs[3] != 1 || ws[2] != 1 || ws[3] != 1 || c.node().get_int("group", 1) != 1) return false;
  auto g = qconv_geometry(c);
  return g.is_ok() && g->out[0] == 1 && g->out[1] == 1 && g->pads_begin[0] == 0 && g->pads_begin[1] == 0;
}
std::unique_ptr<Kernel> make_qlinear_gemv_avx512vnni(const ir::Node&) {
  return std::make_unique<QGemvVnni>();
}

// Depthwise (group = C = M), 3x3 or 5x5, equal strides 1 or 2, dilation 1, pads below the kernel size,
// requantization scales below 1 (the usual case; larger ones take qlinearconv_avx512vnni); needs VBMI.
bool accepts_qlinear_dw_avx512vnni(const PrepareContext& c) {
  if (!accepts_qlinear_conv_tiles(c) || !__builtin_cpu_supports("avx512vbmi")) return false;
  const float x_scale = c.constant(1)->data<float>()[0], y_scale = c.constant(6)->data<float>()[0];
  const Tensor& w_scale = *c.constant(4);
  for (int64_t i = 0; i < w_scale.numel(); ++i)
    if (!(ref::quant::requant_scale_f32(x_scale, w_scale.data<float>()[i], y_scale) < 1.f)) return false;
  const Shape& xs = c.shape(0);
  const Shape& ws = c.shape(3);
  const ir::Node& n = c.node();
  if (n.get_int("group", 1) != xs[1] || ws[0] != xs[1] || ws[1] != 1 || ws[2] != ws[3] ||
      (ws[2] != 3 && ws[2] != 5))
    return false;
  const auto st = n.get_ints("strides", {1, 1}), di = n.get_ints("dilations", {1, 1});
  if (st.size() != 2 || st[0] != st[1] || (st[0] != 1 && st[0] != 2) ||
      (di.size() == 2 && (di[0] != 1 || di[1] != 1)))
    return false;
  auto g = qconv_geometry(c);
  if (!g.is_ok()) return false;
  for (int64_t p : g->pads_begin)
    if (p >= ws[2]) return false;
  for (int64_t p : g->pads_end)
    if (p >= ws[2]) return false;
  return g->out[0] > 0 && g->out[1] > 0;
}

std::unique_ptr<Kernel> make_qlinear_dw_avx512vnni(const ir::Node&) {
  return std::make_unique<QDepthwiseVnni>();
}

}  // namespace verge
