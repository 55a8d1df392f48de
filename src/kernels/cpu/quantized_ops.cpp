// Fast kernels for the quantized graph around the int8 convolutions (optimize/quantized.cpp):
//   QuantizeLinear (float32, per tensor)   AVX-512, bit-exact with the reference (kernels/cpu/quantize.h)
//   MaxPool on uint8 / int8 (2-D, no Indices output, dilation 1): windows clipped to the input, so padding
//   never wins, exactly as the reference; portable C++.
#include <algorithm>
#include <cmath>
#include <limits>

#include "core/thread_pool.h"
#include "ir/conv_geometry.h"
#include "kernels/cpu/quantize.h"
#include "kernels/kernel.h"

namespace verge {
namespace {

class QuantizeF32 final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    const bool s8 = c.output(0).dtype == DType::kInt8;
    qmin_ = s8 ? -128 : 0;
    qmax_ = s8 ? 127 : 255;
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    const Tensor& x = c.input(0);
    const float scale = c.input(1).data<float>()[0];
    const int32_t zp = c.has_input(2) ? static_cast<int32_t>(c.input(2).get_as_int64(0)) : 0;
    const float* xd = x.data<float>();
    auto* y = static_cast<uint8_t*>(c.output(0).raw());
    constexpr int64_t kChunk = 16 * 1024;
    parallel_for(c.pool, (x.numel() + kChunk - 1) / kChunk, 4, [&](int64_t b, int64_t e) {
      const int64_t i0 = b * kChunk, i1 = std::min(x.numel(), e * kChunk);
      quantize_f32_avx512(xd + i0, i1 - i0, scale, zp, qmin_, qmax_, y + i0);
    });
    return Status::ok();
  }
  const char* name() const override { return "quantize_f32_avx512"; }

 private:
  int32_t qmin_ = 0, qmax_ = 255;
};

class QBinary final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    p_.mul = c.node().op == OpId::QMul;
    p_.relu = c.node().get_string("activation", "") == "Relu";
    p_.a_signed = c.dtype(0) == DType::kInt8;
    p_.b_signed = c.dtype(3) == DType::kInt8;
    const bool y_s8 = c.output(0).dtype == DType::kInt8;
    p_.qmin = y_s8 ? -128 : 0;
    p_.qmax = y_s8 ? 127 : 255;
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    QBinaryParams p = p_;
    p.a_scale = c.input(1).data<float>()[0], p.b_scale = c.input(4).data<float>()[0],
    p.y_scale = c.input(6).data<float>()[0];
    p.a_zp = static_cast<int32_t>(c.input(2).get_as_int64(0)),
    p.b_zp = static_cast<int32_t>(c.input(5).get_as_int64(0));
    p.y_zp = static_cast<int32_t>(c.input(7).get_as_int64(0));
    const auto* a = static_cast<const uint8_t*>(c.input(0).raw());
    const auto* b = static_cast<const uint8_t*>(c.input(3).raw());
    auto* y = static_cast<uint8_t*>(c.output(0).raw());
    const int64_t n = c.input(0).numel(), nb = c.input(3).numel();
    if (nb != n) {  // B broadcast over A's trailing dims (SE gates): one B value per run of `inner` elements
      const int64_t inner = n / nb;
      p.b_broadcast = true;
      parallel_for(c.pool, nb, std::max<int64_t>(1, 16 * 1024 / std::max<int64_t>(inner, 1)),
                   [&](int64_t lo, int64_t hi) {
                     for (int64_t j = lo; j < hi; ++j)
                       qbinary_avx512(a + j * inner, b + j, inner, p, y + j * inner);
                   });
      return Status::ok();
    }
    constexpr int64_t kChunk = 16 * 1024;
    parallel_for(c.pool, (n + kChunk - 1) / kChunk, 4, [&](int64_t lo, int64_t hi) {
      const int64_t i0 = lo * kChunk, i1 = std::min(n, hi * kChunk);
      qbinary_avx512(a + i0, b + i0, i1 - i0, p, y + i0);
    });
    return Status::ok();
  }
  const char* name() const override { return "qbinary_avx512"; }

 private:
  QBinaryParams p_;
};

// verge.QLut with the table in registers (qlut_avx512vbmi), 16 KiB chunks across threads.
class QLutVbmi final : public Kernel {
 public:
  Status run(const RunContext& c) override {
    const auto* x = static_cast<const uint8_t*>(c.input(0).raw());
    const auto* table = static_cast<const uint8_t*>(c.input(1).raw());
    auto* y = static_cast<uint8_t*>(c.output(0).raw());
    const int64_t n = c.input(0).numel();
    constexpr int64_t kChunk = 16 * 1024;
    parallel_for(c.pool, (n + kChunk - 1) / kChunk, 4, [&](int64_t lo, int64_t hi) {
      const int64_t i0 = lo * kChunk, i1 = std::min(n, hi * kChunk);
      qlut_avx512vbmi(x + i0, i1 - i0, table, y + i0);
    });
    return Status::ok();
  }
  const char* name() const override { return "qlut_avx512vbmi"; }
};

