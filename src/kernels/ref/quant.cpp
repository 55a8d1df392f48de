// Reference kernels of the integer / quantized ops: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear,
// ConvInteger, QLinearConv, MatMulInteger, QLinearMatMul.
//
// All rounding, saturation, accumulation and requantization goes through quant_math.h, which defines the
// numerics precisely (it is the oracle optimized int8 kernels must match bit for bit). Accumulation is
// exact in int64 and wrapped to int32 once per output element (never UB); shapes and parameter layouts
// were validated by the InferFns in src/ir/infer_quant.cpp.
#include <limits>

#include "ir/conv_geometry.h"
#include "kernels/ref/quant_math.h"
#include "kernels/ref/ref_common.h"

namespace verge::ref {
namespace {

using quant::wrap_int32;
using Int8Types = TypeList<uint8_t, int8_t>;

bool is_single_value(const Shape& s) { return s.size() <= 1 && shape_numel(s) == 1; }

// ---------------------------------------------------------------------------------------------------
// QuantizeLinear / DequantizeLinear share the per-tensor / per-axis layout: data viewed as
// [outer, channels, inner]; parameter index = channel (0 for per tensor).
struct AxisLayout {
  int64_t outer = 1, channels = 1, inner = 1;
  bool per_axis = false;

  Status init(const PrepareContext& c) {
    const Shape& x = c.shape(0);
    inner = shape_numel(x);
    if (is_single_value(c.shape(1))) return Status::ok();
    VERGE_ASSIGN_OR_RETURN(int axis, normalize_axis(c.node().get_int("axis", 1), static_cast<int>(x.size())));
    per_axis = true;
    outer = shape_numel(std::span<const int64_t>(x.data(), static_cast<size_t>(axis)));
    channels = x[static_cast<size_t>(axis)];
    inner =
        shape_numel(std::span<const int64_t>(x.data() + axis + 1, x.size() - static_cast<size_t>(axis) - 1));
    return Status::ok();
  }
  // Calls f(element index, parameter index) for every element.
  template <class F>
  void for_each(F&& f) const {
    int64_t i = 0;
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t ch = 0; ch < channels; ++ch)
        for (int64_t k = 0; k < inner; ++k) f(i++, per_axis ? ch : 0);
  }
};

class QuantizeLinearKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    VERGE_RETURN_IF_ERROR(layout_.init(c));
    const DType out = c.output(0).dtype;
    const bool x_ok = dispatch(TypeList<float, int32_t>{}, c.dtype(0), [&]<class X>() {
      dispatch(Int8Types{}, out, [&]<class Q>() { fn_ = &apply<X, Q>; });
    });
    if (!x_ok) return c.unsupported_dtype(c.dtype(0));
    if (!fn_) return c.unsupported_dtype(out);
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    fn_(c, layout_);
    return Status::ok();
  }

 private:
  template <class X, class Q>
  static void apply(const RunContext& c, const AxisLayout& l) {
    const X* x = c.input(0).data<X>();
    const float* scale = c.input(1).data<float>();
    const Q* zp = c.has_input(2) ? c.input(2).data<Q>() : nullptr;
    Q* y = c.output(0).data<Q>();
    l.for_each([&](int64_t i, int64_t p) { y[i] = quant::quantize<Q>(x[i], scale[p], zp ? zp[p] : 0); });
  }
  AxisLayout layout_;
  void (*fn_)(const RunContext&, const AxisLayout&) = nullptr;
};

class DequantizeLinearKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    VERGE_RETURN_IF_ERROR(layout_.init(c));
    if (!dispatch(TypeList<uint8_t, int8_t, int32_t>{}, c.dtype(0), [&]<class X>() { fn_ = &apply<X>; }))
      return c.unsupported_dtype(c.dtype(0));
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    fn_(c, layout_);
    return Status::ok();
  }

 private:
  template <class X>
  static void apply(const RunContext& c, const AxisLayout& l) {
    const X* x = c.input(0).data<X>();
    const float* scale = c.input(1).data<float>();
    const X* zp = c.has_input(2) ? c.input(2).data<X>() : nullptr;
    float* y = c.output(0).data<float>();
    l.for_each([&](int64_t i, int64_t p) { y[i] = quant::dequantize(x[i], zp ? zp[p] : 0, scale[p]); });
  }
  AxisLayout layout_;
  void (*fn_)(const RunContext&, const AxisLayout&) = nullptr;
};

