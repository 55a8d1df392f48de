// verge.BlockedConv by Winograd F(4x4, 3x3) (conv_winograd.h): 3x3, stride 1, dilation 1, group 1, any pads,
// bias, Sum and activation fused into the output transform.
//
// prepare: plans the work (Planner), then either transforms the weights once (kPacked: U = G g G^T in
// double, 4x the weights' bytes) or only repacks them (kStream, for layers with few tiles such as 7x7:
// U is recomputed per run in registers, reading 1/4 of the bytes), pads the bias, sizes scratch.
// run: one parallel_for over work items = (tile batch, output-block range). An item transforms its
// batch's input tiles into V (skipped when its scratch slot already holds that batch), runs the 36
// GEMMs for its output blocks into Mbuf and writes its output tiles with the fused epilogue. V and
// Mbuf of a batch are sized for L2; each pool thread has its own scratch slot.
#include "kernels/cpu/conv_winograd.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <vector>

#include "core/cpu_features.h"
#include "core/memory.h"
#include "core/thread_pool.h"
#include "ir/conv_geometry.h"
#include "kernels/activation.h"
#include "kernels/kernel.h"
#include "runtime/exec_options.h"

namespace verge {

void winograd_f43_transform_filter(const float* g, double* out) {
  // G for the points 0, 1, -1, 1/2, -2, inf with the row scaling that makes B^T integral:
  // rows [1/2,0,0] [1/6,1/6,1/6] [1/6,-1/6,1/6] [16/15,8/15,4/15] [1/30,-2/30,4/30] [0,0,1/2].
  const auto apply = [](double x0, double x1, double x2, double* y, int stride) {
    const double p = x0 + x2;
    y[0] = 0.5 * x0;
    y[stride] = (p + x1) / 6;
    y[2 * stride] = (p - x1) / 6;
    y[3 * stride] = (16 * x0 + 8 * x1 + 4 * x2) / 15;
    y[4 * stride] = (x0 - 2 * x1 + 4 * x2) / 30;
    y[5 * stride] = 0.5 * x2;
  };
  double tmp[6 * 3];  // tmp[a][col] = (G g)[a][col]
  for (int col = 0; col < 3; ++col) apply(g[col], g[3 + col], g[6 + col], tmp + col, 3);
  for (int a = 0; a < 6; ++a) apply(tmp[a * 3], tmp[a * 3 + 1], tmp[a * 3 + 2], out + a * 6, 1);
}

namespace {

// Set by tests before kernels are prepared (winograd_set_test_options); read at prepare only.
std::atomic<bool> g_accept_any_size{false};
std::atomic<int> g_test_mode{-1};

struct WinogradIsa {
  int64_t block;
  int64_t cols;  // output blocks per GEMM register block
  const char* name;
  void (*input)(const WinogradArgs&, int64_t, int64_t, float*, int64_t);
  void (*gemm)(const WinogradGemm&);
  void (*repack)(const float*, int64_t, int64_t, int64_t, int64_t, float*);
  void (*stream)(const WinogradStream&);
  int64_t fused_tiles;  // tiles per streamed register block
  void (*output)(const WinogradArgs&, const float*, int64_t, int64_t, int64_t, int64_t);
};

constexpr WinogradIsa kAvx512 = {16,
                                 4,
                                 "conv_nchw16c_winograd_avx512",
                                 winograd_f43_input_avx512,
                                 winograd_f43_gemm_avx512,
                                 winograd_f43_repack_avx512,
                                 winograd_f43_stream_avx512,
                                 4,
                                 winograd_f43_output_avx512};
constexpr WinogradIsa kAvx2 = {8,
                               2,
                               "conv_nchw8c_winograd_avx2",
                               winograd_f43_input_avx2,
                               winograd_f43_gemm_avx2,
                               winograd_f43_repack_avx2,
                               winograd_f43_stream_avx2,
                               2,
                               winograd_f43_output_avx2};

constexpr int64_t kTileRows = 6;  // tiles per GEMM register block (the microkernels' row count)

// kPacked: U transformed once at prepare (4x the weights' bytes). kStream: the raw weights are streamed
// and transformed per run and per input channel in registers, for layers with few tiles (7x7), where
// reading U from memory would cost more than transforming the weights again.
enum class Mode { kPacked, kStream };

struct Plan {
  Mode mode = Mode::kPacked;
  int64_t tiles = 0;    // output tiles in total (N x tiles_h x tiles_w)
  int64_t tb = 0;       // tiles per batch
  int64_t batches = 0;  // ceil(tiles / tb)
  int64_t msplit = 1;   // output-block ranges per batch
  int64_t mchunk = 0;   // output blocks per range (the last may have fewer)
};

// Chooses the plan with the shortest makespan under a cycle model of one work item (calibrated on
// Zen 4: GEMM microkernel rows x cols, transforms, weights read from DRAM/L3, L2 overflow) and a replay
// of the thread pool's dynamic range scheduling. Weights are assumed cold: in a whole model they are
// evicted from the caches by the other layers' weights before the layer runs again.
class Planner {
 public:
  Planner(int64_t tiles, int64_t c, int64_t cb, int64_t mb, const WinogradIsa& isa, int64_t threads)
      : tiles_(tiles),
        c_(c),
        cb_(cb),
        mb_(mb),
        b_(isa.block),
        cols_(isa.cols),
        fused_(isa.fused_tiles),
        threads_(threads) {}

