#include "train/grad_ops.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/thread_pool.h"
#include "ir/conv_geometry.h"
#include "train/broadcast.h"
#include "train/conv2d.h"
#include "train/fake_quant.h"
#include "train/gemm_train.h"
#include "train/grad_ops_nn.h"

namespace verge::train {
namespace {

template <class T>
Status need_rank(const OpCtx<T>& c, size_t i, int rank) {
  if (i >= c.in.size() || !c.in[i])
    return Status::unsupported(fmt::format("input {} is missing or not float", i));
  if (static_cast<int>(c.in[i]->shape.size()) != rank)
    return Status::unsupported(
        fmt::format("input {} has rank {}; training supports rank {} only", i, c.in[i]->shape.size(), rank));
  return Status::ok();
}

// Elementwise loops split over the pool in ranges of at least this many elements.
constexpr int64_t kElementGrain = 16384;

using bcast::broadcast_shape;
using bcast::for_each_broadcast;

// ---- elementwise ----

// Elementwise loops on restrict pointers, so the compiler vectorizes them.
template <class T>
void relu_rows(const T* __restrict x, T* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] > T(0) ? x[i] : T(0);
}
template <class T>
void relu_grad_rows(const T* __restrict x, const T* __restrict dy, T* __restrict dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const T g = dy[i], v = x[i];  // loaded unconditionally, or GCC keeps a branch
    dx[i] = dx[i] + (v > T(0) ? g : T(0));
  }
}
template <class T>
void add_rows(const T* __restrict a, T* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += a[i];
}

template <class T>
Status relu_forward(OpCtx<T>& c) {
  if (!c.in[0]) return Status::unsupported("input is not float");
  const Buf<T>& x = *c.in[0];
  c.out[0]->resize_for_overwrite(x.shape);
  T* y = c.out[0]->data();
  parallel_for(c.pool, x.numel(), kElementGrain,
               [&](int64_t i0, int64_t i1) { relu_rows(x.data() + i0, y + i0, i1 - i0); });
  return Status::ok();
}
template <class T>
void relu_backward(OpCtx<T>& c) {
  if (!c.din[0]) return;
  const T *x = c.in[0]->data(), *dy = c.dout[0]->data();
  T* dx = c.din[0]->data();
  parallel_for(c.pool, c.in[0]->numel(), kElementGrain,
               [&](int64_t i0, int64_t i1) { relu_grad_rows(x + i0, dy + i0, dx + i0, i1 - i0); });
}

template <class T, bool kMul>
Status binary_forward(OpCtx<T>& c) {
  if (!c.in[0] || !c.in[1]) return Status::unsupported("inputs must be float");
  const Buf<T>&a = *c.in[0], &b = *c.in[1];
  VERGE_ASSIGN_OR_RETURN(Shape out, broadcast_shape(a.shape, b.shape));
  c.out[0]->resize(out);
  T* y = c.out[0]->data();
  for_each_broadcast(out, a.shape, b.shape, [&](int64_t i, int64_t ia, int64_t ib) {
    y[i] = kMul ? a.v[ia] * b.v[ib] : a.v[ia] + b.v[ib];
  });
  return Status::ok();
}
template <class T, bool kMul>
void binary_backward(OpCtx<T>& c) {
  const Buf<T>&a = *c.in[0], &b = *c.in[1];
  const T* dy = c.dout[0]->data();
  T* da = c.din[0] ? c.din[0]->data() : nullptr;
  T* db = c.din[1] ? c.din[1]->data() : nullptr;
  for_each_broadcast(c.out[0]->shape, a.shape, b.shape, [&](int64_t i, int64_t ia, int64_t ib) {
    if (da) da[ia] += kMul ? dy[i] * b.v[ib] : dy[i];
    if (db) db[ib] += kMul ? dy[i] * a.v[ia] : dy[i];
  });
}
template <class T>
Status add_forward(OpCtx<T>& c) {
  return binary_forward<T, false>(c);
}
template <class T>
void add_backward(OpCtx<T>& c) {
  binary_backward<T, false>(c);
}
template <class T>
Status mul_forward(OpCtx<T>& c) {
  return binary_forward<T, true>(c);
}
template <class T>
void mul_backward(OpCtx<T>& c) {
  binary_backward<T, true>(c);
}

