// Blocked pooling (verge.BlockedPool) and layout kernels (verge.ToBlocked / FromBlocked / BlockedConcat):
// attribute parsing, window tables, threading. The vector microkernels are in pool_reorder_avx512.cpp /
// _avx2.cpp; the reorder and concat variants are registered as kScalar and pick the widest microkernel the
// CPU has at prepare (portable loops otherwise).
#include "kernels/cpu/pool_reorder.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "core/cpu_features.h"
#include "core/thread_pool.h"
#include "ir/conv_geometry.h"
#include "kernels/blocked.h"
#include "kernels/cpu/window_geom_build.h"
#include "kernels/kernel.h"

namespace verge {
namespace {

// ---------------------------------------------------------------------------------------------------
// verge.BlockedPool

using PoolRowsFn = void (*)(const PoolGeom&, const float*, float*, int64_t, int64_t);
using GlobalPoolFn = void (*)(const float*, float*, int64_t, int64_t);

// Number of taps k in [0, kernel) with lo <= start + k * dil < hi.
int64_t taps_inside(int64_t start, int64_t kernel, int64_t dil, int64_t lo, int64_t hi) {
  int64_t n = 0;
  for (int64_t k = 0; k < kernel; ++k) n += start + k * dil >= lo && start + k * dil < hi;
  return n;
}

bool accepts_pool(const PrepareContext& c, int64_t block) {
  const ir::Node& n = c.node();
  if (!c.has_input(0) || c.dtype(0) != DType::kFloat32) return false;
  const Shape& x = c.shape(0);
  if (x.size() != 5 || x.back() != block || n.get_int("block", 0) != block) return false;
  const std::string mode = n.get_string("mode", "");
  if (mode != "max" && mode != "average") return false;
  if (c.num_outputs() > 1 && c.has_output(1)) return false;  // no Indices
  if (n.get_int("global", 0)) return x[2] * x[3] > 0;
  auto g = conv_geometry(n, std::span<const int64_t>(x).subspan(2, 2), {}, n.get_int("ceil_mode", 0) != 0);
  if (!g.is_ok()) return false;
  // Every window must hold an input pixel (empty windows: -inf / NaN in the reference; leave them to it).
  for (int d = 0; d < 2; ++d)
    for (int64_t o = 0; o < g->out[d]; ++o)
      if (taps_inside(o * g->strides[d] - g->pads_begin[d], g->kernel[d], g->dilations[d], 0, x[2 + d]) == 0)
        return false;
  return true;
}

class BlockedPoolKernel final : public Kernel {
 public:
  BlockedPoolKernel(int64_t block, PoolRowsFn max_rows, PoolRowsFn avg_rows, GlobalPoolFn gmax,
                    GlobalPoolFn gavg, const char* name)
      : block_(block), max_rows_(max_rows), avg_rows_(avg_rows), gmax_(gmax), gavg_(gavg), name_(name) {}

  Status prepare(PrepareContext& c) override {
    const ir::Node& n = c.node();
    const Shape& x = c.shape(0);
    max_ = n.get_string("mode", "") == "max";
    global_ = n.get_int("global", 0) != 0;
    planes_ = x[0] * x[1];
    in_pixels_ = x[2] * x[3];
    if (global_) return Status::ok();
    VERGE_ASSIGN_OR_RETURN(ConvGeometry cg, conv_geometry(n, std::span<const int64_t>(x).subspan(2, 2), {},
                                                          n.get_int("ceil_mode", 0) != 0));
    g_ = PoolGeom{};
    set_window_geom(g_, cg, x[2], x[3]);
    if (!max_) {
      // Divisor per output pixel = product over dims of the taps inside the input (or, with
      // count_include_pad, inside the padded input [-pads_begin, in + pads_end)).
      const bool include_pad = n.get_int("count_include_pad", 0) != 0;
      std::vector<int64_t> count[2];
      for (int d = 0; d < 2; ++d)
        for (int64_t o = 0; o < cg.out[d]; ++o) {
          const int64_t st = o * cg.strides[d] - cg.pads_begin[d];
          count[d].push_back(include_pad ? taps_inside(st, cg.kernel[d], cg.dilations[d], -cg.pads_begin[d],
                                                       x[2 + d] + cg.pads_end[d])
                                         : taps_inside(st, cg.kernel[d], cg.dilations[d], 0, x[2 + d]));
        }
      inv_.resize(static_cast<size_t>(g_.oh * g_.ow));
      for (int64_t i = 0; i < g_.oh; ++i)
        for (int64_t j = 0; j < g_.ow; ++j)
          inv_[static_cast<size_t>(i * g_.ow + j)] = static_cast<float>(
              1.0 / static_cast<double>(count[0][static_cast<size_t>(i)] * count[1][static_cast<size_t>(j)]));
      g_.inv = inv_.data();
    }
    return Status::ok();
  }

