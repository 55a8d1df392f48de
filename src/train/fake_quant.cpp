#include "train/fake_quant.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "kernels/ref/quant_math.h"
#include "quantize/calibrate.h"

namespace verge::train {
namespace {

struct QdqParams {
  float scale = 1;
  int32_t zp = 0, qmin = 0, qmax = 255;
};

// Per-tensor scale (input 1, a float constant fed as a Buf) and zero point (input 2, an integer constant
// read from the graph; absent = uint8 0).
template <class T>
Result<QdqParams> qdq_params(const OpCtx<T>& c) {
  QdqParams p;
  if (c.in.size() < 2 || !c.in[1] || c.in[1]->numel() != 1)
    return Status::unsupported("training supports per-tensor float scales only");
  p.scale = static_cast<float>(c.in[1]->v[0]);
  if (c.node.input(2) != ir::kNoValue) {
    const auto& zp = c.graph.value(c.node.input(2)).constant;
    if (!zp || zp->numel() != 1 || (zp->dtype() != DType::kUInt8 && zp->dtype() != DType::kInt8))
      return Status::unsupported("training supports a constant scalar uint8/int8 zero point only");
    p.zp = static_cast<int32_t>(zp->get_as_double(0));
    if (zp->dtype() == DType::kInt8) p.qmin = -128, p.qmax = 127;
  }
  if (!(p.scale > 0) || !std::isfinite(p.scale)) return Status::invalid_model("scale must be positive");
  return p;
}

}  // namespace

template <class T>
Status quantize_linear_forward(OpCtx<T>& c) {
  if (!c.in[0]) return Status::unsupported("input is not float");
  VERGE_ASSIGN_OR_RETURN(QdqParams p, qdq_params(c));
  const Buf<T>& x = *c.in[0];
  c.out[0]->resize(x.shape);
  for (int64_t i = 0; i < x.numel(); ++i) {
    const float xf = static_cast<float>(x.v[i]);
    c.out[0]->v[i] = static_cast<T>(p.qmin == 0 ? ref::quant::quantize<uint8_t>(xf, p.scale, p.zp)
                                                : ref::quant::quantize<int8_t>(xf, p.scale, p.zp));
  }
  return Status::ok();
}

template <class T>
void quantize_linear_backward(OpCtx<T>& c) {
  if (!c.din[0]) return;
  const QdqParams p = qdq_params(c).value();
  const Buf<T>& x = *c.in[0];
  const T inv = T(1) / static_cast<T>(p.scale);
  for (int64_t i = 0; i < x.numel(); ++i) {
    const double r =
        ref::quant::round_half_even(static_cast<double>(static_cast<float>(x.v[i]) / p.scale)) + p.zp;
    if (r >= p.qmin && r <= p.qmax) c.din[0]->v[i] += c.dout[0]->v[i] * inv;
  }
}

template <class T>
Status dequantize_linear_forward(OpCtx<T>& c) {
  VERGE_ASSIGN_OR_RETURN(QdqParams p, qdq_params(c));
  if (c.node.has_attr("axis") && c.in[1]->numel() != 1)
    return Status::unsupported("training supports per-tensor dequantization only");
  if (c.in[0]) {
    const Buf<T>& q = *c.in[0];
    c.out[0]->resize(q.shape);
    for (int64_t i = 0; i < q.numel(); ++i)
      c.out[0]->v[i] = static_cast<T>(ref::quant::dequantize(static_cast<int64_t>(q.v[i]), p.zp, p.scale));
    return Status::ok();
  }
  const auto& q = c.graph.value(c.node.input(0)).constant;  // an integer constant (quantized float constant)
  if (!q) return Status::unsupported("input 0 is neither a computed value nor a constant");
  c.out[0]->resize(q->shape());
  for (int64_t i = 0; i < q->numel(); ++i)
    c.out[0]->v[i] =
        static_cast<T>(ref::quant::dequantize(static_cast<int64_t>(q->get_as_double(i)), p.zp, p.scale));
  return Status::ok();
}

template <class T>
void dequantize_linear_backward(OpCtx<T>& c) {
  if (!c.din[0]) return;
  const T s = static_cast<T>(c.in[1]->v[0]);
  for (int64_t i = 0; i < c.din[0]->numel(); ++i) c.din[0]->v[i] += c.dout[0]->v[i] * s;
}

template Status quantize_linear_forward<float>(OpCtx<float>&);
template Status quantize_linear_forward<double>(OpCtx<double>&);
template void quantize_linear_backward<float>(OpCtx<float>&);
template void quantize_linear_backward<double>(OpCtx<double>&);
template Status dequantize_linear_forward<float>(OpCtx<float>&);
template Status dequantize_linear_forward<double>(OpCtx<double>&);
template void dequantize_linear_backward<float>(OpCtx<float>&);
template void dequantize_linear_backward<double>(OpCtx<double>&);

std::vector<float> fake_quantize_weight(std::span<float> w, const Shape& shape, int axis) {
  int64_t channels = 1, inner = static_cast<int64_t>(w.size());
  if (axis >= 0) {
    channels = shape[static_cast<size_t>(axis)];
    inner = 1;
    for (size_t d = static_cast<size_t>(axis) + 1; d < shape.size(); ++d) inner *= shape[d];
  }
  auto channel_of = [&](size_t i) {
    return static_cast<size_t>((static_cast<int64_t>(i) / inner) % channels);
  };
  std::vector<float> absmax(static_cast<size_t>(channels), 0.f), scales;
  for (size_t i = 0; i < w.size(); ++i)
    absmax[channel_of(i)] = std::max(absmax[channel_of(i)], std::fabs(w[i]));
  for (float a : absmax) scales.push_back(quant::int8_symmetric_params(a).scale);
  for (size_t i = 0; i < w.size(); ++i) {
    const float s = scales[channel_of(i)];
    const auto q = static_cast<int8_t>(std::clamp(std::nearbyint(w[i] / s), -127.f, 127.f));  // as stored
    w[i] = static_cast<float>(q) * s;
  }
  return scales;
}

void fake_quantize_bias(std::span<float> b, float input_scale, std::span<const float> weight_scales,
                        float beta) {
  if (beta == 0.f) return;  // the bias does not contribute
  for (size_t i = 0; i < b.size(); ++i) {
    const float s = input_scale * weight_scales[weight_scales.size() == 1 ? 0 : i];
    const float x = b[i] * beta;
    const double r = std::clamp(std::nearbyint(static_cast<double>(x) / s), -2147483648.0, 2147483647.0);
    b[i] = static_cast<float>(static_cast<int32_t>(r)) * s / beta;
  }
}

}  // namespace verge::train
