// Reference kernels: Conv, ConvTranspose, AveragePool, MaxPool, GlobalAveragePool, GlobalMaxPool, Gemm,
// MatMul, Einsum.
//
// Sums accumulate in double for the float types (float16 / bfloat16 / float / double) and in uint64 modulo
// 2^64 for the integer types (the result truncated to T equals wrap-around arithmetic in T, without UB).
// Loops walk memory contiguously: convolutions accumulate one output channel at a time into a double
// plane (scratch) with the innermost loop running along the last spatial dim; matrix products run
// i-k-j so the innermost loop walks rows of B and of the accumulator.
#include <limits>

#include "ir/conv_geometry.h"
#include "kernels/ref/nn_shapes.h"
#include "kernels/ref/ref_common.h"

namespace verge::ref {
namespace {

template <class T>
using AccT = std::conditional_t<kIsFloat<T>, double, uint64_t>;

template <class T>
inline AccT<T> load(T v) {
  if constexpr (kIsFloat<T>)
    return static_cast<double>(static_cast<ComputeT<T>>(v));
  else if constexpr (std::is_signed_v<T>)
    return static_cast<uint64_t>(static_cast<int64_t>(v));
  else
    return static_cast<uint64_t>(v);
}

template <class T>
inline T store(AccT<T> v) {
  if constexpr (kIsFloat<T>)
    return to_storage<T>(v);
  else
    return static_cast<T>(v);  // modular conversion (C++20)
}

using ConvTypes = TypeList<float, double, float16_t>;

std::span<const int64_t> spatial_of(const Shape& s) { return std::span<const int64_t>(s).subspan(2); }

// For i = o * s + off, the range [lo, hi) of o in [0, o_count) with i in [0, i_count).
inline void tap_range(int64_t off, int64_t s, int64_t i_count, int64_t o_count, int64_t& lo, int64_t& hi) {
  lo = off >= 0 ? 0 : (-off + s - 1) / s;
  hi = i_count - 1 - off < 0 ? 0 : (i_count - 1 - off) / s + 1;
  hi = std::min(hi, o_count);
  lo = std::min(lo, hi);
}

// Per spatial dim and kernel tap: the offset k * dilation - pad and the valid range [lo, hi) of the
// iterated positions (Conv: output positions; ConvTranspose: input positions).
struct TapTable {
  std::vector<std::vector<int64_t>> off, lo, hi;
  void build(std::span<const int64_t> kernel, std::span<const int64_t> dil, std::span<const int64_t> pad,
             std::span<const int64_t> strides, std::span<const int64_t> target,
             std::span<const int64_t> iterated) {
    const size_t s = kernel.size();
    off.assign(s, {});
    lo.assign(s, {});
    hi.assign(s, {});
    for (size_t d = 0; d < s; ++d) {
      for (int64_t k = 0; k < kernel[d]; ++k) {
        int64_t l = 0, h = 0;
        const int64_t o = k * dil[d] - pad[d];
        tap_range(o, strides[d], target[d], iterated[d], l, h);
        off[d].push_back(o);
        lo[d].push_back(l);
        hi[d].push_back(h);
      }
    }
  }
};

// ---------------------------------------------------------------------------------------------------
// Conv and ConvTranspose share the loop structure: for every (n, m) output plane, for every input
// channel of m's group, for every kernel tap, walk the box of positions the tap connects and add
// w * x along rows of the last spatial dim.
template <bool kTranspose>
class ConvKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    const Shape& x = c.shape(0);
    const Shape& w = c.shape(1);
    group_ = c.node().get_int("group", 1);
    n_ = x[0];
    c_ = x[1];
    s_ = static_cast<int>(x.size()) - 2;
    in_.assign(x.begin() + 2, x.end());
    kernel_.assign(w.begin() + 2, w.end());
    std::vector<int64_t> dil, pad;
    if constexpr (kTranspose) {
      VERGE_ASSIGN_OR_RETURN(ConvTransposeGeometry g, conv_transpose_geometry(c.node(), in_, kernel_));
      m_ = w[1] * group_;
      out_ = g.out;
      strides_ = g.strides;
      dil = g.dilations;
      pad = g.pads_begin;
      taps_.build(kernel_, dil, pad, strides_, out_, in_);  // o = i * s + off: iterate input positions
    } else {
      VERGE_ASSIGN_OR_RETURN(ConvGeometry g, conv_geometry(c.node(), in_, kernel_));
      m_ = w[0];
      out_ = g.out;
      strides_ = g.strides;
      dil = g.dilations;
      pad = g.pads_begin;
      taps_.build(kernel_, dil, pad, strides_, in_, out_);  // i = o * s + off: iterate output positions
    }
    in_numel_ = shape_numel(in_);
    out_numel_ = shape_numel(out_);
    k_numel_ = shape_numel(kernel_);
    in_strides_ = strides_of(in_);
    out_strides_ = strides_of(out_);
    kpos_.assign(static_cast<size_t>(s_), 0);
    pos_.assign(static_cast<size_t>(s_), 0);
    lo_.assign(static_cast<size_t>(s_), 0);
    hi_.assign(static_cast<size_t>(s_), 0);
    c.request_scratch(static_cast<size_t>(out_numel_) * sizeof(double));
    if (!dispatch(ConvTypes{}, c.dtype(0), [&]<class T>() { fn_ = &ConvKernel::apply<T>; }))
      return c.unsupported_dtype(c.dtype(0));
    return Status::ok();
  }
  Status run(const RunContext& ctx) override {
    (this->*fn_)(ctx);
    return Status::ok();
  }