  Status run(const RunContext& c) override {
    const float* x = c.input(0).data<float>();
    float* y = c.output(0).data<float>();
    const int64_t b = block_;
    if (global_) {
      GlobalPoolFn fn = max_ ? gmax_ : gavg_;
      const int64_t px = in_pixels_;
      parallel_for(c.pool, planes_, std::max<int64_t>(1, 8192 / std::max<int64_t>(px, 1)),
                   [&](int64_t p0, int64_t p1) { fn(x + p0 * px * b, y + p0 * b, p1 - p0, px); });
      return Status::ok();
    }
    PoolRowsFn fn = max_ ? max_rows_ : avg_rows_;
    const int64_t oh = g_.oh, in_plane = in_pixels_ * b, out_plane = g_.oh * g_.ow * b;
    const int64_t grain = std::max<int64_t>(1, 1024 / std::max<int64_t>(1, g_.ow * g_.kh * g_.kw));
    parallel_for(c.pool, planes_ * oh, grain, [&](int64_t begin, int64_t end) {
      while (begin < end) {
        const int64_t plane = begin / oh, r0 = begin % oh, r1 = std::min(oh, r0 + (end - begin));
        fn(g_, x + plane * in_plane, y + plane * out_plane, r0, r1);
        begin += r1 - r0;
      }
    });
    return Status::ok();
  }
  const char* name() const override { return name_; }

 private:
  int64_t block_;
  PoolRowsFn max_rows_, avg_rows_;
  GlobalPoolFn gmax_, gavg_;
  const char* name_;
  bool max_ = true, global_ = false;
  int64_t planes_ = 0, in_pixels_ = 0;
  PoolGeom g_;
  std::vector<float> inv_;
};

// ---------------------------------------------------------------------------------------------------
// verge.ToBlocked / verge.FromBlocked

using ToBlockedFn = void (*)(const float*, int64_t, int64_t, float*, int64_t, int64_t);
using FromBlockedFn = void (*)(const float*, float*, int64_t, int64_t, int64_t, int64_t);

// Portable forms of the microkernels (block b).
template <int64_t B>
void to_blocked_portable(const float* x, int64_t stride, int64_t channels, float* y, int64_t p0, int64_t p1) {
  for (int64_t p = p0; p < p1; ++p)
    for (int64_t l = 0; l < B; ++l) y[p * B + l] = l < channels ? x[l * stride + p] : 0.f;
}
template <int64_t B>
void from_blocked_portable(const float* x, float* y, int64_t stride, int64_t channels, int64_t p0,
                           int64_t p1) {
  for (int64_t l = 0; l < channels; ++l)
    for (int64_t p = p0; p < p1; ++p) y[l * stride + p] = x[p * B + l];
}

template <class Fn>
Fn pick(int64_t block, Fn avx512, Fn avx2, Fn p16, Fn p8, Fn p4) {
  if (block == 16) return cpu_has(Isa::kAvx512) ? avx512 : p16;
  if (block == 8) return cpu_has(Isa::kAvx2Fma) ? avx2 : p8;
  return p4;
}

constexpr int64_t kReorderChunk = 2048;  // pixels per task

class ToBlockedFast final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    block_ = c.output(0).shape.back();
    fn_ = pick<ToBlockedFn>(block_, &to_blocked_avx512, &to_blocked_avx2, &to_blocked_portable<16>,
                            &to_blocked_portable<8>, &to_blocked_portable<4>);
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    const Tensor& xt = c.input(0);
    const int64_t n = xt.dim(0), ch = xt.dim(1), s = xt.numel() / std::max<int64_t>(1, n * ch), b = block_;
    const int64_t cb = blocks_of(ch, b), chunks = (s + kReorderChunk - 1) / kReorderChunk;
    const float* x = xt.data<float>();
    float* y = c.output(0).data<float>();
    parallel_for(c.pool, n * cb * chunks, 1, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t plane = t / chunks, i = plane / cb, blk = plane % cb, q = t % chunks;
        const float* src = x + (i * ch + blk * b) * s;
        fn_(src, s, std::min(b, ch - blk * b), y + plane * s * b, q * kReorderChunk,
            std::min(s, (q + 1) * kReorderChunk));
      }
    });
    return Status::ok();
  }
  const char* name() const override { return "to_blocked_fast"; }

 private:
  int64_t block_ = 16;
  ToBlockedFn fn_ = nullptr;
};

