#include "train/grad_ops_nn.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "ir/conv_geometry.h"
#include "train/broadcast.h"

namespace verge::train {
namespace {

template <class T>
Status need_float(const OpCtx<T>& c, size_t i) {
  if (i >= c.in.size() || !c.in[i])
    return Status::unsupported(fmt::format("input {} is missing or not float", i));
  return Status::ok();
}

template <class T>
Status need_rank_at_least(const OpCtx<T>& c, size_t i, size_t rank) {
  VERGE_RETURN_IF_ERROR(need_float(c, i));
  if (c.in[i]->shape.size() < rank)
    return Status::invalid_model(
        fmt::format("input {} has rank {}; needs at least {}", i, c.in[i]->shape.size(), rank));
  return Status::ok();
}

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// [N, C, spatial...] viewed as N x C x S.
struct NCS {
  int64_t n, c, s;
};
NCS ncs_of(const Shape& x) {
  int64_t s = 1;
  for (size_t i = 2; i < x.size(); ++i) s *= x[i];
  return {x[0], x[1], s};
}

}  // namespace

// ---- BatchNormalization ----
// Training: Y = scale * (X - mean_b) / sqrt(var_b + eps) + B with the batch's per-channel mean and biased
// (population) variance; the running statistics (state inputs 3, 4) become
// momentum * running + (1 - momentum) * batch (ONNX semantics; PyTorch's running_var uses the unbiased
// variance instead). Evaluation: the running statistics in place of the batch's. saved = {training}.

namespace {
template <class T>
Status batchnorm_shape(const OpCtx<T>& c, NCS& d) {
  VERGE_RETURN_IF_ERROR(need_rank_at_least(c, 0, 2));
  d = ncs_of(c.in[0]->shape);
  for (size_t i = 1; i < 5; ++i) {
    VERGE_RETURN_IF_ERROR(need_float(c, i));
    if (c.in[i]->shape != Shape{d.c})
      return Status::invalid_model(fmt::format("BatchNormalization input {} has shape {}; expected [{}]", i,
                                               shape_to_string(c.in[i]->shape), d.c));
  }
  return Status::ok();
}

// Per-channel batch mean and biased variance of x, accumulated in double.
template <class T>
void batch_stats(const Buf<T>& x, const NCS& d, std::vector<T>& mean, std::vector<T>& var) {
  mean.assign(static_cast<size_t>(d.c), T(0));
  var.assign(static_cast<size_t>(d.c), T(0));
  const double count = static_cast<double>(d.n * d.s);
  for (int64_t ch = 0; ch < d.c; ++ch) {
    double sum = 0;
    for (int64_t b = 0; b < d.n; ++b) {
      const T* p = x.data() + (b * d.c + ch) * d.s;
      for (int64_t i = 0; i < d.s; ++i) sum += static_cast<double>(p[i]);
    }
    const double m = sum / count;
    double sq = 0;
    for (int64_t b = 0; b < d.n; ++b) {
      const T* p = x.data() + (b * d.c + ch) * d.s;
      for (int64_t i = 0; i < d.s; ++i)
        sq += (static_cast<double>(p[i]) - m) * (static_cast<double>(p[i]) - m);
    }
    mean[static_cast<size_t>(ch)] = static_cast<T>(m);
    var[static_cast<size_t>(ch)] = static_cast<T>(sq / count);
  }
}
}  // namespace

template <class T>
Status batchnorm_forward(OpCtx<T>& c) {
  NCS d{};
  VERGE_RETURN_IF_ERROR(batchnorm_shape(c, d));
  if (d.n * d.s == 0) return Status::invalid_argument("BatchNormalization on an empty batch");
  const T eps = static_cast<T>(c.node.get_float("epsilon", 1e-5f));
  const T momentum = static_cast<T>(c.node.get_float("momentum", 0.9f));
  c.saved.assign(1, c.training ? 1 : 0);
  std::vector<T> mean, var;
  if (c.training) {
    batch_stats(*c.in[0], d, mean, var);
    for (size_t i = 3; i < 5; ++i) {
      if (c.state.size() <= i || !c.state[i]) continue;
      const std::vector<T>& batch = i == 3 ? mean : var;
      for (int64_t ch = 0; ch < d.c; ++ch) {
        T& r = c.state[i]->v[static_cast<size_t>(ch)];
        r = momentum * r + (T(1) - momentum) * batch[static_cast<size_t>(ch)];
      }
    }
  } else {
    mean = c.in[3]->v;
    var = c.in[4]->v;
  }
  c.out[0]->resize(c.in[0]->shape);
  const T *x = c.in[0]->data(), *scale = c.in[1]->data(), *bias = c.in[2]->data();
  T* y = c.out[0]->data();
  for (int64_t b = 0; b < d.n; ++b)
    for (int64_t ch = 0; ch < d.c; ++ch) {
      const size_t k = static_cast<size_t>(ch);
      const T a = scale[ch] / std::sqrt(var[k] + eps), shift = bias[ch] - a * mean[k];
      const int64_t off = (b * d.c + ch) * d.s;
      for (int64_t i = 0; i < d.s; ++i) y[off + i] = a * x[off + i] + shift;
    }
  // Opset-14 training outputs running_mean / running_var: the (updated) running statistics.
  for (size_t i = 1; i < 3 && i < c.out.size(); ++i)
    if (c.out[i]) *c.out[i] = c.state.size() > i + 2 && c.state[i + 2] ? *c.state[i + 2] : *c.in[i + 2];
  return Status::ok();
}

template <class T>
void batchnorm_backward(OpCtx<T>& c) {
  NCS d{};
  if (!batchnorm_shape(c, d).is_ok()) return;
  const bool training = !c.saved.empty() && c.saved[0] != 0;
  const T eps = static_cast<T>(c.node.get_float("epsilon", 1e-5f));
  std::vector<T> mean, var;
  if (training) {
    batch_stats(*c.in[0], d, mean, var);
  } else {
    mean = c.in[3]->v;
    var = c.in[4]->v;
  }
  const T *x = c.in[0]->data(), *scale = c.in[1]->data(), *dy = c.dout[0]->data();
  T* dx = c.din[0] ? c.din[0]->data() : nullptr;
  const auto din = [&](size_t i) { return c.din.size() > i && c.din[i] ? c.din[i]->data() : nullptr; };
  T *dscale = din(1), *dbias = din(2), *dmean = din(3), *dvar = din(4);
  const T count = static_cast<T>(d.n * d.s);
  for (int64_t ch = 0; ch < d.c; ++ch) {
    const size_t k = static_cast<size_t>(ch);
    const T inv = T(1) / std::sqrt(var[k] + eps);
    T sum_dy = 0, sum_dy_xhat = 0;
    for (int64_t b = 0; b < d.n; ++b) {
      const int64_t off = (b * d.c + ch) * d.s;
      for (int64_t i = 0; i < d.s; ++i) {
        sum_dy += dy[off + i];
        sum_dy_xhat += dy[off + i] * (x[off + i] - mean[k]) * inv;
      }
    }
    if (dscale) dscale[ch] += sum_dy_xhat;
    if (dbias) dbias[ch] += sum_dy;
    if (!training) {
      if (dmean) dmean[ch] += -scale[ch] * inv * sum_dy;
      if (dvar) dvar[ch] += -T(0.5) * scale[ch] * inv * inv * sum_dy_xhat;
    }
    if (!dx) continue;
    const T a = scale[ch] * inv, mean_dy = sum_dy / count, mean_dy_xhat = sum_dy_xhat / count;
    for (int64_t b = 0; b < d.n; ++b) {
      const int64_t off = (b * d.c + ch) * d.s;
      for (int64_t i = 0; i < d.s; ++i) {
        if (training)
          dx[off + i] += a * (dy[off + i] - mean_dy - (x[off + i] - mean[k]) * inv * mean_dy_xhat);
        else
          dx[off + i] += a * dy[off + i];
      }
    }
  }
}

// ---- Dropout: in training, Y = X * mask / (1 - ratio) with mask[i] = (u_i >= ratio), u_i uniform in
// [0, 1) from a SplitMix64 stream seeded by ctx.seed; in evaluation (or ratio 0) the identity.
// saved = {seed, active}. The optional mask output gets 1/0 values.

namespace {
template <class T>
Result<T> dropout_ratio(const OpCtx<T>& c) {
  T ratio = T(0.5);
  if (c.node.input(1) != ir::kNoValue) {
    if (c.in.size() < 2 || !c.in[1] || c.in[1]->numel() != 1)
      return Status::unsupported("Dropout ratio must be a float scalar");
    ratio = c.in[1]->v[0];
  }
  if (!(ratio >= T(0) && ratio < T(1)))
    return Status::invalid_model(
        fmt::format("Dropout ratio {} is outside [0, 1)", static_cast<double>(ratio)));
  return ratio;
}
// Calls f(i, keep) for every element.
template <class F>
void dropout_mask(uint64_t seed, double ratio, int64_t n, F&& f) {
  uint64_t state = seed;
  for (int64_t i = 0; i < n; ++i) f(i, static_cast<double>(splitmix64(state) >> 11) * 0x1.0p-53 >= ratio);
}
}  // namespace

template <class T>
Status dropout_forward(OpCtx<T>& c) {
  VERGE_RETURN_IF_ERROR(need_float(c, 0));
  VERGE_ASSIGN_OR_RETURN(T ratio, dropout_ratio(c));
  const bool active = c.training && ratio > T(0);
  c.saved = {static_cast<int64_t>(c.seed), active ? 1 : 0};
  const Buf<T>& x = *c.in[0];
  Buf<T>* mask = c.out.size() > 1 ? c.out[1] : nullptr;
  if (mask) mask->resize(x.shape);
  if (!active) {
    *c.out[0] = x;
    if (mask) std::fill(mask->v.begin(), mask->v.end(), T(1));
    return Status::ok();
  }
  c.out[0]->resize(x.shape);
  const T keep_scale = T(1) / (T(1) - ratio);
  dropout_mask(c.seed, static_cast<double>(ratio), x.numel(), [&](int64_t i, bool keep) {
    c.out[0]->v[i] = keep ? x.v[i] * keep_scale : T(0);
    if (mask) mask->v[i] = keep ? T(1) : T(0);
  });
  return Status::ok();
}

template <class T>
void dropout_backward(OpCtx<T>& c) {
  if (!c.din[0]) return;
  const Buf<T>& dy = *c.dout[0];
  Buf<T>& dx = *c.din[0];
  if (c.saved.size() < 2 || c.saved[1] == 0) {
    for (int64_t i = 0; i < dx.numel(); ++i) dx.v[i] += dy.v[i];
    return;
  }
  const T ratio = dropout_ratio(c).value();  // forward validated it
  const T keep_scale = T(1) / (T(1) - ratio);
  dropout_mask(static_cast<uint64_t>(c.saved[0]), static_cast<double>(ratio), dx.numel(),
               [&](int64_t i, bool keep) {
                 if (keep) dx.v[i] += dy.v[i] * keep_scale;
               });
}

// ---- GlobalAveragePool: [N, C, spatial...] -> [N, C, 1, ...] ----

template <class T>
Status global_avgpool_forward(OpCtx<T>& c) {
  VERGE_RETURN_IF_ERROR(need_rank_at_least(c, 0, 3));
  const Shape& s = c.in[0]->shape;
  const NCS d = ncs_of(s);
  Shape out = s;
  std::fill(out.begin() + 2, out.end(), 1);
  c.out[0]->resize(out);
  for (int64_t p = 0; p < d.n * d.c; ++p) {
    T sum = 0;
    for (int64_t i = 0; i < d.s; ++i) sum += c.in[0]->v[p * d.s + i];
    c.out[0]->v[p] = d.s ? sum / static_cast<T>(d.s) : T(0);
  }
  return Status::ok();
}

template <class T>
void global_avgpool_backward(OpCtx<T>& c) {
  if (!c.din[0]) return;
  const NCS d = ncs_of(c.in[0]->shape);
  for (int64_t p = 0; p < d.n * d.c; ++p) {
    const T g = c.dout[0]->v[p] / static_cast<T>(d.s);
    for (int64_t i = 0; i < d.s; ++i) c.din[0]->v[p * d.s + i] += g;
  }
}

// ---- AveragePool (2-D): kernel_shape, strides, pads / auto_pad, dilations, ceil_mode,
// count_include_pad. As in the inference runtime, with count_include_pad the divisor counts the taps
// inside the padded input, never those beyond the end padding ceil_mode adds; a window with no tap
// inside the input gives 0.

namespace {
struct Pool2d {
  ConvGeometry geo;
  int64_t planes, h, w, oh, ow;
  bool include_pad;
};
template <class T>
Result<Pool2d> avgpool_shape(const OpCtx<T>& c) {
  VERGE_RETURN_IF_ERROR(need_float(c, 0));
  const Shape& s = c.in[0]->shape;
  if (s.size() != 4)
    return Status::unsupported(
        fmt::format("AveragePool input has rank {}; training supports 2-D pooling (rank 4) only", s.size()));
  const int64_t in_sp[2] = {s[2], s[3]};
  Pool2d p;
  VERGE_ASSIGN_OR_RETURN(p.geo, conv_geometry(c.node, in_sp, {}, c.node.get_int("ceil_mode", 0) != 0));
  p.planes = s[0] * s[1], p.h = s[2], p.w = s[3], p.oh = p.geo.out[0], p.ow = p.geo.out[1];
  p.include_pad = c.node.get_int("count_include_pad", 0) != 0;
  return p;
}
// Calls f(input offset within the plane) for each tap of output (oy, ox) inside the input; returns the
// divisor.
template <class F>
int64_t avg_window(const Pool2d& p, int64_t oy, int64_t ox, F&& f) {
  const ConvGeometry& g = p.geo;
  int64_t inside = 0, padded = 0;
  for (int64_t ki = 0; ki < g.kernel[0]; ++ki) {
    const int64_t iy = oy * g.strides[0] - g.pads_begin[0] + ki * g.dilations[0];
    const bool y_in = iy >= 0 && iy < p.h, y_pad = iy >= -g.pads_begin[0] && iy < p.h + g.pads_end[0];
    for (int64_t kj = 0; kj < g.kernel[1]; ++kj) {
      const int64_t ix = ox * g.strides[1] - g.pads_begin[1] + kj * g.dilations[1];
      const bool x_in = ix >= 0 && ix < p.w, x_pad = ix >= -g.pads_begin[1] && ix < p.w + g.pads_end[1];
      if (y_pad && x_pad) ++padded;
      if (y_in && x_in) ++inside, f(iy * p.w + ix);
    }
  }
  return inside == 0 ? 0 : (p.include_pad ? padded : inside);
}
}  // namespace

template <class T>
Status avgpool_forward(OpCtx<T>& c) {
  VERGE_ASSIGN_OR_RETURN(Pool2d p, avgpool_shape(c));
  const Shape& s = c.in[0]->shape;
  c.out[0]->resize({s[0], s[1], p.oh, p.ow});
  const T* x = c.in[0]->data();
  T* y = c.out[0]->data();
  for (int64_t pl = 0; pl < p.planes; ++pl)
    for (int64_t oy = 0; oy < p.oh; ++oy)
      for (int64_t ox = 0; ox < p.ow; ++ox) {
        T sum = 0;
        const int64_t div = avg_window(p, oy, ox, [&](int64_t at) { sum += x[pl * p.h * p.w + at]; });
        y[(pl * p.oh + oy) * p.ow + ox] = div ? sum / static_cast<T>(div) : T(0);
      }
  return Status::ok();
}

template <class T>
void avgpool_backward(OpCtx<T>& c) {
  if (!c.din[0]) return;
  const Pool2d p = avgpool_shape(c).value();  // forward validated the same input
  const T* dy = c.dout[0]->data();
  T* dx = c.din[0]->data();
  for (int64_t pl = 0; pl < p.planes; ++pl)
    for (int64_t oy = 0; oy < p.oh; ++oy)
      for (int64_t ox = 0; ox < p.ow; ++ox) {
        const int64_t div = avg_window(p, oy, ox, [](int64_t) {});
        if (!div) continue;
        const T g = dy[(pl * p.oh + oy) * p.ow + ox] / static_cast<T>(div);
        avg_window(p, oy, ox, [&](int64_t at) { dx[pl * p.h * p.w + at] += g; });
      }
}

// ---- elementwise activations: y = f(x), dx += dy * f'(x, y) ----

namespace {
template <class T>
struct Unary {
  T alpha = 0, beta = 0, lo = 0, hi = 0;
};
template <class T>
Result<Unary<T>> unary_params(const OpCtx<T>& c) {
  Unary<T> u;
  switch (c.node.op) {
    case OpId::LeakyRelu:
      u.alpha = static_cast<T>(c.node.get_float("alpha", 0.01f));
      break;
    case OpId::HardSigmoid:
      u.alpha = static_cast<T>(c.node.get_float("alpha", 0.2f));
      u.beta = static_cast<T>(c.node.get_float("beta", 0.5f));
      break;
    case OpId::Clip:
      u.lo = -std::numeric_limits<T>::infinity(), u.hi = std::numeric_limits<T>::infinity();
      for (size_t i = 1; i < 3; ++i) {
        if (c.node.input(i) == ir::kNoValue) continue;
        if (c.in.size() <= i || !c.in[i] || c.in[i]->numel() != 1)
          return Status::unsupported(fmt::format("Clip {} must be a float scalar", i == 1 ? "min" : "max"));
        (i == 1 ? u.lo : u.hi) = c.in[i]->v[0];
      }
      break;
    default:
      break;
  }
  return u;
}
template <class T>
T unary_value(OpId op, const Unary<T>& u, T x) {
  switch (op) {
    case OpId::LeakyRelu:
      return x >= T(0) ? x : u.alpha * x;
    case OpId::Clip:
      return std::min(std::max(x, u.lo), u.hi);
    case OpId::HardSigmoid:
      return std::clamp(u.alpha * x + u.beta, T(0), T(1));
    case OpId::HardSwish:
      return x * std::clamp(x / T(6) + T(0.5), T(0), T(1));
    case OpId::Sigmoid:
      return x >= T(0) ? T(1) / (T(1) + std::exp(-x)) : std::exp(x) / (T(1) + std::exp(x));
    case OpId::Tanh:
      return std::tanh(x);
    default:
      return x;
  }
}
// d y / d x at x (y = f(x)); at a kink the one-sided derivative PyTorch uses (Clip: inside inclusive).
template <class T>
T unary_slope(OpId op, const Unary<T>& u, T x, T y) {
  switch (op) {
    case OpId::LeakyRelu:
      return x > T(0) ? T(1) : u.alpha;
    case OpId::Clip:
      return x >= u.lo && x <= u.hi ? T(1) : T(0);
    case OpId::HardSigmoid: {
      const T z = u.alpha * x + u.beta;
      return z > T(0) && z < T(1) ? u.alpha : T(0);
    }
    case OpId::HardSwish:
      return x < T(-3) ? T(0) : x > T(3) ? T(1) : x / T(3) + T(0.5);
    case OpId::Sigmoid:
      return y * (T(1) - y);
    case OpId::Tanh:
      return T(1) - y * y;
    default:
      return T(1);
  }
}
}  // namespace

template <class T>
Status unary_forward(OpCtx<T>& c) {
  VERGE_RETURN_IF_ERROR(need_float(c, 0));
  VERGE_ASSIGN_OR_RETURN(Unary<T> u, unary_params(c));
  const Buf<T>& x = *c.in[0];
  c.out[0]->resize(x.shape);
  for (int64_t i = 0; i < x.numel(); ++i) c.out[0]->v[i] = unary_value(c.node.op, u, x.v[i]);
  return Status::ok();
}

template <class T>
void unary_backward(OpCtx<T>& c) {
  const Unary<T> u = unary_params(c).value();  // forward validated it
  const Buf<T>&x = *c.in[0], &y = *c.out[0], &dy = *c.dout[0];
  if (c.din[0])
    for (int64_t i = 0; i < x.numel(); ++i)
      c.din[0]->v[i] += dy.v[i] * unary_slope(c.node.op, u, x.v[i], y.v[i]);
  if (c.node.op != OpId::Clip) return;
  for (size_t k = 1; k < 3; ++k) {  // Clip min / max receive the gradient of the clamped elements
    if (c.din.size() <= k || !c.din[k]) continue;
    T s = 0;
    for (int64_t i = 0; i < x.numel(); ++i)
      if (k == 1 ? x.v[i] < u.lo : x.v[i] > u.hi) s += dy.v[i];
    c.din[k]->v[0] += s;
  }
}

// ---- Sub, Div (numpy broadcasting) ----

template <class T>
Status sub_div_forward(OpCtx<T>& c) {
  VERGE_RETURN_IF_ERROR(need_float(c, 0));
  VERGE_RETURN_IF_ERROR(need_float(c, 1));
  const Buf<T>&a = *c.in[0], &b = *c.in[1];
  VERGE_ASSIGN_OR_RETURN(Shape out, bcast::broadcast_shape(a.shape, b.shape));
  c.out[0]->resize(out);
  T* y = c.out[0]->data();
  const bool div = c.node.op == OpId::Div;
  bcast::for_each_broadcast(out, a.shape, b.shape, [&](int64_t i, int64_t ia, int64_t ib) {
    y[i] = div ? a.v[ia] / b.v[ib] : a.v[ia] - b.v[ib];
  });
  return Status::ok();
}

template <class T>
void sub_div_backward(OpCtx<T>& c) {
  const Buf<T>&a = *c.in[0], &b = *c.in[1];
  const T* dy = c.dout[0]->data();
  T* da = c.din[0] ? c.din[0]->data() : nullptr;
  T* db = c.din[1] ? c.din[1]->data() : nullptr;
  const bool div = c.node.op == OpId::Div;
  bcast::for_each_broadcast(c.out[0]->shape, a.shape, b.shape, [&](int64_t i, int64_t ia, int64_t ib) {
    if (da) da[ia] += div ? dy[i] / b.v[ib] : dy[i];
    if (db) db[ib] += div ? -dy[i] * a.v[ia] / (b.v[ib] * b.v[ib]) : -dy[i];
  });
}

// ---- MatMul (numpy semantics: batched, broadcasting batch dims, 1-D operands promoted) ----

namespace {
struct MatMulDims {
  Shape a, b, out, batch_out, batch_a, batch_b;  // a, b: promoted to rank >= 2
  int64_t m, k, n;
  Shape y;  // the output shape after removing promoted dims
};
template <class T>
Result<MatMulDims> matmul_dims(const OpCtx<T>& c) {
  VERGE_RETURN_IF_ERROR(need_float(c, 0));
  VERGE_RETURN_IF_ERROR(need_float(c, 1));
  MatMulDims d;
  d.a = c.in[0]->shape, d.b = c.in[1]->shape;
  if (d.a.empty() || d.b.empty()) return Status::invalid_model("MatMul operands must have rank >= 1");
  const bool a1 = d.a.size() == 1, b1 = d.b.size() == 1;
  if (a1) d.a.insert(d.a.begin(), 1);
  if (b1) d.b.push_back(1);
  d.m = d.a[d.a.size() - 2], d.k = d.a.back(), d.n = d.b.back();
  if (d.b[d.b.size() - 2] != d.k)
    return Status::invalid_model(fmt::format("MatMul inner dimensions differ: {} x {}",
                                             shape_to_string(c.in[0]->shape),
                                             shape_to_string(c.in[1]->shape)));
  d.batch_a.assign(d.a.begin(), d.a.end() - 2);
  d.batch_b.assign(d.b.begin(), d.b.end() - 2);
  VERGE_ASSIGN_OR_RETURN(d.batch_out, bcast::broadcast_shape(d.batch_a, d.batch_b));
  d.y = d.batch_out;
  if (!a1) d.y.push_back(d.m);
  if (!b1) d.y.push_back(d.n);
  return d;
}
}  // namespace

template <class T>
Status matmul_forward(OpCtx<T>& c) {
  VERGE_ASSIGN_OR_RETURN(MatMulDims d, matmul_dims(c));
  c.out[0]->resize(d.y);
  const T *a = c.in[0]->data(), *b = c.in[1]->data();
  T* y = c.out[0]->data();
  const int64_t mk = d.m * d.k, kn = d.k * d.n, mn = d.m * d.n;
  bcast::for_each_broadcast(d.batch_out, d.batch_a, d.batch_b, [&](int64_t i, int64_t ia, int64_t ib) {
    matmul_acc<T>(false, false, d.m, d.n, d.k, a + ia * mk, b + ib * kn, y + i * mn, c.pool);
  });
  return Status::ok();
}

template <class T>
void matmul_backward(OpCtx<T>& c) {
  const MatMulDims d = matmul_dims(c).value();  // forward validated the same inputs
  const T *a = c.in[0]->data(), *b = c.in[1]->data(), *dy = c.dout[0]->data();
  T* da = c.din[0] ? c.din[0]->data() : nullptr;
  T* db = c.din[1] ? c.din[1]->data() : nullptr;
  const int64_t mk = d.m * d.k, kn = d.k * d.n, mn = d.m * d.n;
  bcast::for_each_broadcast(d.batch_out, d.batch_a, d.batch_b, [&](int64_t i, int64_t ia, int64_t ib) {
    if (da)
      matmul_acc<T>(false, true, d.m, d.k, d.n, dy + i * mn, b + ib * kn, da + ia * mk, c.pool);  // dY B^T
    if (db)
      matmul_acc<T>(true, false, d.k, d.n, d.m, a + ia * mk, dy + i * mn, db + ib * kn, c.pool);  // A^T dY
  });
}

// ---- Concat, Split, Transpose ----

namespace {
// [outer, dim, inner] around `axis` of `s`; InvalidModel when the axis is out of range.
Status around_axis(const Shape& s, int64_t& axis, int64_t& outer, int64_t& inner) {
  const auto r = static_cast<int64_t>(s.size());
  if (axis < 0) axis += r;
  if (axis < 0 || axis >= r) return Status::invalid_model(fmt::format("axis out of range for rank {}", r));
  outer = inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= s[static_cast<size_t>(i)];
  for (int64_t i = axis + 1; i < r; ++i) inner *= s[static_cast<size_t>(i)];
  return Status::ok();
}
}  // namespace

template <class T>
Status concat_forward(OpCtx<T>& c) {
  for (size_t i = 0; i < c.in.size(); ++i) VERGE_RETURN_IF_ERROR(need_float(c, i));
  if (c.in.empty()) return Status::invalid_model("Concat has no inputs");
  int64_t axis = c.node.get_int("axis", 0), outer, inner;
  Shape out = c.in[0]->shape;
  VERGE_RETURN_IF_ERROR(around_axis(out, axis, outer, inner));
  const auto without_axis = [&](Shape s) {
    if (s.size() == out.size()) s[static_cast<size_t>(axis)] = 0;
    return s;
  };
  const Shape rest = without_axis(out);
  out[static_cast<size_t>(axis)] = 0;
  for (const Buf<T>* in : c.in) {
    if (without_axis(in->shape) != rest)
      return Status::invalid_model(fmt::format("Concat inputs {} and {} differ outside axis {}",
                                               shape_to_string(c.in[0]->shape), shape_to_string(in->shape),
                                               axis));
    out[static_cast<size_t>(axis)] += in->shape[static_cast<size_t>(axis)];
  }
  c.out[0]->resize(out);
  const int64_t total = out[static_cast<size_t>(axis)];
  int64_t offset = 0;
  for (const Buf<T>* in : c.in) {
    const int64_t along = in->shape[static_cast<size_t>(axis)];
    for (int64_t o = 0; o < outer; ++o)
      std::copy_n(in->data() + o * along * inner, along * inner,
                  c.out[0]->data() + (o * total + offset) * inner);
    offset += along;
  }
  return Status::ok();
}

template <class T>
void concat_backward(OpCtx<T>& c) {
  int64_t axis = c.node.get_int("axis", 0), outer, inner;
  const Shape& out = c.out[0]->shape;
  if (!around_axis(out, axis, outer, inner).is_ok()) return;
  const int64_t total = out[static_cast<size_t>(axis)];
  int64_t offset = 0;
  for (size_t i = 0; i < c.in.size(); ++i) {
    const int64_t along = c.in[i]->shape[static_cast<size_t>(axis)];
    if (c.din[i])
      for (int64_t o = 0; o < outer; ++o) {
        const T* src = c.dout[0]->data() + (o * total + offset) * inner;
        T* dst = c.din[i]->data() + o * along * inner;
        for (int64_t j = 0; j < along * inner; ++j) dst[j] += src[j];
      }
    offset += along;
  }
}

namespace {
// Sizes of Split's outputs along the axis: the `split` input (constant), else `num_outputs` / the number
// of outputs, the last one smaller when the axis does not divide evenly (opset 18).
template <class T>
Result<std::vector<int64_t>> split_sizes(const OpCtx<T>& c, int64_t dim) {
  std::vector<int64_t> sizes;
  const size_t outputs = c.out.size();
  if (c.node.input(1) != ir::kNoValue) {
    const auto& k = c.graph.value(c.node.input(1)).constant;
    if (!k) return Status::unsupported("Split needs a constant 'split' input for training");
    sizes = k->to_int64_vector();
  } else {
    const int64_t parts = c.node.get_int("num_outputs", static_cast<int64_t>(outputs));
    const int64_t each = parts > 0 ? (dim + parts - 1) / parts : 0;
    for (int64_t i = 0; i < parts; ++i) sizes.push_back(std::max<int64_t>(0, std::min(each, dim - i * each)));
  }
  int64_t sum = 0;
  for (int64_t s : sizes) sum += s;
  if (sizes.size() != outputs || sum != dim)
    return Status::invalid_model(
        fmt::format("Split sizes do not match {} outputs over a dimension of {}", outputs, dim));
  return sizes;
}
}  // namespace

template <class T>
Status split_forward(OpCtx<T>& c) {
  VERGE_RETURN_IF_ERROR(need_float(c, 0));
  const Shape& s = c.in[0]->shape;
  int64_t axis = c.node.get_int("axis", 0), outer, inner;
  VERGE_RETURN_IF_ERROR(around_axis(s, axis, outer, inner));
  const int64_t dim = s[static_cast<size_t>(axis)];
  VERGE_ASSIGN_OR_RETURN(std::vector<int64_t> sizes, split_sizes(c, dim));
  int64_t offset = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    Shape os = s;
    os[static_cast<size_t>(axis)] = sizes[i];
    Buf<T> scratch;
    Buf<T>& y = c.out[i] ? *c.out[i] : scratch;
    y.resize(os);
    for (int64_t o = 0; o < outer; ++o)
      std::copy_n(c.in[0]->data() + (o * dim + offset) * inner, sizes[i] * inner,
                  y.data() + o * sizes[i] * inner);
    offset += sizes[i];
  }
  return Status::ok();
}