 private:
  // acc[plane] += w * x[plane'] over every position pair tap (kpos_) connects.
  template <class T>
  void add_tap(double* acc, const T* xc, double wv) {
    const size_t last = static_cast<size_t>(s_ - 1);
    for (size_t d = 0; d < static_cast<size_t>(s_); ++d) {
      lo_[d] = taps_.lo[d][static_cast<size_t>(kpos_[d])];
      hi_[d] = taps_.hi[d][static_cast<size_t>(kpos_[d])];
      if (lo_[d] >= hi_[d]) return;
      pos_[d] = lo_[d];
    }
    const int64_t off_l = taps_.off[last][static_cast<size_t>(kpos_[last])];
    const int64_t s_l = strides_[last];
    for (;;) {
      // Offsets of the row start (outer dims) in the iterated and the target planes.
      int64_t it_off = 0, tg_off = 0;
      for (size_t d = 0; d < last; ++d) {
        const int64_t tgt = pos_[d] * strides_[d] + taps_.off[d][static_cast<size_t>(kpos_[d])];
        if constexpr (kTranspose) {
          it_off += pos_[d] * in_strides_[d];
          tg_off += tgt * out_strides_[d];
        } else {
          it_off += pos_[d] * out_strides_[d];
          tg_off += tgt * in_strides_[d];
        }
      }
      // Index arithmetic stays in integers: tg_off + off_l may be negative for the row start even
      // though every index actually used is in range.
      const int64_t tg = tg_off + off_l;
      if constexpr (kTranspose) {
        // Scatter: input row -> output row with stride s_l.
        const T* xr = xc + it_off;
        for (int64_t i = lo_[last]; i < hi_[last]; ++i) acc[tg + i * s_l] += wv * load(xr[i]);
      } else {
        double* ar = acc + it_off;
        if (s_l == 1) {
          for (int64_t o = lo_[last]; o < hi_[last]; ++o) ar[o] += wv * load(xc[tg + o]);
        } else {
          for (int64_t o = lo_[last]; o < hi_[last]; ++o) ar[o] += wv * load(xc[tg + o * s_l]);
        }
      }
      // Next row of the outer dims.
      size_t d = last;
      for (;;) {
        if (d == 0) return;
        --d;
        if (++pos_[d] < hi_[d]) break;
        pos_[d] = lo_[d];
      }
    }
  }