class FromBlockedFast final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    block_ = c.shape(0).back();
    fn_ = pick<FromBlockedFn>(block_, &from_blocked_avx512, &from_blocked_avx2, &from_blocked_portable<16>,
                              &from_blocked_portable<8>, &from_blocked_portable<4>);
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    const Tensor& yt = c.output(0);
    const int64_t n = yt.dim(0), ch = yt.dim(1), s = yt.numel() / std::max<int64_t>(1, n * ch), b = block_;
    const int64_t cb = blocks_of(ch, b), chunks = (s + kReorderChunk - 1) / kReorderChunk;
    const float* x = c.input(0).data<float>();
    float* y = c.output(0).data<float>();
    parallel_for(c.pool, n * cb * chunks, 1, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t plane = t / chunks, i = plane / cb, blk = plane % cb, q = t % chunks;
        fn_(x + plane * s * b, y + (i * ch + blk * b) * s, s, std::min(b, ch - blk * b), q * kReorderChunk,
            std::min(s, (q + 1) * kReorderChunk));
      }
    });
    return Status::ok();
  }
  const char* name() const override { return "from_blocked_fast"; }

 private:
  int64_t block_ = 16;
  FromBlockedFn fn_ = nullptr;
};

bool accepts_reorder(const PrepareContext& c, const Shape& blocked) {
  if (!c.has_input(0) || c.dtype(0) != DType::kFloat32 || blocked.size() < 4) return false;
  const int64_t b = blocked.back();
  return b == 4 || b == 8 || b == 16;
}

// ---------------------------------------------------------------------------------------------------
// verge.BlockedConcat: output block `ob` is either a whole block of one input (plane copy: the input's
// channels start on a block boundary of the output, and the block is not shared with the next input), or
// a mix of lane segments (+ zero padding lanes).

struct Segment {
  int32_t input, src_block, src_lane, dst_lane, len;
};