// DynamicQuantizeLinear, as the ONNX function body and reference implementation define it:
//   max = max(0, max(x)), min = min(0, min(x))          (NaN elements are ignored here)
//   scale = (max == min ? 1 : max - min) / 255           (float32; max == min only when every x is 0
//                                                         or x is empty: then scale = 1/255, zp = 0)
//   zp = round_half_even(clamp(0 - min / scale, 0, 255))
//   y = QuantizeLinear(x, scale, zp) (uint8)             (a NaN element quantizes to zp)
class DynamicQuantizeLinearKernel final : public Kernel {
 public:
  Status run(const RunContext& c) override {
    const Tensor& xt = c.input(0);
    const float* x = xt.data<float>();
    float hi = 0.f, lo = 0.f;
    for (int64_t i = 0; i < xt.numel(); ++i) {
      if (x[i] > hi) hi = x[i];
      if (x[i] < lo) lo = x[i];
    }
    const float scale = (hi == lo ? 1.f : hi - lo) / 255.f;
    float zp_f = 0.f - lo / scale;
    zp_f = zp_f < 0.f ? 0.f : (zp_f > 255.f ? 255.f : zp_f);
    const uint8_t zp =
        quant::saturate<uint8_t>(quant::round_half_even(static_cast<double>(zp_f)), 0);  // NaN -> 0
    if (c.has_output(0)) {
      uint8_t* y = c.output(0).data<uint8_t>();
      for (int64_t i = 0; i < xt.numel(); ++i) y[i] = quant::quantize<uint8_t>(x[i], scale, zp);
    }
    if (c.has_output(1)) c.output(1).data<float>()[0] = scale;
    if (c.has_output(2)) c.output(2).data<uint8_t>()[0] = zp;
    return Status::ok();
  }
};

// ---------------------------------------------------------------------------------------------------
// Integer convolution core shared by ConvInteger and QLinearConv: for every output element,
//   acc = wrap_int32( sum over (input channel of the group, kernel position inside the input)
//                     (x - x_zp) * (w - w_zp[m]) )
// Positions in the padding contribute nothing (padding holds x_zp, i.e. a real value of 0).
struct ConvLayout {
  int64_t N = 0, C = 0, M = 0, Cg = 0, Mg = 0;
  size_t nd = 0;
  std::vector<int64_t> in_sp, out_sp, strides, pads_begin;
  int64_t in_size = 1, out_size = 1, k_size = 1;
  std::vector<int64_t> koff;          // [k_size][nd]: kernel index * dilation
  mutable std::vector<int64_t> oidx;  // output position (odometer), sized here: run() does not allocate

  Status init(const PrepareContext& c, size_t xi, size_t wi) {
    const Shape& x = c.shape(xi);
    const Shape& w = c.shape(wi);
    nd = x.size() - 2;
    const std::span<const int64_t> kernel(w.data() + 2, nd);
    VERGE_ASSIGN_OR_RETURN(ConvGeometry g,
                           conv_geometry(c.node(), std::span<const int64_t>(x.data() + 2, nd), kernel));
    const int64_t group = c.node().get_int("group", 1);
    N = x[0];
    C = x[1];
    M = w[0];
    Cg = C / group;
    Mg = M / group;
    in_sp.assign(x.begin() + 2, x.end());
    out_sp = g.out;
    strides = g.strides;
    pads_begin = g.pads_begin;
    in_size = shape_numel(in_sp);
    out_size = shape_numel(out_sp);
    k_size = shape_numel(kernel);
    koff.assign(static_cast<size_t>(k_size) * nd, 0);
    std::vector<int64_t> k(nd, 0);
    for (int64_t kp = 0; kp < k_size; ++kp) {
      for (size_t d = 0; d < nd; ++d) koff[static_cast<size_t>(kp) * nd + d] = k[d] * g.dilations[d];
      for (size_t d = nd; d-- > 0;) {
        if (++k[d] < kernel[d]) break;
        k[d] = 0;
      }
    }
    oidx.assign(nd, 0);
    return Status::ok();
  }
};