class MaxPoolInt8 final : public Kernel {
 public:
  static constexpr int64_t kMaxWidth = 4096;
  Status prepare(PrepareContext& c) override {
    const Shape& xs = c.shape(0);
    VERGE_ASSIGN_OR_RETURN(ConvGeometry g, conv_geometry(c.node(), std::span(xs).subspan(2), {},
                                                         c.node().get_int("ceil_mode", 0) != 0));
    signed_ = c.dtype(0) == DType::kInt8;
    planes_ = xs[0] * xs[1], h_ = xs[2], w_ = xs[3];
    kh_ = g.kernel[0], kw_ = g.kernel[1], sh_ = g.strides[0], sw_ = g.strides[1];
    ph_ = g.pads_begin[0], pw_ = g.pads_begin[1], oh_ = g.out[0], ow_ = g.out[1];
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    const auto* x = static_cast<const uint8_t*>(c.input(0).raw());
    auto* y = static_cast<uint8_t*>(c.output(0).raw());
    parallel_for(c.pool, planes_, 1, [&](int64_t b, int64_t e) {
      for (int64_t p = b; p < e; ++p) {
        if (signed_)
          pool_plane(reinterpret_cast<const int8_t*>(x) + p * h_ * w_,
                     reinterpret_cast<int8_t*>(y) + p * oh_ * ow_);
        else
          pool_plane(x + p * h_ * w_, y + p * oh_ * ow_);
      }
    });
    return Status::ok();
  }
  const char* name() const override { return "maxpool_int8"; }

 private:
  // Per output row: the column-wise max over the window's valid input rows (contiguous, vectorizes),
  // then the max over each window's valid columns of that row.
  template <class T>
  void pool_plane(const T* x, T* y) const {
    T colmax[kMaxWidth];
    for (int64_t oy = 0; oy < oh_; ++oy) {
      const int64_t iy0 = std::max<int64_t>(0, oy * sh_ - ph_), iy1 = std::min(h_, oy * sh_ - ph_ + kh_);
      std::fill_n(colmax, w_, std::numeric_limits<T>::min());
      for (int64_t iy = iy0; iy < iy1; ++iy) {
        const T* __restrict row = x + iy * w_;
        T* __restrict cm = colmax;
        for (int64_t ix = 0; ix < w_; ++ix) cm[ix] = row[ix] > cm[ix] ? row[ix] : cm[ix];
      }
      T* yr = y + oy * ow_;
      for (int64_t ox = 0; ox < ow_; ++ox) {
        const int64_t ix0 = std::max<int64_t>(0, ox * sw_ - pw_), ix1 = std::min(w_, ox * sw_ - pw_ + kw_);
        T m = std::numeric_limits<T>::min();
        for (int64_t ix = ix0; ix < ix1; ++ix) m = colmax[ix] > m ? colmax[ix] : m;
        yr[ox] = m;
      }
    }
  }
  bool signed_ = false;
  int64_t planes_ = 0, h_ = 0, w_ = 0, kh_ = 0, kw_ = 0, sh_ = 1, sw_ = 1, ph_ = 0, pw_ = 0, oh_ = 0, ow_ = 0;
};

}  // namespace

bool accepts_quantize_f32_avx512(const PrepareContext& c) {
  if (c.node().op != OpId::QuantizeLinear || c.dtype(0) != DType::kFloat32 || !c.has_input(1)) return false;
  if (shape_numel(c.shape(1)) != 1 || (c.has_input(2) && shape_numel(c.shape(2)) != 1)) return false;
  const DType out = c.output(0).dtype;
  return out == DType::kUInt8 || out == DType::kInt8;
}
std::unique_ptr<Kernel> make_quantize_f32_avx512(const ir::Node&) { return std::make_unique<QuantizeF32>(); }

bool accepts_qbinary_avx512(const PrepareContext& c) {
  return c.node().op == OpId::QAdd || c.node().op == OpId::QMul;
}
std::unique_ptr<Kernel> make_qbinary_avx512(const ir::Node&) { return std::make_unique<QBinary>(); }

bool accepts_qlut_avx512vbmi(const PrepareContext& c) {
  return c.node().op == OpId::QLut && shape_numel(c.shape(1)) == 256 && __builtin_cpu_supports("avx512vbmi");
}
std::unique_ptr<Kernel> make_qlut_avx512vbmi(const ir::Node&) { return std::make_unique<QLutVbmi>(); }

bool accepts_maxpool_int8(const PrepareContext& c) {
  const ir::Node& n = c.node();
  if (n.op != OpId::MaxPool || c.shape(0).size() != 4 || c.has_output(1)) return false;
  if (c.dtype(0) != DType::kUInt8 && c.dtype(0) != DType::kInt8) return false;
  if (c.shape(0)[3] > MaxPoolInt8::kMaxWidth) return false;
  for (int64_t d : n.get_ints("dilations", {1, 1}))
    if (d != 1) return false;
  return true;
}
std::unique_ptr<Kernel> make_maxpool_int8(const ir::Node&) { return std::make_unique<MaxPoolInt8>(); }

}  // namespace verge