  template <class T>
  void apply(const RunContext& ctx) {
    const T* x = ctx.input(0).data<T>();
    const T* w = ctx.input(1).data<T>();
    const T* bias = ctx.has_input(2) ? ctx.input(2).data<T>() : nullptr;
    T* y = ctx.output(0).data<T>();
    double* acc = static_cast<double*>(ctx.scratch);
    const int64_t cg = c_ / group_, mg = m_ / group_;
    for (int64_t n = 0; n < n_; ++n) {
      for (int64_t m = 0; m < m_; ++m) {
        const int64_t g = m / mg, mm = m % mg;
        std::fill(acc, acc + out_numel_, 0.0);
        for (int64_t cc = 0; cc < cg; ++cc) {
          const int64_t ch = g * cg + cc;
          const T* xc = x + (n * c_ + ch) * in_numel_;
          // Conv W: (M, C/group, k...); ConvTranspose W: (C, M/group, k...).
          const T* wk = kTranspose ? w + (ch * mg + mm) * k_numel_ : w + (m * cg + cc) * k_numel_;
          std::fill(kpos_.begin(), kpos_.end(), 0);
          for (int64_t k = 0; k < k_numel_; ++k) {
            add_tap<T>(acc, xc, load(wk[k]));
            for (size_t d = kpos_.size(); d-- > 0;) {
              if (++kpos_[d] < kernel_[d]) break;
              kpos_[d] = 0;
            }
          }
        }
        const double b = bias ? load(bias[m]) : 0.0;
        T* ym = y + (n * m_ + m) * out_numel_;
        for (int64_t i = 0; i < out_numel_; ++i) ym[i] = store<T>(acc[i] + b);
      }
    }
  }

  int64_t group_ = 1, n_ = 0, c_ = 0, m_ = 0;
  int s_ = 0;
  std::vector<int64_t> in_, out_, kernel_, strides_, in_strides_, out_strides_;
  int64_t in_numel_ = 0, out_numel_ = 0, k_numel_ = 0;
  TapTable taps_;
  std::vector<int64_t> kpos_, pos_, lo_, hi_;  // run-time counters, sized in prepare
  void (ConvKernel::*fn_)(const RunContext&) = nullptr;
};