  Plan best() const {
    Plan best;
    double best_cost = 0;
    // Batch sizes: small ones, and the even splits into up to 96 batches (at most 256 batches, which
    // bounds the planning time for large N).
    std::vector<int64_t> tbs;
    const int64_t min_tb = (tiles_ + 255) / 256;
    for (int64_t tb = min_tb; tb <= std::min<int64_t>(tiles_, 96); ++tb) tbs.push_back(tb);
    for (int64_t nb = 1; nb <= 96 && nb <= tiles_; ++nb) tbs.push_back((tiles_ + nb - 1) / nb);
    std::sort(tbs.begin(), tbs.end());
    tbs.erase(std::unique(tbs.begin(), tbs.end()), tbs.end());
    for (Mode mode : {Mode::kPacked, Mode::kStream})
      for (int64_t msplit = 1; msplit <= std::min(mb_, 4 * threads_); ++msplit) {
        const int64_t mchunk = (mb_ + msplit - 1) / msplit;
        if ((mb_ + mchunk - 1) / mchunk != msplit) continue;
        for (int64_t tb : tbs) {
          const Plan p{mode, tiles_, tb, (tiles_ + tb - 1) / tb, msplit, mchunk};
          const double cost = makespan(p);
          if (best_cost == 0 || cost < best_cost * 0.999) {
            best_cost = cost;
            best = p;
          }
        }
      }
    return best;
  }

  // Bytes of the slot's working set: V and Mbuf; streamed: V, repacked V, two blocks of raw kernels.
  double l2_bytes(const Plan& p) const {
    if (p.mode == Mode::kStream) return 36.0 * 4 * p.tb * (cb_ * b_ + c_) + 2 * 9.0 * c_ * b_ * 4;
    return 36.0 * 4 * b_ * (p.tb * cb_ + p.tb * p.mchunk);
  }

 private:
  double fma_rate() const { return b_ == 16 ? 1 : 2; }  // vector FMAs per cycle on Zen 4

  double gemm_cycles(int64_t nt, int64_t nmb) const {
    double cyc = 0;
    for (int64_t g = 0; g < nmb; g += cols_) {
      const int64_t n = std::min(cols_, nmb - g);
      for (int64_t t = 0; t < nt; t += kTileRows) {
        const int64_t r = std::min(kTileRows, nt - t);
        cyc += static_cast<double>(c_) * std::max(r * n / fma_rate(), (r + n) * 0.5 + 0.5) + 30 + r * n;
      }
    }
    return 36 * cyc;
  }

  // Cycles of one work item; `input` = whether it transforms its batch's input; `first` = first batch
  // of its output blocks (weights from DRAM; later batches find them in L3 when they fit).
  double item_cycles(const Plan& p, int64_t nt, int64_t nmb, bool input, bool first) const {
    double transforms = nt * (input ? cb_ * 9.0 * b_ : 0) + nt * nmb * 7.0 * b_;
    double gemm = 0, weight_bytes = 0;
    if (p.mode == Mode::kPacked) {
      gemm = gemm_cycles(nt, nmb);
      weight_bytes = 36.0 * c_ * nmb * b_ * 4;
    } else {  // per channel, output block and row of U: its transform (~12 cycles) and 6 x tiles FMAs
      for (int64_t t = 0; t < nt; t += fused_) gemm += 6 * (6 * std::min(fused_, nt - t) / fma_rate() + 12);
      gemm *= static_cast<double>(c_) * nmb;
      weight_bytes = 9.0 * c_ * nmb * b_ * 4;
    }
    if (l2_bytes(p) > 950e3) {
      transforms *= 2.5;
      gemm *= 1.15;
    }
    const double total_weights = weight_bytes / nmb * mb_;
    const double bw = first || total_weights > 24e6 ? kDramBytesPerCycle : 20.0;
    const double mem = weight_bytes / bw, compute = transforms + gemm;
    return std::max(compute, mem) + 0.15 * std::min(compute, mem);
  }