class BlockedConcatFast final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    const std::vector<int64_t> ch = c.node().get_ints("channels");
    const int64_t b = c.output(0).shape.back();
    block_ = b;
    out_blocks_ = c.output(0).shape[1];
    in_blocks_.clear();
    for (size_t i = 0; i < c.num_inputs(); ++i) in_blocks_.push_back(c.shape(i)[1]);
    copy_.assign(static_cast<size_t>(out_blocks_), {-1, -1});
    segs_.assign(static_cast<size_t>(out_blocks_), {});
    int64_t base = 0;
    for (size_t k = 0; k < ch.size(); ++k) {
      const bool last_input = k + 1 == ch.size();
      for (int64_t j = 0; j < blocks_of(ch[k], b); ++j) {
        const int64_t first = j * b,
                      n = std::min(b, ch[k] - first);  // channels [first, first + n) of input k
        const int64_t oc = base + first;
        // Whole-block copy: aligned, and the lanes past n (the input's padding) are not needed by a later
        // input (input k is the last one, or this block is full).
        if (oc % b == 0 && (n == b || last_input)) {
          copy_[static_cast<size_t>(oc / b)] = {static_cast<int32_t>(k), static_cast<int32_t>(j)};
          continue;
        }
        for (int64_t done = 0; done < n;) {  // split at output block boundaries
          const int64_t o = oc + done, len = std::min(n - done, b - o % b);
          segs_[static_cast<size_t>(o / b)].push_back(
              {static_cast<int32_t>(k), static_cast<int32_t>(j), static_cast<int32_t>(done),
               static_cast<int32_t>(o % b), static_cast<int32_t>(len)});
          done += len;
        }
      }
      base += ch[k];
    }
    // Vector lane merges: one ConcatPart per segment (a segment never shares its source block with
    // another segment of the same output block, so there are at most b of them).
    lanes_ = b == 16 && cpu_has(Isa::kAvx512)   ? &concat_lanes_avx512
             : b == 8 && cpu_has(Isa::kAvx2Fma) ? &concat_lanes_avx2
                                                : nullptr;
    parts_.assign(static_cast<size_t>(out_blocks_), {});
    for (size_t o = 0; o < segs_.size(); ++o)
      for (const Segment& g : segs_[o]) {
        ConcatPart part{};
        for (int32_t l = 0; l < g.len; ++l) {
          part.idx[g.dst_lane + l] = g.src_lane + l;
          part.take[g.dst_lane + l] = -1;
        }
        parts_[o].push_back(part);
      }
    inputs_.assign(c.num_inputs(), nullptr);
    return Status::ok();
  }

  Status run(const RunContext& c) override {
    for (size_t i = 0; i < inputs_.size(); ++i) inputs_[i] = c.input(i).data<float>();
    Tensor& yt = c.output(0);
    const int64_t b = block_, n = yt.dim(0), ob = out_blocks_;
    if (yt.numel() == 0) return Status::ok();
    const int64_t s = yt.numel() / (n * ob * b);
    float* y = yt.data<float>();
    const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, s * b));
    parallel_for(c.pool, n * ob, grain, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t i = t / ob, o = t % ob;
        float* dst = y + t * s * b;
        const auto [ck, cj] = copy_[static_cast<size_t>(o)];
        if (ck >= 0) {
          const float* src =
              inputs_[static_cast<size_t>(ck)] + ((i * in_blocks_[static_cast<size_t>(ck)] + cj) * s) * b;
          std::memcpy(dst, src, static_cast<size_t>(s * b) * sizeof(float));
          continue;
        }
        const std::vector<Segment>& segs = segs_[static_cast<size_t>(o)];
        if (lanes_) {
          const float* src[16];
          for (size_t k = 0; k < segs.size(); ++k)
            src[k] = inputs_[static_cast<size_t>(segs[k].input)] +
                     (i * in_blocks_[static_cast<size_t>(segs[k].input)] + segs[k].src_block) * s * b;
          lanes_(src, parts_[static_cast<size_t>(o)].data(), static_cast<int64_t>(segs.size()), dst, s);
          continue;
        }
        for (int64_t p = 0; p < s; ++p) {
          float* d = dst + p * b;
          for (int64_t l = 0; l < b; ++l) d[l] = 0.f;
          for (const Segment& g : segs) {
            const float* src = inputs_[static_cast<size_t>(g.input)] +
                               ((i * in_blocks_[static_cast<size_t>(g.input)] + g.src_block) * s + p) * b +
                               g.src_lane;
            for (int32_t l = 0; l < g.len; ++l) d[g.dst_lane + l] = src[l];
          }
        }
      }
    });
    return Status::ok();
  }
  const char* name() const override { return "concat_nchwc_fast"; }

 private:
  int64_t block_ = 16, out_blocks_ = 0;
  std::vector<int64_t> in_blocks_;
  std::vector<std::pair<int32_t, int32_t>> copy_;  // (input, block) or (-1, -1)
  std::vector<std::vector<Segment>> segs_;
  std::vector<std::vector<ConcatPart>> parts_;  // segs_ as vector lane merges
  void (*lanes_)(const float* const*, const ConcatPart*, int64_t, float*, int64_t) = nullptr;
  std::vector<const float*> inputs_;
};

}  // namespace

bool accepts_pool_avx512(const PrepareContext& c) { return accepts_pool(c, 16); }
std::unique_ptr<Kernel> make_pool_avx512(const ir::Node&) {
  return std::make_unique<BlockedPoolKernel>(16, &pool_max_rows_avx512, &pool_avg_rows_avx512,
                                             &global_max_avx512, &global_avg_avx512, "pool_nchw16c_avx512");
}
bool accepts_pool_avx2(const PrepareContext& c) { return accepts_pool(c, 8); }
std::unique_ptr<Kernel> make_pool_avx2(const ir::Node&) {
  return std::make_unique<BlockedPoolKernel>(8, &pool_max_rows_avx2, &pool_avg_rows_avx2, &global_max_avx2,
                                             &global_avg_avx2, "pool_nchw8c_avx2");
}
bool accepts_to_blocked_fast(const PrepareContext& c) {
  return c.has_output(0) && accepts_reorder(c, c.output(0).shape);
}
std::unique_ptr<Kernel> make_to_blocked_fast(const ir::Node&) { return std::make_unique<ToBlockedFast>(); }
bool accepts_from_blocked_fast(const PrepareContext& c) {
  return c.has_input(0) && accepts_reorder(c, c.shape(0));
}
std::unique_ptr<Kernel> make_from_blocked_fast(const ir::Node&) {
  return std::make_unique<FromBlockedFast>();
}
bool accepts_concat_nchwc_fast(const PrepareContext& c) {
  if (!c.has_output(0) || c.output(0).dtype != DType::kFloat32) return false;
  for (size_t i = 0; i < c.num_inputs(); ++i)
    if (!c.has_input(i) || c.dtype(i) != DType::kFloat32) return false;
  return true;
}
std::unique_ptr<Kernel> make_concat_nchwc_fast(const ir::Node&) {
  return std::make_unique<BlockedConcatFast>();
}

}  // namespace verge