// ---------------------------------------------------------------------------------------------------
// AveragePool / MaxPool over windows from conv_geometry. Per spatial dim and output position the valid
// taps [klo, khi) (inside the input) are precomputed; for AveragePool with count_include_pad the
// divisor counts the taps inside the padded input (never those beyond the end padding that ceil_mode
// adds). MaxPool ignores padding; its Indices output is the flat index into X (n, c and spatial, the
// spatial part row- or column-major by storage_order). NaN wins in MaxPool; ties keep the first.
template <bool kMax>
class PoolKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    const Shape& x = c.shape(0);
    VERGE_ASSIGN_OR_RETURN(ConvGeometry g,
                           conv_geometry(c.node(), spatial_of(x), {}, c.node().get_int("ceil_mode", 0) != 0));
    planes_ = x[0] * x[1];
    s_ = g.spatial();
    in_.assign(x.begin() + 2, x.end());
    out_ = g.out;
    in_numel_ = shape_numel(in_);
    out_numel_ = shape_numel(out_);
    in_strides_ = strides_of(in_);
    dil_ = g.dilations;
    include_pad_ = c.node().get_int("count_include_pad", 0) != 0;
    // Column-major spatial strides for storage_order = 1.
    idx_strides_ = in_strides_;
    if (c.node().get_int("storage_order", 0) == 1) {
      int64_t st = 1;
      for (size_t d = 0; d < in_.size(); ++d) {
        idx_strides_[d] = st;
        st *= in_[d];
      }
    }
    start_.assign(static_cast<size_t>(s_), {});
    klo_.assign(static_cast<size_t>(s_), {});
    khi_.assign(static_cast<size_t>(s_), {});
    padded_.assign(static_cast<size_t>(s_), {});
    for (size_t d = 0; d < static_cast<size_t>(s_); ++d) {
      for (int64_t o = 0; o < out_[d]; ++o) {
        const int64_t st = o * g.strides[d] - g.pads_begin[d];
        int64_t lo = 0, hi = 0;
        tap_range(st, dil_[d], in_[d], g.kernel[d], lo, hi);
        start_[d].push_back(st);
        klo_[d].push_back(lo);
        khi_[d].push_back(hi);
        // Taps inside [-pads_begin, in + pads_end): st >= -pads_begin always holds.
        int64_t plo = 0, phi = 0;
        tap_range(st + g.pads_begin[d], dil_[d], in_[d] + g.pads_begin[d] + g.pads_end[d], g.kernel[d], plo,
                  phi);
        padded_[d].push_back(phi - plo);
      }
    }
    opos_.assign(static_cast<size_t>(s_), 0);
    kpos_.assign(static_cast<size_t>(s_), 0);
    using Types = std::conditional_t<kMax, TypeList<float, double, float16_t, int8_t, uint8_t>, ConvTypes>;
    if (!dispatch(Types{}, c.dtype(0), [&]<class T>() { fn_ = &PoolKernel::apply<T>; }))
      return c.unsupported_dtype(c.dtype(0));
    return Status::ok();
  }
  Status run(const RunContext& ctx) override {
    (this->*fn_)(ctx);
    return Status::ok();
  }

 private:
  template <class T>
  void apply(const RunContext& ctx) {
    using C = ComputeT<T>;
    const T* x = ctx.input(0).data<T>();
    T* y = ctx.output(0).data<T>();
    int64_t* indices = kMax && ctx.has_output(1) ? ctx.output(1).data<int64_t>() : nullptr;
    const size_t last = static_cast<size_t>(s_ - 1);
    for (int64_t p = 0; p < planes_; ++p) {
      const T* xp = x + p * in_numel_;
      std::fill(opos_.begin(), opos_.end(), 0);
      for (int64_t o = 0; o < out_numel_; ++o) {
        // Window of output position opos_: taps kpos_ in [klo, khi) per dim.
        bool empty = false;
        int64_t divisor = 1;
        for (size_t d = 0; d < static_cast<size_t>(s_); ++d) {
          const size_t od = static_cast<size_t>(opos_[d]);
          kpos_[d] = klo_[d][od];
          empty = empty || klo_[d][od] >= khi_[d][od];
          divisor *= include_pad_ ? padded_[d][od] : khi_[d][od] - klo_[d][od];
        }
        const size_t ol = static_cast<size_t>(opos_[last]);
        const int64_t st_l = start_[last][ol], lo_l = klo_[last][ol], hi_l = khi_[last][ol],
                      dil_l = dil_[last];
        double sum = 0;
        C best = C(0);
        int64_t best_idx = -1;
        bool have = false;
        while (!empty) {
          int64_t off = 0, ioff = 0;
          for (size_t d = 0; d < last; ++d) {
            const int64_t i = start_[d][static_cast<size_t>(opos_[d])] + kpos_[d] * dil_[d];
            off += i * in_strides_[d];
            ioff += i * idx_strides_[d];
          }
          for (int64_t k = lo_l; k < hi_l; ++k) {
            const int64_t i = st_l + k * dil_l;
            const C v = static_cast<C>(xp[off + i]);
            if constexpr (kMax) {
              bool better = !have || v > best;
              if constexpr (kIsFloat<T>) better = better || (v != v && best == best);
              if (better) {
                best = v;
                best_idx = ioff + i * idx_strides_[last];
                have = true;
              }
            } else {
              sum += static_cast<double>(v);
            }
          }
          // Next row of window taps over the outer dims.
          size_t d = last;
          for (;;) {
            if (d == 0) {
              empty = true;  // done
              break;
            }
            --d;
            const size_t od = static_cast<size_t>(opos_[d]);
            if (++kpos_[d] < khi_[d][od]) break;
            kpos_[d] = klo_[d][od];
          }
        }
        if constexpr (kMax) {
          if (!have) best = std::numeric_limits<C>::lowest();
          y[p * out_numel_ + o] = to_storage<T>(best);
          if (indices) indices[p * out_numel_ + o] = have ? p * in_numel_ + best_idx : -1;
        } else {
          y[p * out_numel_ + o] = to_storage<T>(divisor > 0 ? sum / static_cast<double>(divisor)
                                                            : std::numeric_limits<double>::quiet_NaN());
        }
        for (size_t d = opos_.size(); d-- > 0;) {
          if (++opos_[d] < out_[d]) break;
          opos_[d] = 0;
        }
      }
    }
  }

  int64_t planes_ = 0, in_numel_ = 0, out_numel_ = 0;
  int s_ = 0;
  bool include_pad_ = false;
  std::vector<int64_t> in_, out_, in_strides_, idx_strides_, dil_;
  std::vector<std::vector<int64_t>> start_, klo_, khi_, padded_;  // per dim, per output position
  std::vector<int64_t> opos_, kpos_;                              // run-time counters
  void (PoolKernel::*fn_)(const RunContext&) = nullptr;
};