template <class T>
void split_backward(OpCtx<T>& c) {
  if (!c.din[0]) return;
  const Shape& s = c.in[0]->shape;
  int64_t axis = c.node.get_int("axis", 0), outer, inner;
  if (!around_axis(s, axis, outer, inner).is_ok()) return;
  const int64_t dim = s[static_cast<size_t>(axis)];
  const std::vector<int64_t> sizes = split_sizes(c, dim).value();
  int64_t offset = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (c.dout[i] && c.dout[i]->numel() == outer * sizes[i] * inner)
      for (int64_t o = 0; o < outer; ++o) {
        const T* src = c.dout[i]->data() + o * sizes[i] * inner;
        T* dst = c.din[0]->data() + (o * dim + offset) * inner;
        for (int64_t j = 0; j < sizes[i] * inner; ++j) dst[j] += src[j];
      }
    offset += sizes[i];
  }
}

namespace {
template <class T>
Result<std::vector<int64_t>> transpose_perm(const OpCtx<T>& c) {
  const auto r = static_cast<int64_t>(c.in[0]->shape.size());
  std::vector<int64_t> perm = c.node.get_ints("perm");
  if (perm.empty())
    for (int64_t i = r - 1; i >= 0; --i) perm.push_back(i);
  std::vector<bool> seen(static_cast<size_t>(r), false);
  if (static_cast<int64_t>(perm.size()) != r)
    return Status::invalid_model("Transpose perm length differs from the rank");
  for (int64_t& p : perm) {
    if (p < 0) p += r;
    if (p < 0 || p >= r || seen[static_cast<size_t>(p)])
      return Status::invalid_model("Transpose perm is not a permutation");
    seen[static_cast<size_t>(p)] = true;
  }
  return perm;
}
// Calls f(out_index, in_index) for every element.
template <class F>
void for_each_transposed(const Shape& in, const std::vector<int64_t>& perm, F&& f) {
  const size_t r = in.size();
  std::vector<int64_t> in_strides(r, 1), out_dims(r), step(r);
  for (size_t d = r; d-- > 1;) in_strides[d - 1] = in_strides[d] * in[d];
  for (size_t d = 0; d < r; ++d)
    out_dims[d] = in[static_cast<size_t>(perm[d])], step[d] = in_strides[static_cast<size_t>(perm[d])];
  std::vector<int64_t> idx(r, 0);
  int64_t src = 0;
  const int64_t n = shape_numel(in);
  for (int64_t i = 0; i < n; ++i) {
    f(i, src);
    for (size_t d = r; d-- > 0;) {
      ++idx[d];
      src += step[d];
      if (idx[d] < out_dims[d]) break;
      src -= step[d] * out_dims[d];
      idx[d] = 0;
    }
  }
}
}  // namespace