// ---- shape ops ----

template <class T>
Status flatten_forward(OpCtx<T>& c) {
  if (!c.in[0]) return Status::unsupported("input is not float");
  const Shape& s = c.in[0]->shape;
  int64_t axis = c.node.get_int("axis", 1);
  if (axis < 0) axis += static_cast<int64_t>(s.size());
  if (axis < 0 || axis > static_cast<int64_t>(s.size()))
    return Status::invalid_model("Flatten axis out of range");
  int64_t outer = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= s[static_cast<size_t>(i)];
  c.out[0]->shape = {outer, outer ? c.in[0]->numel() / outer : 0};
  c.out[0]->v = c.in[0]->v;
  return Status::ok();
}
template <class T>
Status reshape_forward(OpCtx<T>& c) {
  if (!c.in[0]) return Status::unsupported("input is not float");
  const auto& shape_const = c.graph.value(c.node.input(1)).constant;
  if (!shape_const) return Status::unsupported("Reshape needs a constant shape input for training");
  const Shape& s = c.in[0]->shape;
  Shape out = shape_const->to_int64_vector();
  const bool allow_zero = c.node.get_int("allowzero", 0) != 0;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == 0 && !allow_zero) {
      if (i >= s.size()) return Status::invalid_model("Reshape copies a dimension the input does not have");
      out[i] = s[i];
    }
    if (out[i] == -1) {
      if (infer >= 0) return Status::invalid_model("Reshape shape has more than one -1");
      infer = static_cast<int64_t>(i);
    } else if (out[i] < 0) {
      return Status::invalid_model("Reshape shape has a negative dimension");
    } else {
      known *= out[i];
    }
  }
  if (infer >= 0) out[static_cast<size_t>(infer)] = known ? c.in[0]->numel() / known : 0;
  if (shape_numel(out) != c.in[0]->numel())
    return Status::invalid_model(
        fmt::format("cannot reshape {} to {}", shape_to_string(s), shape_to_string(out)));
  c.out[0]->shape = out;
  c.out[0]->v = c.in[0]->v;
  return Status::ok();
}
template <class T>
void reshape_backward(OpCtx<T>& c) {
  if (!c.din[0]) return;
  const T* dy = c.dout[0]->data();
  T* dx = c.din[0]->data();
  parallel_for(c.pool, c.din[0]->numel(), kElementGrain,
               [&](int64_t i0, int64_t i1) { add_rows(dy + i0, dx + i0, i1 - i0); });
}

// ---- softmax family: [outer, axis, inner] view ----