template <bool kMax>
class GlobalPoolKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    const Shape& x = c.shape(0);
    planes_ = x[0] * x[1];
    size_ = shape_numel(spatial_of(x));
    if (!dispatch(ConvTypes{}, c.dtype(0), [&]<class T>() { fn_ = &apply<T>; }))
      return c.unsupported_dtype(c.dtype(0));
    return Status::ok();
  }
  Status run(const RunContext& ctx) override {
    fn_(ctx, planes_, size_);
    return Status::ok();
  }

 private:
  template <class T>
  static void apply(const RunContext& ctx, int64_t planes, int64_t size) {
    const T* x = ctx.input(0).data<T>();
    T* y = ctx.output(0).data<T>();
    for (int64_t p = 0; p < planes; ++p) {
      const T* xp = x + p * size;
      if constexpr (kMax) {
        double best = size > 0 ? load(xp[0]) : -std::numeric_limits<double>::infinity();
        for (int64_t i = 1; i < size; ++i) {
          const double v = load(xp[i]);
          if (v > best || (v != v && best == best)) best = v;
        }
        y[p] = store<T>(best);
      } else {
        double sum = 0;
        for (int64_t i = 0; i < size; ++i) sum += load(xp[i]);
        y[p] =
            store<T>(size > 0 ? sum / static_cast<double>(size) : std::numeric_limits<double>::quiet_NaN());
      }
    }
  }
  int64_t planes_ = 0, size_ = 0;
  void (*fn_)(const RunContext&, int64_t, int64_t) = nullptr;
};

// ---------------------------------------------------------------------------------------------------
using MatMulTypes = TypeList<float, double, float16_t, bfloat16_t, int32_t, int64_t, uint32_t, uint64_t>;