template <class T>
Status transpose_forward(OpCtx<T>& c) {
  VERGE_RETURN_IF_ERROR(need_float(c, 0));
  VERGE_ASSIGN_OR_RETURN(std::vector<int64_t> perm, transpose_perm(c));
  const Shape& s = c.in[0]->shape;
  Shape out(s.size());
  for (size_t d = 0; d < s.size(); ++d) out[d] = s[static_cast<size_t>(perm[d])];
  c.out[0]->resize(out);
  for_each_transposed(s, perm, [&](int64_t o, int64_t i) { c.out[0]->v[o] = c.in[0]->v[i]; });
  return Status::ok();
}

template <class T>
void transpose_backward(OpCtx<T>& c) {
  if (!c.din[0]) return;
  const std::vector<int64_t> perm = transpose_perm(c).value();
  for_each_transposed(c.in[0]->shape, perm, [&](int64_t o, int64_t i) { c.din[0]->v[i] += c.dout[0]->v[o]; });
}

// ---- ConvTranspose (2-D): group, strides, pads, dilations, output_padding. For each image and group,
// col[Mg*kh*kw, H*W] = W_g^T x_g, then scattered into Y (the transpose of Conv's im2col). ----

namespace {
struct Deconv2d {
  int64_t n, c, h, w, m, groups, kh, kw, oh, ow, sh, sw, dh, dw, pt, pl;
  int64_t cg() const { return c / groups; }
  int64_t mg() const { return m / groups; }
  int64_t kdim() const { return mg() * kh * kw; }
};
template <class T>
Result<Deconv2d> deconv_shape(const OpCtx<T>& c) {
  VERGE_RETURN_IF_ERROR(need_float(c, 0));
  VERGE_RETURN_IF_ERROR(need_float(c, 1));
  const Shape &x = c.in[0]->shape, &wt = c.in[1]->shape;
  if (x.size() != 4 || wt.size() != 4)
    return Status::unsupported("ConvTranspose: training supports 2-D (rank-4) inputs and weights only");
  if (c.node.get_string("auto_pad", "NOTSET") != "NOTSET")
    return Status::unsupported("ConvTranspose auto_pad is not supported in training (give explicit pads)");
  if (!c.node.get_ints("output_shape").empty())
    return Status::unsupported(
        "ConvTranspose output_shape is not supported in training (give pads/output_padding)");
  Deconv2d g{};
  g.n = x[0], g.c = x[1], g.h = x[2], g.w = x[3], g.kh = wt[2], g.kw = wt[3];
  g.groups = c.node.get_int("group", 1);
  if (g.groups < 1 || wt[0] != g.c || g.c % g.groups)
    return Status::invalid_model(fmt::format("ConvTranspose weights {} do not match input {} with group {}",
                                             shape_to_string(wt), shape_to_string(x), g.groups));
  g.m = wt[1] * g.groups;
  const auto ints = [&](const char* name, std::vector<int64_t> def) {
    std::vector<int64_t> v = c.node.get_ints(name);
    return v.empty() ? def : v;
  };
  const std::vector<int64_t> st = ints("strides", {1, 1}), dl = ints("dilations", {1, 1}),
                             pads = ints("pads", {0, 0, 0, 0}), op = ints("output_padding", {0, 0});
  const std::vector<int64_t> ks = ints("kernel_shape", {g.kh, g.kw});
  if (st.size() != 2 || dl.size() != 2 || pads.size() != 4 || op.size() != 2 ||
      ks != std::vector<int64_t>{g.kh, g.kw})
    return Status::invalid_model(
        "ConvTranspose strides/dilations/pads/output_padding/kernel_shape do not fit 2-D");
  g.sh = st[0], g.sw = st[1], g.dh = dl[0], g.dw = dl[1], g.pt = pads[0], g.pl = pads[1];
  if (g.sh < 1 || g.sw < 1 || g.dh < 1 || g.dw < 1 || op[0] < 0 || op[1] < 0 ||
      op[0] >= std::max(g.sh, g.dh) || op[1] >= std::max(g.sw, g.dw))
    return Status::invalid_model(
        "ConvTranspose strides/dilations must be >= 1 and output_padding < stride or dilation");
  g.oh = (g.h - 1) * g.sh - pads[0] - pads[2] + g.dh * (g.kh - 1) + 1 + op[0];
  g.ow = (g.w - 1) * g.sw - pads[1] - pads[3] + g.dw * (g.kw - 1) + 1 + op[1];
  if (g.oh < 1 || g.ow < 1) return Status::invalid_model("ConvTranspose output would be empty");
  if (c.in.size() > 2 && c.in[2] && c.in[2]->numel() != g.m)
    return Status::invalid_model("ConvTranspose bias size differs from the output channels");
  return g;
}
// col[(mo*kh + ki)*kw + kj][iy*w + ix] <-> y[mo][iy*sh - pt + ki*dh][ix*sw - pl + kj*dw] (outside Y:
// dropped). kScatter: y += col; else col = y (gather, for the backward).
template <class T, bool kScatter>
void deconv_cols(const Deconv2d& g, T* y, T* col) {
  for (int64_t mo = 0; mo < g.mg(); ++mo)
    for (int64_t ki = 0; ki < g.kh; ++ki)
      for (int64_t kj = 0; kj < g.kw; ++kj) {
        T* row = col + ((mo * g.kh + ki) * g.kw + kj) * g.h * g.w;
        for (int64_t iy = 0; iy < g.h; ++iy) {
          const int64_t oy = iy * g.sh - g.pt + ki * g.dh;
          for (int64_t ix = 0; ix < g.w; ++ix) {
            const int64_t ox = ix * g.sw - g.pl + kj * g.dw;
            const bool inside = oy >= 0 && oy < g.oh && ox >= 0 && ox < g.ow;
            if constexpr (kScatter) {
              if (inside) y[(mo * g.oh + oy) * g.ow + ox] += row[iy * g.w + ix];
            } else {
              row[iy * g.w + ix] = inside ? y[(mo * g.oh + oy) * g.ow + ox] : T(0);
            }
          }
        }
      }
}
}  // namespace