template <class TX, class TW>
void conv_accumulate(const ConvLayout& L, const Tensor& xt, const Tensor& wt, int32_t x_zp,
                     const int32_t* w_zp, int32_t* acc_out) {
  const TX* x = xt.data<TX>();
  const TW* w = wt.data<TW>();
  const size_t nd = L.nd;
  for (int64_t n = 0; n < L.N; ++n) {
    for (int64_t m = 0; m < L.M; ++m) {
      const int64_t g = m / L.Mg;
      const int64_t zw = w_zp[m];
      int32_t* out = acc_out + (n * L.M + m) * L.out_size;
      std::fill(L.oidx.begin(), L.oidx.end(), 0);
      for (int64_t o = 0; o < L.out_size; ++o) {
        int64_t acc = 0;
        for (int64_t ci = 0; ci < L.Cg; ++ci) {
          const TX* xc = x + (n * L.C + g * L.Cg + ci) * L.in_size;
          const TW* wc = w + (m * L.Cg + ci) * L.k_size;
          for (int64_t kp = 0; kp < L.k_size; ++kp) {
            int64_t off = 0;
            bool inside = true;
            for (size_t d = 0; d < nd && inside; ++d) {
              const int64_t pos =
                  L.oidx[d] * L.strides[d] - L.pads_begin[d] + L.koff[static_cast<size_t>(kp) * nd + d];
              inside = pos >= 0 && pos < L.in_sp[d];
              off = off * L.in_sp[d] + pos;
            }
            if (inside) acc += (int64_t{xc[off]} - x_zp) * (int64_t{wc[kp]} - zw);
          }
        }
        out[o] = wrap_int32(acc);
        for (size_t d = nd; d-- > 0;) {
          if (++L.oidx[d] < L.out_sp[d]) break;
          L.oidx[d] = 0;
        }
      }
    }
  }
}

using ConvCoreFn = void (*)(const ConvLayout&, const Tensor&, const Tensor&, int32_t, const int32_t*,
                            int32_t*);

Result<ConvCoreFn> select_conv_core(const PrepareContext& c, size_t xi, size_t wi) {
  ConvCoreFn fn = nullptr;
  const bool first_ok = dispatch(Int8Types{}, c.dtype(xi), [&]<class T1>() {
    dispatch(Int8Types{}, c.dtype(wi), [&]<class T2>() { fn = &conv_accumulate<T1, T2>; });
  });
  if (!first_ok) return c.unsupported_dtype(c.dtype(xi));
  if (!fn) return c.unsupported_dtype(c.dtype(wi));
  return fn;
}

// Zero point i (absent = 0) as int32, one value or one per output channel, into `out` (size M).
void load_channel_values(const RunContext& c, size_t i, std::vector<int32_t>& out) {
  const bool has = c.has_input(i);
  const bool single = !has || c.input(i).numel() == 1;
  for (size_t m = 0; m < out.size(); ++m)
    out[m] = has ? static_cast<int32_t>(c.input(i).get_as_int64(single ? 0 : static_cast<int64_t>(m))) : 0;
}
int32_t load_single(const RunContext& c, size_t i) {
  return c.has_input(i) ? static_cast<int32_t>(c.input(i).get_as_int64(0)) : 0;
}

// ConvInteger(x, w, x_zero_point?, w_zero_point?) -> int32.
class ConvIntegerKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    VERGE_RETURN_IF_ERROR(layout_.init(c, 0, 1));
    VERGE_ASSIGN_OR_RETURN(core_, select_conv_core(c, 0, 1));
    w_zp_.assign(static_cast<size_t>(layout_.M), 0);
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    load_channel_values(c, 3, w_zp_);
    core_(layout_, c.input(0), c.input(1), load_single(c, 2), w_zp_.data(), c.output(0).data<int32_t>());
    return Status::ok();
  }

 private:
  ConvLayout layout_;
  ConvCoreFn core_ = nullptr;
  std::vector<int32_t> w_zp_;
};