  // Replays parallel_for's scheduling: ranges of `chunk` consecutive items go to the first free thread.
  double makespan(const Plan& p) const {
    const int64_t items = p.batches * p.msplit;
    const int64_t chunk =
        threads_ > 1 ? std::max<int64_t>(1, (items + threads_ * 4 - 1) / (threads_ * 4)) : items;
    std::vector<double> busy(static_cast<size_t>(threads_), 0.0);
    std::vector<int64_t> slot_batch(static_cast<size_t>(threads_), -1);
    for (int64_t begin = 0; begin < items; begin += chunk) {
      const size_t th = static_cast<size_t>(std::min_element(busy.begin(), busy.end()) - busy.begin());
      double cost = 1500;  // per range: claiming a slot, waking a thread
      for (int64_t it = begin; it < std::min(items, begin + chunk); ++it) {
        const int64_t batch = it / p.msplit, part = it % p.msplit;
        const int64_t nt = std::min(p.tb, tiles_ - batch * p.tb);
        const int64_t nmb = std::min(mb_, (part + 1) * p.mchunk) - part * p.mchunk;
        if (nmb <= 0) continue;
        cost += item_cycles(p, nt, nmb, slot_batch[th] != batch, batch == 0);
        slot_batch[th] = batch;
      }
      busy[th] += cost;
    }
    return *std::max_element(busy.begin(), busy.end());
  }

  // ~18 GB/s at 3.7 GHz, measured streaming ResNet-18's 7x7 layer weights with evicted caches.
  static constexpr double kDramBytesPerCycle = 5.0;

  int64_t tiles_, c_, cb_, mb_, b_, cols_, fused_, threads_;
};

class WinogradConv final : public Kernel {
 public:
  explicit WinogradConv(const WinogradIsa& isa) : isa_(isa) {}