template <class T>
Status axis_view(const OpCtx<T>& c, int64_t& outer, int64_t& dim, int64_t& inner) {
  if (!c.in[0]) return Status::unsupported("input is not float");
  const Shape& s = c.in[0]->shape;
  int64_t axis = c.node.get_int("axis", -1);
  if (axis < 0) axis += static_cast<int64_t>(s.size());
  if (axis < 0 || axis >= static_cast<int64_t>(s.size()))
    return Status::invalid_model("softmax axis out of range");
  outer = inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= s[static_cast<size_t>(i)];
  for (size_t i = static_cast<size_t>(axis) + 1; i < s.size(); ++i) inner *= s[i];
  dim = s[static_cast<size_t>(axis)];
  return Status::ok();
}
template <class T, bool kLog>
Status softmax_fwd(OpCtx<T>& c) {
  int64_t outer, dim, inner;
  VERGE_RETURN_IF_ERROR(axis_view(c, outer, dim, inner));
  c.out[0]->resize(c.in[0]->shape);
  const T* x = c.in[0]->data();
  T* y = c.out[0]->data();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      const int64_t base = o * dim * inner + i;
      T mx = -std::numeric_limits<T>::infinity();
      for (int64_t d = 0; d < dim; ++d) mx = std::max(mx, x[base + d * inner]);
      T sum = 0;
      for (int64_t d = 0; d < dim; ++d) sum += std::exp(x[base + d * inner] - mx);
      for (int64_t d = 0; d < dim; ++d) {
        const T z = x[base + d * inner] - mx;
        y[base + d * inner] = kLog ? z - std::log(sum) : std::exp(z) / sum;
      }
    }
  return Status::ok();
}
template <class T, bool kLog>
void softmax_bwd(OpCtx<T>& c) {
  if (!c.din[0]) return;
  int64_t outer, dim, inner;
  if (!axis_view(c, outer, dim, inner).is_ok()) return;
  const T *y = c.out[0]->data(), *dy = c.dout[0]->data();
  T* dx = c.din[0]->data();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      const int64_t base = o * dim * inner + i;
      T s = 0;
      for (int64_t d = 0; d < dim; ++d)
        s += kLog ? dy[base + d * inner] : dy[base + d * inner] * y[base + d * inner];
      for (int64_t d = 0; d < dim; ++d) {
        const int64_t k = base + d * inner;
        dx[k] += kLog ? dy[k] - std::exp(y[k]) * s : y[k] * (dy[k] - s);
      }
    }
}
template <class T>
Status softmax_forward(OpCtx<T>& c) {
  return softmax_fwd<T, false>(c);
}
template <class T>
void softmax_backward(OpCtx<T>& c) {
  softmax_bwd<T, false>(c);
}
template <class T>
Status log_softmax_forward(OpCtx<T>& c) {
  return softmax_fwd<T, true>(c);
}
template <class T>
void log_softmax_backward(OpCtx<T>& c) {
  softmax_bwd<T, true>(c);
}

// ---- Gemm: Y = alpha * op(A) op(B) + beta * C ----