// Y = alpha * A' B' + beta * C. Integer types need integral alpha and beta (applied modulo 2^64).
class GemmKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    ta_ = c.node().get_int("transA", 0) != 0;
    tb_ = c.node().get_int("transB", 0) != 0;
    alpha_ = c.node().get_float("alpha", 1.f);
    beta_ = c.node().get_float("beta", 1.f);
    const Shape& a = c.shape(0);
    m_ = ta_ ? a[1] : a[0];
    k_ = ta_ ? a[0] : a[1];
    n_ = tb_ ? c.shape(1)[0] : c.shape(1)[1];
    if (c.has_input(2)) {
      const Shape& cs = c.shape(2);
      const int64_t rows = cs.size() == 2 ? cs[0] : 1;
      const int64_t cols = cs.empty() ? 1 : cs.back();
      c_row_ = rows == 1 ? 0 : cols;
      c_col_ = cols == 1 ? 0 : 1;
    }
    if (!dtype_is_float(c.dtype(0))) {
      for (float v : {alpha_, beta_})
        if (v != std::trunc(v) || std::fabs(v) > 9.0e18f)
          return Status::unsupported(fmt::format("alpha {} and beta {} must be integers for {} Gemm", alpha_,
                                                 beta_, dtype_name(c.dtype(0))));
    }
    c.request_scratch(static_cast<size_t>(n_) * 8);
    if (!dispatch(MatMulTypes{}, c.dtype(0), [&]<class T>() { fn_ = &GemmKernel::apply<T>; }))
      return c.unsupported_dtype(c.dtype(0));
    return Status::ok();
  }
  Status run(const RunContext& ctx) override {
    (this->*fn_)(ctx);
    return Status::ok();
  }

 private:
  template <class T>
  void apply(const RunContext& ctx) {
    using Acc = AccT<T>;
    const T* a = ctx.input(0).data<T>();
    const T* b = ctx.input(1).data<T>();
    const T* cm = ctx.has_input(2) ? ctx.input(2).data<T>() : nullptr;
    T* y = ctx.output(0).data<T>();
    Acc* acc = static_cast<Acc*>(ctx.scratch);
    Acc alpha, beta;
    if constexpr (kIsFloat<T>) {
      alpha = alpha_;
      beta = beta_;
    } else {
      alpha = static_cast<uint64_t>(static_cast<int64_t>(alpha_));
      beta = static_cast<uint64_t>(static_cast<int64_t>(beta_));
    }
    for (int64_t i = 0; i < m_; ++i) {
      std::fill(acc, acc + n_, Acc(0));
      if (!tb_) {
        for (int64_t k = 0; k < k_; ++k) {
          const Acc av = load(ta_ ? a[k * m_ + i] : a[i * k_ + k]);
          const T* br = b + k * n_;
          for (int64_t j = 0; j < n_; ++j) acc[j] += av * load(br[j]);
        }
      } else {
        for (int64_t j = 0; j < n_; ++j) {
          const T* br = b + j * k_;
          Acc s = 0;
          if (ta_) {
            for (int64_t k = 0; k < k_; ++k) s += load(a[k * m_ + i]) * load(br[k]);
          } else {
            const T* ar = a + i * k_;
            for (int64_t k = 0; k < k_; ++k) s += load(ar[k]) * load(br[k]);
          }
          acc[j] = s;
        }
      }
      T* yr = y + i * n_;
      for (int64_t j = 0; j < n_; ++j) {
        Acc v = alpha * acc[j];
        if (cm) v += beta * load(cm[i * c_row_ + j * c_col_]);
        yr[j] = store<T>(v);
      }
    }
  }

  bool ta_ = false, tb_ = false;
  float alpha_ = 1, beta_ = 1;
  int64_t m_ = 0, k_ = 0, n_ = 0, c_row_ = 0, c_col_ = 0;
  void (GemmKernel::*fn_)(const RunContext&) = nullptr;
};

// numpy matmul: 1-D operands are promoted (and the added dim dropped), batch dims broadcast.
class MatMulKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    Shape a = c.shape(0), b = c.shape(1);
    if (a.size() == 1) a.insert(a.begin(), 1);
    if (b.size() == 1) b.push_back(1);
    m_ = a[a.size() - 2];
    k_ = a.back();
    n_ = b.back();
    const Shape batch_a(a.begin(), a.end() - 2), batch_b(b.begin(), b.end() - 2);
    VERGE_ASSIGN_OR_RETURN(Shape batch, broadcast_shapes(batch_a, batch_b));
    const int64_t count = shape_numel(batch);
    a_off_.assign(static_cast<size_t>(count), 0);
    b_off_.assign(static_cast<size_t>(count), 0);
    const size_t r = batch.size();
    // Matrix strides of A's / B's batch dims, 0 where broadcast.
    std::vector<int64_t> sa(r, 0), sb(r, 0);
    int64_t st = m_ * k_;
    for (size_t d = batch_a.size(); d-- > 0;) {
      sa[d + r - batch_a.size()] = batch_a[d] == 1 ? 0 : st;
      st *= batch_a[d];
    }
    st = k_ * n_;
    for (size_t d = batch_b.size(); d-- > 0;) {
      sb[d + r - batch_b.size()] = batch_b[d] == 1 ? 0 : st;
      st *= batch_b[d];
    }
    for (int64_t i = 0; i < count; ++i) {
      int64_t rem = i;
      for (size_t d = r; d-- > 0;) {
        const int64_t idx = rem % batch[d];
        rem /= batch[d];
        a_off_[static_cast<size_t>(i)] += idx * sa[d];
        b_off_[static_cast<size_t>(i)] += idx * sb[d];
      }
    }
    c.request_scratch(static_cast<size_t>(n_) * 8);
    if (!dispatch(MatMulTypes{}, c.dtype(0), [&]<class T>() { fn_ = &MatMulKernel::apply<T>; }))
      return c.unsupported_dtype(c.dtype(0));
    return Status::ok();
  }
  Status run(const RunContext& ctx) override {
    (this->*fn_)(ctx);
    return Status::ok();
  }

 private:
  template <class T>
  void apply(const RunContext& ctx) {
    using Acc = AccT<T>;
    const T* a = ctx.input(0).data<T>();
    const T* b = ctx.input(1).data<T>();
    T* y = ctx.output(0).data<T>();
    Acc* acc = static_cast<Acc*>(ctx.scratch);
    for (size_t bi = 0; bi < a_off_.size(); ++bi) {
      const T* ab = a + a_off_[bi];
      const T* bb = b + b_off_[bi];
      T* yb = y + static_cast<int64_t>(bi) * m_ * n_;
      for (int64_t i = 0; i < m_; ++i) {
        std::fill(acc, acc + n_, Acc(0));
        for (int64_t k = 0; k < k_; ++k) {
          const Acc av = load(ab[i * k_ + k]);
          const T* br = bb + k * n_;
          for (int64_t j = 0; j < n_; ++j) acc[j] += av * load(br[j]);
        }
        for (int64_t j = 0; j < n_; ++j) yb[i * n_ + j] = store<T>(acc[j]);
      }
    }
  }

  int64_t m_ = 0, k_ = 0, n_ = 0;
  std::vector<int64_t> a_off_, b_off_;  // per batch entry: element offset of its A / B matrix
  void (MatMulKernel::*fn_)(const RunContext&) = nullptr;
};