  Status prepare(PrepareContext& c) override {
    const int64_t b = isa_.block;
    const Shape& xs = c.shape(0);
    const Shape& ws = c.shape(1);
    const Shape& ys = c.output(0).shape;
    VERGE_ASSIGN_OR_RETURN(Activation act, parse_activation(c.node()));
    const Shape spatial = {xs[2], xs[3]};
    VERGE_ASSIGN_OR_RETURN(ConvGeometry geo, conv_geometry(c.node(), spatial, std::span(ws).subspan(2)));
    a_ = WinogradArgs{};
    a_.c = ws[1];
    a_.cb = xs[1];
    a_.m = ws[0];
    a_.mb = ys[1];
    a_.h = xs[2];
    a_.w = xs[3];
    a_.oh = ys[2];
    a_.ow = ys[3];
    a_.pad_t = geo.pads_begin[0];
    a_.pad_l = geo.pads_begin[1];
    a_.tiles_h = (a_.oh + 3) / 4;
    a_.tiles_w = (a_.ow + 3) / 4;
    a_.act = to_act_params(act);

    const int64_t threads = c.options().pool ? c.options().pool->num_threads() : 1;
    plan_ = Planner(xs[0] * a_.tiles_h * a_.tiles_w, a_.c, a_.cb, a_.mb, isa_, threads).best();
    if (const int mode = g_test_mode.load(); mode >= 0)
      plan_.mode = mode == 1 ? Mode::kStream : Mode::kPacked;

    // The transformed (kPacked) or repacked (kStream) kernels depend on the mode, not on the batch:
    // shared by the session's plans.
    const float* w = c.constant(1)->data<float>();
    const bool packed_mode = plan_.mode == Mode::kPacked;
    weights_ = c.shared_constant<LargeVector<float>>(
        isa_.name, fmt::format("{} mb{} c{}", packed_mode ? "u" : "wp", a_.mb, a_.c), {1}, [&] {
          LargeVector<float> out;
          if (packed_mode) {
            // U[xi][mb][c][b]: transformed 3x3 kernels (in double), zero in the padding lanes of the last
            // block.
            out.assign(static_cast<size_t>(36 * a_.mb * a_.c * b), 0.f);
            double t[36];
            float lanes[36][16] = {};  // U of one input channel and output block, written one vector per xi
            for (int64_t mb = 0; mb < a_.mb; ++mb)
              for (int64_t ch = 0; ch < a_.c; ++ch) {
                if (a_.m - mb * b < b) std::memset(lanes, 0, sizeof(lanes));  // padding channels, last block
                for (int64_t lane = 0; lane < std::min(b, a_.m - mb * b); ++lane) {
                  winograd_f43_transform_filter(w + ((mb * b + lane) * a_.c + ch) * 9, t);
                  for (int xi = 0; xi < 36; ++xi) lanes[xi][lane] = static_cast<float>(t[xi]);
                }
                for (int xi = 0; xi < 36; ++xi)
                  std::memcpy(out.data() + ((xi * a_.mb + mb) * a_.c + ch) * b, lanes[xi],
                              static_cast<size_t>(b) * sizeof(float));
              }
          } else {
            // Wp[mb][c][9][b]: the raw kernels with the output channels innermost.
            out.assign(static_cast<size_t>(a_.mb * a_.c * 9 * b), 0.f);
            for (int64_t mb = 0; mb < a_.mb; ++mb)
              for (int64_t ch = 0; ch < a_.c; ++ch)
                for (int64_t k = 0; k < 9; ++k)
                  for (int64_t lane = 0; lane < std::min(b, a_.m - mb * b); ++lane)
                    out[static_cast<size_t>(((mb * a_.c + ch) * 9 + k) * b + lane)] =
                        w[((mb * b + lane) * a_.c + ch) * 9 + k];
          }
          return out;
        });
    bias_.assign(static_cast<size_t>(a_.mb * b), 0.f);
    if (c.has_input(2))
      std::memcpy(bias_.data(), c.constant(2)->data<float>(), static_cast<size_t>(a_.m) * sizeof(float));
    a_.bias = bias_.data();

    // Weights that do not stay in L2 are prefetched one GEMM ahead.
    prefetch_ = 36.0 * a_.c * a_.mb * b * 4 > 512e3;
    const int64_t slots = threads;  // indexed by ThreadPool::thread_index()
    v_floats_ = round16(36 * plan_.tb * a_.cb * b);
    const bool stream = plan_.mode == Mode::kStream;
    m_floats_ = round16(plan_.tb * (stream ? 1 : plan_.mchunk) * 36 * b);
    vs_floats_ = stream ? round16(36 * plan_.tb * a_.c) : 0;
    slot_batch_.assign(static_cast<size_t>(slots), -1);
    c.request_scratch(static_cast<size_t>(slots * slot_floats()) * sizeof(float));
    if (c.has_input(3)) c.allow_in_place(3);  // every Sum element is read just before its output is written
    return Status::ok();
  }

  Status run(const RunContext& c) override {
    WinogradArgs a = a_;
    a.x = c.input(0).data<float>();
    a.y = c.output(0).data<float>();
    a.sum = c.has_input(3) ? c.input(3).data<float>() : nullptr;
    float* scratch = static_cast<float*>(c.scratch);
    const Plan& p = plan_;
    std::fill(slot_batch_.begin(), slot_batch_.end(), -1);  // V of no batch in any slot yet
    parallel_for(c.pool, p.batches * p.msplit, 1, [&](int64_t begin, int64_t end) {
      const int64_t slot = ThreadPool::thread_index();
      float* v = scratch + slot * slot_floats();
      float* mbuf = v + v_floats_;
      int64_t& v_batch = slot_batch_[static_cast<size_t>(slot)];
      for (int64_t item = begin; item < end; ++item) {
        const int64_t batch = item / p.msplit, part = item % p.msplit;
        const int64_t t0 = batch * p.tb, nt = std::min(p.tb, p.tiles - t0);
        const int64_t mb0 = part * p.mchunk, mb1 = std::min(a.mb, mb0 + p.mchunk);
        if (mb0 >= mb1) continue;
        float* vs = mbuf + m_floats_;
        if (batch != v_batch) {
          isa_.input(a, t0, nt, v, p.tb);
          if (p.mode == Mode::kStream)
            isa_.repack(v, p.tb * a.cb * isa_.block, a.cb * isa_.block, a.c, nt, vs);
        }
        v_batch = batch;
        if (p.mode == Mode::kPacked)
          run_packed(a, v, nt, t0, mb0, mb1, mbuf);
        else
          run_stream(a, vs, nt, t0, mb0, mb1, mbuf);
      }
    });
    return Status::ok();
  }

  const char* name() const override { return isa_.name; }