template <class T>
Status gemm_forward(OpCtx<T>& c) {
  VERGE_RETURN_IF_ERROR(need_rank(c, 0, 2));
  VERGE_RETURN_IF_ERROR(need_rank(c, 1, 2));
  const bool ta = c.node.get_int("transA", 0), tb = c.node.get_int("transB", 0);
  const Buf<T>&a = *c.in[0], &b = *c.in[1];
  const int64_t m = ta ? a.shape[1] : a.shape[0], k = ta ? a.shape[0] : a.shape[1];
  const int64_t kb = tb ? b.shape[1] : b.shape[0], n = tb ? b.shape[0] : b.shape[1];
  if (k != kb) return Status::invalid_model(fmt::format("Gemm inner dimensions differ ({} vs {})", k, kb));
  c.out[0]->resize({m, n});
  T* y = c.out[0]->data();
  matmul_acc<T>(ta, tb, m, n, k, a.data(), b.data(), y, c.pool);
  const T alpha = static_cast<T>(c.node.get_float("alpha", 1.f)),
          beta = static_cast<T>(c.node.get_float("beta", 1.f));
  if (alpha != T(1))
    for (T& v : c.out[0]->v) v *= alpha;
  if (c.in.size() > 2 && c.in[2]) {
    VERGE_ASSIGN_OR_RETURN(Shape bs, broadcast_shape(c.out[0]->shape, c.in[2]->shape));
    if (bs != c.out[0]->shape) return Status::invalid_model("Gemm C does not broadcast to [M, N]");
    const T* cv = c.in[2]->data();
    for_each_broadcast(c.out[0]->shape, c.out[0]->shape, c.in[2]->shape,
                       [&](int64_t i, int64_t, int64_t ic) { y[i] += beta * cv[ic]; });
  }
  return Status::ok();
}
template <class T>
void gemm_backward(OpCtx<T>& c) {
  const bool ta = c.node.get_int("transA", 0), tb = c.node.get_int("transB", 0);
  const Buf<T>&a = *c.in[0], &b = *c.in[1];
  const int64_t m = c.out[0]->shape[0], n = c.out[0]->shape[1], k = ta ? a.shape[0] : a.shape[1];
  const T alpha = static_cast<T>(c.node.get_float("alpha", 1.f)),
          beta = static_cast<T>(c.node.get_float("beta", 1.f));
  std::vector<T> scaled;
  const T* dy = c.dout[0]->data();
  if (alpha != T(1)) {
    scaled = c.dout[0]->v;
    for (T& v : scaled) v *= alpha;
    dy = scaled.data();
  }
  if (c.din[0]) {
    if (!ta)
      matmul_acc<T>(false, !tb, m, k, n, dy, b.data(), c.din[0]->data(), c.pool);  // dY op(B)^T
    else
      matmul_acc<T>(tb, true, k, m, n, b.data(), dy, c.din[0]->data(), c.pool);  // op(B) dY^T
  }
  if (c.din[1]) {
    if (!tb)
      matmul_acc<T>(!ta, false, k, n, m, a.data(), dy, c.din[1]->data(), c.pool);  // op(A)^T dY
    else
      matmul_acc<T>(true, ta, n, k, m, dy, a.data(), c.din[1]->data(), c.pool);  // dY^T op(A)
  }
  if (c.in.size() > 2 && c.in[2] && c.din[2]) {
    T* dc = c.din[2]->data();
    const T* g = c.dout[0]->data();
    for_each_broadcast(c.out[0]->shape, c.out[0]->shape, c.in[2]->shape,
                       [&](int64_t i, int64_t, int64_t ic) { dc[ic] += beta * g[i]; });
  }
}

// ---- Conv (2-D, groups, stride, pad, dilation) as im2col + GEMM per image and group ----

template <class T>
Result<Conv2d> conv_shape(const OpCtx<T>& c) {
  VERGE_RETURN_IF_ERROR(need_rank(c, 0, 4));
  VERGE_RETURN_IF_ERROR(need_rank(c, 1, 4));
  const Shape &x = c.in[0]->shape, &wt = c.in[1]->shape;
  Conv2d g{};
  g.n = x[0], g.c = x[1], g.h = x[2], g.w = x[3], g.m = wt[0], g.kh = wt[2], g.kw = wt[3];
  g.groups = c.node.get_int("group", 1);
  if (g.groups < 1 || g.c % g.groups || g.m % g.groups || wt[1] != g.c / g.groups)
    return Status::invalid_model(fmt::format("Conv weights {} do not match input {} with group {}",
                                             shape_to_string(wt), shape_to_string(x), g.groups));
  const int64_t in_sp[2] = {g.h, g.w}, k_sp[2] = {g.kh, g.kw};
  VERGE_ASSIGN_OR_RETURN(ConvGeometry geo, conv_geometry(c.node, in_sp, k_sp));
  g.oh = geo.out[0], g.ow = geo.out[1], g.sh = geo.strides[0], g.sw = geo.strides[1];
  g.dh = geo.dilations[0], g.dw = geo.dilations[1], g.pt = geo.pads_begin[0], g.pl = geo.pads_begin[1];
  if (c.in.size() > 2 && c.in[2] && c.in[2]->numel() != g.m)
    return Status::invalid_model("Conv bias size differs from M");
  return g;
}