template <class T>
Status conv_transpose_forward(OpCtx<T>& c) {
  VERGE_ASSIGN_OR_RETURN(Deconv2d g, deconv_shape(c));
  c.out[0]->resize({g.n, g.m, g.oh, g.ow});
  const T *x = c.in[0]->data(), *w = c.in[1]->data();
  const T* bias = c.in.size() > 2 && c.in[2] ? c.in[2]->data() : nullptr;
  T* y = c.out[0]->data();
  std::vector<T> col(static_cast<size_t>(g.kdim() * g.h * g.w));
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t gi = 0; gi < g.groups; ++gi) {
      std::fill(col.begin(), col.end(), T(0));
      matmul_acc<T>(true, false, g.kdim(), g.h * g.w, g.cg(), w + gi * g.cg() * g.kdim(),
                    x + (n * g.c + gi * g.cg()) * g.h * g.w, col.data(), c.pool);
      T* yg = y + (n * g.m + gi * g.mg()) * g.oh * g.ow;
      deconv_cols<T, true>(g, yg, col.data());
      if (bias)
        for (int64_t o = 0; o < g.mg(); ++o)
          for (int64_t i = 0; i < g.oh * g.ow; ++i) yg[o * g.oh * g.ow + i] += bias[gi * g.mg() + o];
    }
  return Status::ok();
}