// QLinearConv: the integer core into scratch, then per element (quant_math.h)
//   y = requantize_f32(wrap_int32(acc + B[m]), requant_scale_f32(x_scale, w_scale[m], y_scale),
//   y_zero_point).
class QLinearConvKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    VERGE_RETURN_IF_ERROR(layout_.init(c, 0, 3));
    VERGE_ASSIGN_OR_RETURN(core_, select_conv_core(c, 0, 3));
    if (!dispatch(Int8Types{}, c.output(0).dtype, [&]<class Q>() { out_fn_ = &requantize_out<Q>; }))
      return c.unsupported_dtype(c.output(0).dtype);
    w_zp_.assign(static_cast<size_t>(layout_.M), 0);
    mult_.assign(static_cast<size_t>(layout_.M), 0.f);
    c.request_scratch(static_cast<size_t>(shape_numel(c.output(0).shape)) * sizeof(int32_t));
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    load_channel_values(c, 5, w_zp_);
    const float x_scale = c.input(1).data<float>()[0];
    const float y_scale = c.input(6).data<float>()[0];
    const Tensor& w_scale = c.input(4);
    for (size_t m = 0; m < mult_.size(); ++m)
      mult_[m] =
          quant::requant_scale_f32(x_scale, w_scale.data<float>()[w_scale.numel() == 1 ? 0 : m], y_scale);
    auto* acc = static_cast<int32_t*>(c.scratch);
    core_(layout_, c.input(0), c.input(3), load_single(c, 2), w_zp_.data(), acc);
    out_fn_(c, layout_, acc, mult_);
    return Status::ok();
  }

 private:
  template <class Q>
  static void requantize_out(const RunContext& c, const ConvLayout& L, const int32_t* acc,
                             const std::vector<float>& mult) {
    const int32_t y_zp = load_single(c, 7);
    const int32_t* bias = c.has_input(8) ? c.input(8).data<int32_t>() : nullptr;
    Q* y = c.output(0).data<Q>();
    int64_t i = 0;
    for (int64_t n = 0; n < L.N; ++n)
      for (int64_t m = 0; m < L.M; ++m)
        for (int64_t o = 0; o < L.out_size; ++o, ++i) {
          const int32_t a = bias ? wrap_int32(int64_t{acc[i]} + bias[m]) : acc[i];
          y[i] = quant::requantize_f32<Q>(a, mult[static_cast<size_t>(m)], y_zp);
        }
  }
  ConvLayout layout_;
  ConvCoreFn core_ = nullptr;
  void (*out_fn_)(const RunContext&, const ConvLayout&, const int32_t*, const std::vector<float>&) = nullptr;
  std::vector<int32_t> w_zp_;
  std::vector<float> mult_;
};

// ---------------------------------------------------------------------------------------------------
// Integer matmul core (numpy matmul: 1-D operands promoted, batch dims broadcast) shared by
// MatMulInteger and QLinearMatMul:
//   acc[b, m, n] = wrap_int32( sum_k (A[ia, m, k] - a_zp[row]) * (B[ib, k, n] - b_zp[col]) )
// Per-row (a) / per-column (b) parameters are read through offset tables built at prepare.
struct MatMulLayout {
  int64_t M = 1, K = 1, N = 1, batch = 1;
  Shape a_batch, b_batch;
  std::vector<int64_t> a_mat, b_mat;  // per output batch index: matrix index into A / B

  void init(const Shape& a, const Shape& b) {
    const Shape ap = a.size() == 1 ? Shape{1, a[0]} : a;
    const Shape bp = b.size() == 1 ? Shape{b[0], 1} : b;
    M = ap[ap.size() - 2];
    K = ap.back();
    N = bp.back();
    a_batch.assign(ap.begin(), ap.end() - 2);
    b_batch.assign(bp.begin(), bp.end() - 2);
    const Shape out_batch = broadcast_shapes(a_batch, b_batch).value();  // validated by infer
    const Shape* shapes[] = {&a_batch, &b_batch};
    Broadcaster bc(out_batch, shapes);
    batch = bc.numel();
    a_mat.assign(static_cast<size_t>(batch), 0);
    b_mat.assign(static_cast<size_t>(batch), 0);
    bc.for_each([&](int64_t o, std::span<const int64_t> off) {
      a_mat[static_cast<size_t>(o)] = off[0];
      b_mat[static_cast<size_t>(o)] = off[1];
    });
  }