 private:
  void run_packed(const WinogradArgs& a, const float* v, int64_t nt, int64_t t0, int64_t mb0, int64_t mb1,
                  float* mbuf) const {
    const int64_t b = isa_.block, cp = a.cb * b;
    WinogradGemm g;
    g.v = v;
    g.v_xi = plan_.tb * cp;
    g.v_tile = cp;
    g.u = weights_->data() + mb0 * a.c * b;
    g.u_xi = a.mb * a.c * b;
    g.u_block = a.c * b;
    g.m = mbuf;
    g.m_tile = (mb1 - mb0) * 36 * b;
    g.k = a.c;
    g.tiles = nt;
    g.blocks = mb1 - mb0;
    g.prefetch = prefetch_;
    isa_.gemm(g);
    isa_.output(a, mbuf, t0, nt, mb0, mb1);
  }

  // Streamed weights: the kernels of each output block are transformed in registers while multiplied.
  void run_stream(const WinogradArgs& a, const float* vs, int64_t nt, int64_t t0, int64_t mb0, int64_t mb1,
                  float* mbuf) const {
    const int64_t b = isa_.block, w_block = a.c * 9 * b;
    for (int64_t j = mb0; j < mb1; ++j) {
      WinogradStream f;
      f.w = weights_->data() + j * w_block;
      f.next = j + 1 < mb1 ? f.w + w_block : nullptr;
      f.vs = vs;
      f.m = mbuf;
      f.m_tile = 36 * b;
      f.k = a.c;
      f.tiles = nt;
      isa_.stream(f);
      isa_.output(a, mbuf, t0, nt, j, j + 1);
    }
  }

  static int64_t round16(int64_t floats) { return (floats + 15) / 16 * 16; }
  int64_t slot_floats() const { return v_floats_ + m_floats_ + vs_floats_; }

  const WinogradIsa& isa_;
  WinogradArgs a_;
  Plan plan_;
  int64_t v_floats_ = 0, m_floats_ = 0, vs_floats_ = 0;
  bool prefetch_ = false;
  std::shared_ptr<const LargeVector<float>> weights_;  // U (kPacked) or Wp (kStream)
  std::vector<float> bias_;
  std::vector<int64_t> slot_batch_;
};

bool accepts(const PrepareContext& c, int64_t block) {
  const ir::Node& n = c.node();
  if (c.num_inputs() < 2 || c.dtype(0) != DType::kFloat32 || c.dtype(1) != DType::kFloat32) return false;
  const Shape& xs = c.shape(0);
  const Shape& ws = c.shape(1);
  if (xs.size() != 5 || xs.back() != block || ws.size() != 4 || ws[2] != 3 || ws[3] != 3) return false;
  if (n.get_int("group", 1) != 1 || c.constant(1) == nullptr) return false;
  if (c.has_input(2) && c.constant(2) == nullptr) return false;
  const Shape spatial = {xs[2], xs[3]};
  auto geo = conv_geometry(n, spatial, std::span(ws).subspan(2));
  if (!geo.is_ok()) return false;
  for (int d = 0; d < 2; ++d)
    if (geo->strides[d] != 1 || geo->dilations[d] != 1) return false;
  // Where it beats the direct kernel (measured on Zen 4, bench/micro/winograd.cpp): enough channels for
  // the GEMMs to dominate the transforms, and enough output tiles that are mostly inside the output
  // (5x5 outputs: 39% of the 8x8 computed are used and both kernels tie; 7x7: 77%, Winograd 1.6x faster).
  if (g_accept_any_size.load(std::memory_order_relaxed)) return true;
  if (ws[1] < 8 || ws[0] < 8) return false;
  const int64_t oh = c.output(0).shape[2], ow = c.output(0).shape[3];
  const int64_t tiles = xs[0] * ((oh + 3) / 4) * ((ow + 3) / 4);
  if (tiles < 4 || oh * ow * 2 < ((oh + 3) / 4) * ((ow + 3) / 4) * 16) return false;
  return true;
}

}  // namespace

void winograd_set_test_options(const WinogradTestOptions& o) {
  g_accept_any_size.store(o.accept_any_size);
  g_test_mode.store(o.mode);
}

bool accepts_conv_winograd_avx512(const PrepareContext& c) { return accepts(c, 16); }
std::unique_ptr<Kernel> make_conv_winograd_avx512(const ir::Node&) {
  return std::make_unique<WinogradConv>(kAvx512);
}
bool accepts_conv_winograd_avx2(const PrepareContext& c) { return accepts(c, 8); }
std::unique_ptr<Kernel> make_conv_winograd_avx2(const ir::Node&) {
  return std::make_unique<WinogradConv>(kAvx2);
}

}  // namespace verge