template <class T>
Status conv_forward(OpCtx<T>& c) {
  VERGE_ASSIGN_OR_RETURN(Conv2d g, conv_shape(c));
  if constexpr (std::is_same_v<T, float>)
    c.out[0]->resize_for_overwrite({g.n, g.m, g.oh, g.ow});
  else
    c.out[0]->resize({g.n, g.m, g.oh, g.ow});
  const T* x = c.in[0]->data();
  const T* w = c.in[1]->data();
  const T* bias = c.in.size() > 2 && c.in[2] ? c.in[2]->data() : nullptr;
  T* y = c.out[0]->data();
  if constexpr (std::is_same_v<T, float>) {
    conv2d_forward_f32(g, x, w, bias, y, c.pool);
    return Status::ok();
  }
  parallel_for(c.pool, g.n, 1, [&](int64_t n0, int64_t n1) {
    std::vector<T> col(static_cast<size_t>(g.kdim() * g.p()));
    for (int64_t n = n0; n < n1; ++n)
      for (int64_t gi = 0; gi < g.groups; ++gi) {
        im2col<T, false>(g, const_cast<T*>(x) + (n * g.c + gi * g.cg()) * g.h * g.w, col.data(), g.p());
        T* yg = y + (n * g.m + gi * g.mg()) * g.p();
        if (bias)
          for (int64_t o = 0; o < g.mg(); ++o) std::fill_n(yg + o * g.p(), g.p(), bias[gi * g.mg() + o]);
        matmul_acc<T>(false, false, g.mg(), g.p(), g.kdim(), w + gi * g.mg() * g.kdim(), col.data(), yg,
                      nullptr);
      }
  });
  return Status::ok();
}

template <class T>
void conv_backward(OpCtx<T>& c) {
  const Conv2d g = conv_shape(c).value();  // forward validated the same inputs
  const T* x = c.in[0]->data();
  const T* w = c.in[1]->data();
  const T* dy = c.dout[0]->data();
  T* dx = c.din[0] ? c.din[0]->data() : nullptr;
  T* dw = c.din[1] ? c.din[1]->data() : nullptr;
  T* db = c.din.size() > 2 && c.din[2] ? c.din[2]->data() : nullptr;
  if constexpr (std::is_same_v<T, float>) {
    conv2d_backward_f32(g, x, w, dy, dx, dw, db, c.pool);
    return;
  }
  std::mutex mu;
  parallel_for(c.pool, g.n, 1, [&](int64_t n0, int64_t n1) {
    std::vector<T> col(static_cast<size_t>(g.kdim() * g.p())), dw_local(dw ? c.in[1]->v.size() : 0);
    for (int64_t n = n0; n < n1; ++n)
      for (int64_t gi = 0; gi < g.groups; ++gi) {
        const T* dyg = dy + (n * g.m + gi * g.mg()) * g.p();
        const size_t xoff = static_cast<size_t>((n * g.c + gi * g.cg()) * g.h * g.w);
        if (dw) {
          im2col<T, false>(g, const_cast<T*>(x) + xoff, col.data(), g.p());
          matmul_acc<T>(false, true, g.mg(), g.kdim(), g.p(), dyg, col.data(),
                        dw_local.data() + gi * g.mg() * g.kdim(), nullptr);
        }
        if (dx) {
          std::fill(col.begin(), col.end(), T(0));
          matmul_acc<T>(true, false, g.kdim(), g.p(), g.mg(), w + gi * g.mg() * g.kdim(), dyg, col.data(),
                        nullptr);
          im2col<T, true>(g, dx + xoff, col.data(), g.p());
        }
      }
    if (dw) {
      std::lock_guard lock(mu);
      for (size_t i = 0; i < dw_local.size(); ++i) dw[i] += dw_local[i];
    }
  });
  if (db)
    for (int64_t n = 0; n < g.n; ++n)
      for (int64_t o = 0; o < g.m; ++o) {
        const T* d = dy + (n * g.m + o) * g.p();
        T s = 0;
        for (int64_t i = 0; i < g.p(); ++i) s += d[i];
        db[o] += s;
      }
}

// ---- MaxPool (2-D); saved = flat input index of each output's maximum (-1: window all padding) ----