template <class T>
void conv_transpose_backward(OpCtx<T>& c) {
  const Deconv2d g = deconv_shape(c).value();  // forward validated the same inputs
  const T *x = c.in[0]->data(), *w = c.in[1]->data(), *dy = c.dout[0]->data();
  T* dx = c.din[0] ? c.din[0]->data() : nullptr;
  T* dw = c.din[1] ? c.din[1]->data() : nullptr;
  T* db = c.din.size() > 2 && c.din[2] ? c.din[2]->data() : nullptr;
  std::vector<T> col(static_cast<size_t>(g.kdim() * g.h * g.w));
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t gi = 0; gi < g.groups; ++gi) {
      const T* dyg = dy + (n * g.m + gi * g.mg()) * g.oh * g.ow;
      deconv_cols<T, false>(g, const_cast<T*>(dyg), col.data());
      const int64_t xoff = (n * g.c + gi * g.cg()) * g.h * g.w;
      if (dx)  // dX_g += W_g [Cg, kdim] col [kdim, HW]
        matmul_acc<T>(false, false, g.cg(), g.h * g.w, g.kdim(), w + gi * g.cg() * g.kdim(), col.data(),
                      dx + xoff, c.pool);
      if (dw)  // dW_g += X_g [Cg, HW] col^T
        matmul_acc<T>(false, true, g.cg(), g.kdim(), g.h * g.w, x + xoff, col.data(),
                      dw + gi * g.cg() * g.kdim(), c.pool);
    }
  if (db)
    for (int64_t n = 0; n < g.n; ++n)
      for (int64_t o = 0; o < g.m; ++o)
        for (int64_t i = 0; i < g.oh * g.ow; ++i) db[o] += dy[(n * g.m + o) * g.oh * g.ow + i];
}

#define VERGE_INSTANTIATE_GRAD(Fwd, Bwd)       \
  template Status Fwd<float>(OpCtx<float>&);   \
  template Status Fwd<double>(OpCtx<double>&); \
  template void Bwd<float>(OpCtx<float>&);     \
  template void Bwd<double>(OpCtx<double>&);
VERGE_GRAD_NN_FUNCTIONS(VERGE_INSTANTIATE_GRAD)
#undef VERGE_INSTANTIATE_GRAD

}  // namespace verge::train
