#include "train/grad_ops_nn.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "ir/conv_geometry.h"

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

#define VERGE_INSTANTIATE_GRAD(Fwd, Bwd)       \
  template Status Fwd<float>(OpCtx<float>&);   \
  template Status Fwd<double>(OpCtx<double>&); \
  template void Bwd<float>(OpCtx<float>&);     \
  template void Bwd<double>(OpCtx<double>&);
VERGE_GRAD_NN_FUNCTIONS(VERGE_INSTANTIATE_GRAD)
#undef VERGE_INSTANTIATE_GRAD

}  // namespace verge::train