template <class T>
Status maxpool_forward(OpCtx<T>& c) {
  VERGE_RETURN_IF_ERROR(need_rank(c, 0, 4));
  if (c.node.output(1) != ir::kNoValue)
    return Status::unsupported("MaxPool Indices output is not supported in training");
  const Shape& s = c.in[0]->shape;
  const int64_t in_sp[2] = {s[2], s[3]};
  VERGE_ASSIGN_OR_RETURN(ConvGeometry geo,
                         conv_geometry(c.node, in_sp, {}, c.node.get_int("ceil_mode", 0) != 0));
  const int64_t planes = s[0] * s[1], h = s[2], w = s[3], oh = geo.out[0], ow = geo.out[1];
  c.out[0]->resize_for_overwrite({s[0], s[1], oh, ow});
  c.saved.resize(static_cast<size_t>(planes * oh * ow));  // every element is written below
  const T* x = c.in[0]->data();
  T* y = c.out[0]->data();
  int64_t* saved = c.saved.data();
  // Kernel taps [lo, hi) inside the input, per output row and per output column.
  auto taps = [](int64_t out, int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t dil) {
    std::vector<std::pair<int64_t, int64_t>> r(static_cast<size_t>(out));
    for (int64_t o = 0; o < out; ++o) {
      int64_t lo = 0, hi = k;
      while (lo < k && o * stride - pad + lo * dil < 0) ++lo;
      while (hi > lo && o * stride - pad + (hi - 1) * dil >= in) --hi;
      r[static_cast<size_t>(o)] = {lo, hi};
    }
    return r;
  };
  const auto rows = taps(oh, h, geo.kernel[0], geo.strides[0], geo.pads_begin[0], geo.dilations[0]);
  const auto cols = taps(ow, w, geo.kernel[1], geo.strides[1], geo.pads_begin[1], geo.dilations[1]);
  const int64_t sh = geo.strides[0], sw = geo.strides[1], ph = geo.pads_begin[0], pw = geo.pads_begin[1];
  const int64_t dh = geo.dilations[0], dw = geo.dilations[1];
  bool k2x2 = geo.kernel[0] == 2 && geo.kernel[1] == 2 && dh == 1 && dw == 1;
  for (const auto& [lo, hi] : rows) k2x2 = k2x2 && lo == 0 && hi == 2;
  for (const auto& [lo, hi] : cols) k2x2 = k2x2 && lo == 0 && hi == 2;
  parallel_for(c.pool, planes, 4, [&](int64_t p0, int64_t p1) {
    const T* xs = x;  // locals: stores through y and saved cannot change them
    T* ys = y;
    int64_t* ss = saved;
    if (k2x2) {  // every window is 2x2 inside the image: four taps in scan order, branch-free
      for (int64_t p = p0; p < p1; ++p)
        for (int64_t oy = 0; oy < oh; ++oy) {
          const int64_t r0 = (p * h + oy * sh - ph) * w - pw;
          T* yo = ys + (p * oh + oy) * ow;
          int64_t* so = ss + (p * oh + oy) * ow;
          for (int64_t ox = 0; ox < ow; ++ox) {
            int64_t arg = r0 + ox * sw;
            T best = xs[arg];
            for (const int64_t at : {arg + 1, arg + w, arg + w + 1}) {
              const T v = xs[at];
              const bool greater = v > best;
              best = greater ? v : best;
              arg = greater ? at : arg;
            }
            yo[ox] = best;
            so[ox] = arg;
          }
        }
      return;
    }
    for (int64_t p = p0; p < p1; ++p)
      for (int64_t oy = 0; oy < oh; ++oy) {
        const auto [ki0, ki1] = rows[static_cast<size_t>(oy)];
        for (int64_t ox = 0; ox < ow; ++ox) {
          const auto [kj0, kj1] = cols[static_cast<size_t>(ox)];
          const int64_t base = (p * h + oy * sh - ph) * w + ox * sw - pw;
          T best = T(0);
          int64_t arg = -1;
          if (ki0 < ki1 && kj0 < kj1) {  // first tap, then strictly greater ones (branch-free selects)
            arg = base + ki0 * dh * w + kj0 * dw;
            best = xs[arg];
            for (int64_t ki = ki0; ki < ki1; ++ki)
              for (int64_t kj = kj0; kj < kj1; ++kj) {
                const int64_t at = base + ki * dh * w + kj * dw;
                const T v = xs[at];
                const bool greater = v > best;
                best = greater ? v : best;
                arg = greater ? at : arg;
              }
          }
          const int64_t o = (p * oh + oy) * ow + ox;
          ys[o] = best;  // 0 when the window is all padding
          ss[o] = arg;
        }
      }
  });
  return Status::ok();
}
template <class T>
void maxpool_backward(OpCtx<T>& c) {
  if (!c.din[0]) return;
  const T* dy = c.dout[0]->data();
  T* dx = c.din[0]->data();
  const Shape& s = c.out[0]->shape;  // a plane's maxima all lie in the same input plane
  const int64_t per_plane = s[2] * s[3];
  const int64_t* saved = c.saved.data();
  parallel_for(c.pool, s[0] * s[1], 4, [&](int64_t p0, int64_t p1) {
    const int64_t* at = saved;
    const T* g = dy;
    T* d = dx;
    for (int64_t o = p0 * per_plane; o < p1 * per_plane; ++o)
      if (at[o] >= 0) d[at[o]] += g[o];
  });
}