  // Offsets of a parameter of shape p for every (A matrix, row) (rows=true; table [a_batch][M]) or every
  // (B matrix, column) (rows=false; table [b_batch][N]). Layouts as validated by infer_quant.cpp.
  std::vector<int64_t> param_offsets(const Shape& p, bool rows) const {
    Shape target = rows ? a_batch : b_batch;
    target.push_back(rows ? M : 1);
    target.push_back(rows ? 1 : N);
    std::vector<int64_t> table(static_cast<size_t>(shape_numel(target)), 0);
    if (shape_numel(p) == 1) return table;
    const Shape pn = p.size() == 1 ? (rows ? Shape{p[0], 1} : Shape{1, p[0]}) : p;
    const Shape* shapes[] = {&pn};
    Broadcaster bc(target, shapes);
    bc.for_each([&](int64_t o, std::span<const int64_t> off) { table[static_cast<size_t>(o)] = off[0]; });
    return table;
  }
};

// Optional zero point i of a matmul operand: data pointer (nullptr when absent) and offset table.
template <class T>
struct ParamRef {
  const T* data = nullptr;
  const int64_t* off = nullptr;
  int64_t at(int64_t i) const { return data ? int64_t{data[off[i]]} : 0; }
};

template <class TA, class TB>
void matmul_accumulate(const MatMulLayout& L, const RunContext& c, size_t ai, size_t bi, size_t azi,
                       size_t bzi, const std::vector<int64_t>& a_zp_off, const std::vector<int64_t>& b_zp_off,
                       int32_t* out) {
  const TA* a = c.input(ai).data<TA>();
  const TB* b = c.input(bi).data<TB>();
  const ParamRef<TA> a_zp{c.has_input(azi) ? c.input(azi).data<TA>() : nullptr, a_zp_off.data()};
  const ParamRef<TB> b_zp{c.has_input(bzi) ? c.input(bzi).data<TB>() : nullptr, b_zp_off.data()};
  for (int64_t bo = 0; bo < L.batch; ++bo) {
    const int64_t ia = L.a_mat[static_cast<size_t>(bo)], ib = L.b_mat[static_cast<size_t>(bo)];
    const TA* am = a + ia * L.M * L.K;
    const TB* bm = b + ib * L.K * L.N;
    for (int64_t m = 0; m < L.M; ++m) {
      const int64_t za = a_zp.at(ia * L.M + m);
      for (int64_t n = 0; n < L.N; ++n) {
        const int64_t zb = b_zp.at(ib * L.N + n);
        int64_t acc = 0;
        for (int64_t k = 0; k < L.K; ++k)
          acc += (int64_t{am[m * L.K + k]} - za) * (int64_t{bm[k * L.N + n]} - zb);
        out[(bo * L.M + m) * L.N + n] = wrap_int32(acc);
      }
    }
  }
}

using MatMulCoreFn = void (*)(const MatMulLayout&, const RunContext&, size_t, size_t, size_t, size_t,
                              const std::vector<int64_t>&, const std::vector<int64_t>&, int32_t*);

Result<MatMulCoreFn> select_matmul_core(const PrepareContext& c, size_t ai, size_t bi) {
  MatMulCoreFn fn = nullptr;
  const bool first_ok = dispatch(Int8Types{}, c.dtype(ai), [&]<class T1>() {
    dispatch(Int8Types{}, c.dtype(bi), [&]<class T2>() { fn = &matmul_accumulate<T1, T2>; });
  });
  if (!first_ok) return c.unsupported_dtype(c.dtype(ai));
  if (!fn) return c.unsupported_dtype(c.dtype(bi));
  return fn;
}

std::vector<int64_t> offsets_if(const PrepareContext& c, const MatMulLayout& L, size_t i, bool rows) {
  return c.has_input(i) ? L.param_offsets(c.shape(i), rows) : std::vector<int64_t>{};
}

// MatMulInteger(A, B, a_zero_point?, b_zero_point?) -> int32.
class MatMulIntegerKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    layout_.init(c.shape(0), c.shape(1));
    VERGE_ASSIGN_OR_RETURN(core_, select_matmul_core(c, 0, 1));
    a_zp_off_ = offsets_if(c, layout_, 2, true);
    b_zp_off_ = offsets_if(c, layout_, 3, false);
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    core_(layout_, c, 0, 1, 2, 3, a_zp_off_, b_zp_off_, c.output(0).data<int32_t>());
    return Status::ok();
  }

 private:
  MatMulLayout layout_;
  MatMulCoreFn core_ = nullptr;
  std::vector<int64_t> a_zp_off_, b_zp_off_;
};