// ---------------------------------------------------------------------------------------------------
// Einsum: for every output element, sum over the labels not in the output of the product of the
// operands. Each operand's stride per label is the sum of the strides of its dims with that label (a
// repeated label walks the diagonal), 0 for broadcast dims of size 1.
class EinsumKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    std::vector<const Shape*> shapes;
    for (size_t i = 0; i < c.num_inputs(); ++i) shapes.push_back(&c.shape(i));
    VERGE_ASSIGN_OR_RETURN(EinsumSpec spec, parse_einsum(c.node().get_string("equation", ""), shapes));
    ops_ = shapes.size();
    const size_t nl = static_cast<size_t>(spec.num_labels);
    // Per operand, per label: element stride.
    std::vector<std::vector<int64_t>> stride(ops_, std::vector<int64_t>(nl, 0));
    std::vector<bool> used(nl, false), in_out(nl, false);
    for (size_t k = 0; k < ops_; ++k) {
      const std::vector<int64_t> st = strides_of(*shapes[k]);
      for (size_t d = 0; d < st.size(); ++d) {
        const size_t l = static_cast<size_t>(spec.operand_labels[k][d]);
        used[l] = true;
        if ((*shapes[k])[d] != 1 || spec.label_size[l] == 1) stride[k][l] += st[d];
      }
    }
    std::vector<int> sum_labels;
    for (int l : spec.output_labels) in_out[static_cast<size_t>(l)] = true;
    for (size_t l = 0; l < nl; ++l)
      if (used[l] && !in_out[l]) sum_labels.push_back(static_cast<int>(l));
    auto fill = [&](const std::vector<int>& labels, std::vector<int64_t>& sizes,
                    std::vector<int64_t>& strides) {
      sizes.clear();
      strides.assign(labels.size() * ops_, 0);
      for (size_t j = 0; j < labels.size(); ++j) {
        const size_t l = static_cast<size_t>(labels[j]);
        sizes.push_back(spec.label_size[l]);
        for (size_t k = 0; k < ops_; ++k) strides[j * ops_ + k] = stride[k][l];
      }
    };
    fill(spec.output_labels, out_size_, out_stride_);
    fill(sum_labels, sum_size_, sum_stride_);
    out_idx_.assign(out_size_.size(), 0);
    sum_idx_.assign(sum_size_.size(), 0);
    base_.assign(ops_, 0);
    cur_.assign(ops_, 0);
    ptrs_.assign(ops_, nullptr);
    using Types = TypeList<float, double, float16_t, int8_t, int16_t, int32_t, int64_t, uint8_t, uint16_t,
                           uint32_t, uint64_t>;
    if (!dispatch(Types{}, c.dtype(0), [&]<class T>() { fn_ = &EinsumKernel::apply<T>; }))
      return c.unsupported_dtype(c.dtype(0));
    return Status::ok();
  }
  Status run(const RunContext& ctx) override {
    (this->*fn_)(ctx);
    return Status::ok();
  }

 private:
  // Advances a row-major odometer over `sizes`, moving the per-operand offsets `off` along.
  void step(std::vector<int64_t>& idx, const std::vector<int64_t>& sizes, const std::vector<int64_t>& strides,
            std::vector<int64_t>& off) const {
    for (size_t d = idx.size(); d-- > 0;) {
      const int64_t* s = &strides[d * ops_];
      ++idx[d];
      for (size_t k = 0; k < ops_; ++k) off[k] += s[k];
      if (idx[d] < sizes[d]) return;
      for (size_t k = 0; k < ops_; ++k) off[k] -= s[k] * sizes[d];
      idx[d] = 0;
    }
  }

  template <class T>
  void apply(const RunContext& ctx) {
    using Acc = AccT<T>;
    for (size_t k = 0; k < ops_; ++k) ptrs_[k] = ctx.input(k).raw();
    T* y = ctx.output(0).data<T>();
    const int64_t out_total = shape_numel(out_size_), sum_total = shape_numel(sum_size_);
    std::fill(out_idx_.begin(), out_idx_.end(), 0);
    std::fill(base_.begin(), base_.end(), 0);
    for (int64_t o = 0; o < out_total; ++o) {
      Acc acc = 0;
      std::copy(base_.begin(), base_.end(), cur_.begin());
      std::fill(sum_idx_.begin(), sum_idx_.end(), 0);
      for (int64_t r = 0; r < sum_total; ++r) {
        Acc prod = 1;
        for (size_t k = 0; k < ops_; ++k) prod *= load(static_cast<const T*>(ptrs_[k])[cur_[k]]);
        acc += prod;
        step(sum_idx_, sum_size_, sum_stride_, cur_);
      }
      y[o] = store<T>(acc);
      step(out_idx_, out_size_, out_stride_, base_);
    }
  }

  size_t ops_ = 0;
  std::vector<int64_t> out_size_, out_stride_, sum_size_, sum_stride_;  // strides: [dim][operand]
  std::vector<int64_t> out_idx_, sum_idx_, base_, cur_;                 // run-time counters
  std::vector<const void*> ptrs_;
  void (EinsumKernel::*fn_)(const RunContext&) = nullptr;
};

}  // namespace

std::unique_ptr<Kernel> make_Conv(const ir::Node&) { return std::make_unique<ConvKernel<false>>(); }
std::unique_ptr<Kernel> make_ConvTranspose(const ir::Node&) { return std::make_unique<ConvKernel<true>>(); }
std::unique_ptr<Kernel> make_AveragePool(const ir::Node&) { return std::make_unique<PoolKernel<false>>(); }
std::unique_ptr<Kernel> make_MaxPool(const ir::Node&) { return std::make_unique<PoolKernel<true>>(); }
std::unique_ptr<Kernel> make_GlobalAveragePool(const ir::Node&) {
  return std::make_unique<GlobalPoolKernel<false>>();
}
std::unique_ptr<Kernel> make_GlobalMaxPool(const ir::Node&) {
  return std::make_unique<GlobalPoolKernel<true>>();
}
std::unique_ptr<Kernel> make_Gemm(const ir::Node&) { return std::make_unique<GemmKernel>(); }
std::unique_ptr<Kernel> make_MatMul(const ir::Node&) { return std::make_unique<MatMulKernel>(); }
std::unique_ptr<Kernel> make_Einsum(const ir::Node&) { return std::make_unique<EinsumKernel>(); }

}  // namespace verge::ref