template <class T>
struct Table {
  GradRule<T> rules[kOpCount] = {};
  bool has[kOpCount] = {};
  Table() {
#define VERGE_GRAD(Op, Fwd, Bwd)                             \
  rules[static_cast<size_t>(OpId::Op)] = {&Fwd<T>, &Bwd<T>}; \
  has[static_cast<size_t>(OpId::Op)] = true;
#include "train/grad_ops.def"
#undef VERGE_GRAD
  }
};

}  // namespace

template <class T>
void matmul_acc(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const T* a, const T* b, T* c,
                ThreadPool* pool) {
  if constexpr (std::is_same_v<T, float>) {
    sgemm(pool, trans_a, trans_b, m, n, k, 1.f, a, trans_a ? m : k, b, trans_b ? k : n, c, n, true);
    return;
  }
  std::vector<T> bt;
  if (trans_b) {  // make B [K, N] so the inner loop runs over contiguous columns
    bt.resize(static_cast<size_t>(k * n));
    for (int64_t j = 0; j < n; ++j)
      for (int64_t p = 0; p < k; ++p) bt[static_cast<size_t>(p * n + j)] = b[j * k + p];
    b = bt.data();
  }
  const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, n * k));
  parallel_for(pool, m, grain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      T* ci = c + i * n;
      for (int64_t p = 0; p < k; ++p) {
        const T av = trans_a ? a[p * m + i] : a[i * k + p];
        if (av == T(0)) continue;
        const T* bp = b + p * n;
        for (int64_t j = 0; j < n; ++j) ci[j] += av * bp[j];
      }
    }
  });
}

template <class T>
const GradRule<T>* grad_rule(OpId op) {
  static const Table<T> table;
  const auto i = static_cast<size_t>(op);
  return i < kOpCount && table.has[i] ? &table.rules[i] : nullptr;
}

template void matmul_acc<float>(bool, bool, int64_t, int64_t, int64_t, const float*, const float*, float*,
                                ThreadPool*);
template void matmul_acc<double>(bool, bool, int64_t, int64_t, int64_t, const double*, const double*, double*,
                                 ThreadPool*);
template const GradRule<float>* grad_rule<float>(OpId);
template const GradRule<double>* grad_rule<double>(OpId);

}  // namespace verge::train