// QLinearMatMul(a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp): the integer core into scratch, then
//   y = requantize_f32(acc, requant_scale_f32(a_scale[row], b_scale[col], y_scale), y_zp)   (quant_math.h).
class QLinearMatMulKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    layout_.init(c.shape(0), c.shape(3));
    VERGE_ASSIGN_OR_RETURN(core_, select_matmul_core(c, 0, 3));
    if (!dispatch(Int8Types{}, c.output(0).dtype, [&]<class Q>() { out_fn_ = &requantize_out<Q>; }))
      return c.unsupported_dtype(c.output(0).dtype);
    a_scale_off_ = layout_.param_offsets(c.shape(1), true);
    a_zp_off_ = layout_.param_offsets(c.shape(2), true);
    b_scale_off_ = layout_.param_offsets(c.shape(4), false);
    b_zp_off_ = layout_.param_offsets(c.shape(5), false);
    c.request_scratch(static_cast<size_t>(layout_.batch * layout_.M * layout_.N) * sizeof(int32_t));
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    auto* acc = static_cast<int32_t*>(c.scratch);
    core_(layout_, c, 0, 3, 2, 5, a_zp_off_, b_zp_off_, acc);
    out_fn_(c, *this, acc);
    return Status::ok();
  }

 private:
  template <class Q>
  static void requantize_out(const RunContext& c, const QLinearMatMulKernel& k, const int32_t* acc) {
    const MatMulLayout& L = k.layout_;
    const float* a_scale = c.input(1).data<float>();
    const float* b_scale = c.input(4).data<float>();
    const float y_scale = c.input(6).data<float>()[0];
    const int32_t y_zp = load_single(c, 7);
    Q* y = c.output(0).data<Q>();
    for (int64_t bo = 0; bo < L.batch; ++bo) {
      const int64_t ia = L.a_mat[static_cast<size_t>(bo)], ib = L.b_mat[static_cast<size_t>(bo)];
      for (int64_t m = 0; m < L.M; ++m) {
        const float sa = a_scale[k.a_scale_off_[static_cast<size_t>(ia * L.M + m)]];
        for (int64_t n = 0; n < L.N; ++n) {
          const float sb = b_scale[k.b_scale_off_[static_cast<size_t>(ib * L.N + n)]];
          const int64_t i = (bo * L.M + m) * L.N + n;
          y[i] = quant::requantize_f32<Q>(acc[i], quant::requant_scale_f32(sa, sb, y_scale), y_zp);
        }
      }
    }
  }
  MatMulLayout layout_;
  MatMulCoreFn core_ = nullptr;
  void (*out_fn_)(const RunContext&, const QLinearMatMulKernel&, const int32_t*) = nullptr;
  std::vector<int64_t> a_scale_off_, a_zp_off_, b_scale_off_, b_zp_off_;
};

}  // namespace

std::unique_ptr<Kernel> make_QuantizeLinear(const ir::Node&) {
  return std::make_unique<QuantizeLinearKernel>();
}
std::unique_ptr<Kernel> make_DequantizeLinear(const ir::Node&) {
  return std::make_unique<DequantizeLinearKernel>();
}
std::unique_ptr<Kernel> make_DynamicQuantizeLinear(const ir::Node&) {
  return std::make_unique<DynamicQuantizeLinearKernel>();
}
std::unique_ptr<Kernel> make_ConvInteger(const ir::Node&) { return std::make_unique<ConvIntegerKernel>(); }
std::unique_ptr<Kernel> make_QLinearConv(const ir::Node&) { return std::make_unique<QLinearConvKernel>(); }
std::unique_ptr<Kernel> make_MatMulInteger(const ir::Node&) {
  return std::make_unique<MatMulIntegerKernel>();
}
std::unique_ptr<Kernel> make_QLinearMatMul(const ir::Node&) {
  return std::make_unique<QLinearMatMulKernel>();
}

}  // namespace verge::ref
