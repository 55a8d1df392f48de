// Fast kernels for the quantized graph around the int8 convolutions (optimize/quantized.cpp):
//   QuantizeLinear (float32, per tensor), QAdd / QMul   AVX-512 or AVX2, bit-exact with the reference
//   (kernels/cpu/quantize.h)
//   MaxPool on uint8 / int8 (2-D, no Indices output, dilation 1): windows clipped to the input, so padding
//   never wins, exactly as the reference; portable C++ and AVX-512BW.
//   verge.QAveragePool (2-D, dilation 1): separable exact sums, the reference's float32 operations.
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "core/cpu_features.h"
#include "core/thread_pool.h"
#include "ir/conv_geometry.h"
#include "kernels/cpu/quantize.h"
#include "kernels/kernel.h"
#include "kernels/ref/quant_math.h"
#include "runtime/exec_options.h"

namespace verge {
namespace {

class QuantizeF32 final : public Kernel {
 public:
  using Fn = void (*)(const float*, int64_t, float, int32_t, int32_t, int32_t, uint8_t*);
  QuantizeF32(Fn fn, const char* name) : fn_(fn), name_(name) {}
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
      fn_(xd + i0, i1 - i0, scale, zp, qmin_, qmax_, y + i0);
    });
    return Status::ok();
  }
  const char* name() const override { return name_; }

 private:
  Fn fn_;
  const char* name_;
  int32_t qmin_ = 0, qmax_ = 255;
};

class QBinary final : public Kernel {
 public:
  using Fn = void (*)(const uint8_t*, const uint8_t*, int64_t, const QBinaryParams&, uint8_t*);
  // lut: long broadcast runs through a table and qlut_avx512vbmi (needs VBMI).
  QBinary(Fn fn, const char* name, bool lut) : fn_(fn), name_(name), vbmi_(lut) {}
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
      // A long run is a function of A's byte alone: its 256-entry table (the same arithmetic on every
      // byte value) and one lookup pass cost less than the float arithmetic on every element.
      const bool lut = vbmi_ && inner >= kLutMinRun;
      parallel_for(c.pool, nb, std::max<int64_t>(1, 16 * 1024 / std::max<int64_t>(inner, 1)),
                   [&](int64_t lo, int64_t hi) {
                     alignas(64) uint8_t table[256];
                     for (int64_t j = lo; j < hi; ++j) {
                       if (lut) {
                         fn_(kBytes.data(), b + j, 256, p, table);
                         qlut_avx512vbmi(a + j * inner, inner, table, y + j * inner);
                       } else {
                         fn_(a + j * inner, b + j, inner, p, y + j * inner);
                       }
                     }
                   });
      return Status::ok();
    }
    constexpr int64_t kChunk = 16 * 1024;
    parallel_for(c.pool, (n + kChunk - 1) / kChunk, 4, [&](int64_t lo, int64_t hi) {
      const int64_t i0 = lo * kChunk, i1 = std::min(n, hi * kChunk);
      fn_(a + i0, b + i0, i1 - i0, p, y + i0);
    });
    return Status::ok();
  }
  const char* name() const override { return name_; }

 private:
  static constexpr int64_t kLutMinRun = 512;
  static constexpr std::array<uint8_t, 256> kBytes = [] {
    std::array<uint8_t, 256> v{};
    for (int i = 0; i < 256; ++i) v[static_cast<size_t>(i)] = static_cast<uint8_t>(i);
    return v;
  }();
  Fn fn_;
  const char* name_;
  QBinaryParams p_;
  bool vbmi_ = false;
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

// verge.QGlobalAveragePool: per plane an AVX-512 exact byte sum, then the reference's float32 scaling.
class QGlobalAveragePoolAvx512 final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    const Shape& xs = c.shape(0);
    planes_ = xs[0] * xs[1], size_ = shape_numel(xs) / std::max<int64_t>(1, planes_);
    x_signed_ = c.dtype(0) == DType::kInt8, y_signed_ = c.output(0).dtype == DType::kInt8;
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    const float m = ref::quant::global_average_multiplier(c.input(1).data<float>()[0], size_);
    const int64_t xz = c.input(2).get_as_int64(0);
    const float ys = c.input(3).data<float>()[0];
    const auto yz = static_cast<int32_t>(c.input(4).get_as_int64(0));
    const auto* x = static_cast<const uint8_t*>(c.input(0).raw());
    auto* y = static_cast<uint8_t*>(c.output(0).raw());
    parallel_for(
        c.pool, planes_, std::max<int64_t>(1, 4096 / std::max<int64_t>(size_, 1)), [&](int64_t b, int64_t e) {
          for (int64_t p = b; p < e; ++p) {
            const float v =
                static_cast<float>(sum_bytes_avx512(x + p * size_, size_, x_signed_) - xz * size_) * m;
            y[p] = ref::quant::quantize_byte(v, ys, yz, y_signed_);
          }
        });
    return Status::ok();
  }
  const char* name() const override { return "qglobal_average_pool_avx512"; }

 private:
  int64_t planes_ = 0, size_ = 0;
  bool x_signed_ = false, y_signed_ = false;
};

// MaxPool on int8 / uint8 planes. The AVX-512 variant (strides 1 and 2) keeps each window's maximum in
// registers (maxpool_plane_avx512). The scalar one, per output row: the column-wise max over the window's
// valid input rows, then the max over each window's columns, read from a row of column maxima framed by
// the type's minimum (which never wins, so the windows act clipped to the input exactly as the reference's).
class MaxPoolInt8 final : public Kernel {
 public:
  static constexpr int64_t kMaxWidth = 4096, kMaxKernel = 64;
  explicit MaxPoolInt8(bool simd) : simd_(simd) {}
  Status prepare(PrepareContext& c) override {
    const Shape& xs = c.shape(0);
    VERGE_ASSIGN_OR_RETURN(ConvGeometry g, conv_geometry(c.node(), std::span(xs).subspan(2), {},
                                                         c.node().get_int("ceil_mode", 0) != 0));
    signed_ = c.dtype(0) == DType::kInt8;
    planes_ = xs[0] * xs[1];
    g_ = {xs[2],        xs[3],           g.kernel[0],     g.kernel[1], g.strides[0],
          g.strides[1], g.pads_begin[0], g.pads_begin[1], g.out[0],    g.out[1]};
    simd_ = simd_ && (g_.sw == 1 || g_.sw == 2);
    frame_ = std::max(g_.pw + g_.w, (g_.ow - 1) * g_.sw + g_.kw);
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    const auto* x = static_cast<const uint8_t*>(c.input(0).raw());
    auto* y = static_cast<uint8_t*>(c.output(0).raw());
    const int64_t in = g_.h * g_.w, out = g_.oh * g_.ow;
    parallel_for(c.pool, planes_, 1, [&](int64_t b, int64_t e) {
      for (int64_t p = b; p < e; ++p) {
        if (simd_)
          maxpool_plane_avx512(x + p * in, g_, signed_, x, x + planes_ * in, y + p * out);
        else if (signed_)
          pool_rows(reinterpret_cast<const int8_t*>(x + p * in), reinterpret_cast<int8_t*>(y + p * out));
        else
          pool_rows(x + p * in, y + p * out);
      }
    });
    return Status::ok();
  }
  // The name says which variant was asked for; strides other than 1 and 2 run the scalar pass in both.
  const char* name() const override { return simd_ ? "maxpool_int8_avx512" : "maxpool_int8"; }

 private:
  template <class T>
  void pool_rows(const T* x, T* y) const {
    alignas(64) T frame[kMaxWidth + 2 * kMaxKernel];
    std::fill_n(frame, frame_, std::numeric_limits<T>::min());
    T* cm = frame + g_.pw;
    for (int64_t oy = 0; oy < g_.oh; ++oy) {
      const int64_t iy0 = std::max<int64_t>(0, oy * g_.sh - g_.ph),
                    iy1 = std::min(g_.h, oy * g_.sh - g_.ph + g_.kh);
      std::fill_n(cm, g_.w, std::numeric_limits<T>::min());
      for (int64_t iy = iy0; iy < iy1; ++iy)
        for (int64_t i = 0; i < g_.w; ++i) cm[i] = std::max(cm[i], x[iy * g_.w + i]);
      for (int64_t ox = 0; ox < g_.ow; ++ox) {
        T m = frame[ox * g_.sw];
        for (int64_t j = 1; j < g_.kw; ++j) m = std::max(m, frame[ox * g_.sw + j]);
        y[oy * g_.ow + ox] = m;
      }
    }
  }
  bool simd_ = false, signed_ = false;
  int64_t planes_ = 0, frame_ = 0;
  MaxPoolPlane g_;
};

// verge.QAveragePool: per output row, the int32 sums of its window rows over the whole width (an add of
// rows the compiler vectorizes), then per output column the sum of its window columns of those; per axis
// position the valid and padded tap counts are precomputed. Exact integer sums and the reference's float32
// operations (kernels/ref/verge.cpp), so bit-exact; O(k) adds per output instead of k x k branches.
class QAveragePoolRows final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    const Shape& x = c.shape(0);
    VERGE_ASSIGN_OR_RETURN(ConvGeometry g, conv_geometry(c.node(), std::span(x).subspan(2), {},
                                                         c.node().get_int("ceil_mode", 0) != 0));
    planes_ = x[0] * x[1], h_ = x[2], w_ = x[3], oh_ = g.out[0], ow_ = g.out[1];
    include_pad_ = c.node().get_int("count_include_pad", 0) != 0;
    rows_ = axis(g, 0, h_), cols_ = axis(g, 1, w_);
    x_s8_ = c.dtype(0) == DType::kInt8;
    const int64_t threads = c.options().pool ? c.options().pool->num_threads() : 1;
    quantize_ = cpu_has(Isa::kAvx512)    ? quantize_f32_avx512
                : cpu_has(Isa::kAvx2Fma) ? quantize_f32_avx2
                                         : nullptr;
    c.request_scratch(static_cast<size_t>(threads * (w_ + ow_)) * sizeof(int32_t));
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    const bool y_s8 = c.output(0).dtype() == DType::kInt8;
    const float xs = c.input(1).data<float>()[0], ys = c.input(3).data<float>()[0];
    const int64_t xz = c.input(2).get_as_int64(0);
    const auto yz = static_cast<int32_t>(c.input(4).get_as_int64(0));
    const auto* x = static_cast<const uint8_t*>(c.input(0).raw());
    auto* y = static_cast<uint8_t*>(c.output(0).raw());
    parallel_for(c.pool, planes_ * oh_, 8, [&](int64_t begin, int64_t end) {
      int32_t* colsum = static_cast<int32_t*>(c.scratch) + ThreadPool::thread_index() * (w_ + ow_);
      auto* v = reinterpret_cast<float*>(colsum + w_);  // the row's values before quantization
      for (int64_t u = begin; u < end; ++u) {
        const int64_t p = u / oh_, oy = u % oh_;
        const auto r = static_cast<size_t>(oy);
        std::fill(colsum, colsum + w_, 0);
        for (int64_t iy = rows_.lo[r]; iy < rows_.hi[r]; ++iy) {
          const uint8_t* row = x + (p * h_ + iy) * w_;
          if (x_s8_)
            for (int64_t ix = 0; ix < w_; ++ix) colsum[ix] += static_cast<int8_t>(row[ix]);
          else
            for (int64_t ix = 0; ix < w_; ++ix) colsum[ix] += row[ix];
        }
        uint8_t* yr = y + u * ow_;
        for (int64_t ox = 0; ox < ow_; ++ox) {
          const auto k = static_cast<size_t>(ox);
          int64_t sum = 0;
          for (int64_t ix = cols_.lo[k]; ix < cols_.hi[k]; ++ix) sum += colsum[ix];
          const int64_t inside = (rows_.hi[r] - rows_.lo[r]) * (cols_.hi[k] - cols_.lo[k]);
          const int64_t count = include_pad_ ? rows_.padded[r] * cols_.padded[k] : inside;
          sum -= xz * inside;
          v[ox] =
              count > 0 ? static_cast<float>(sum) * ref::quant::global_average_multiplier(xs, count) : 0.f;
        }
        if (quantize_)  // bit-exact with quantize_byte (kernels/cpu/quantize.h)
          quantize_(v, ow_, ys, yz, y_s8 ? -128 : 0, y_s8 ? 127 : 255, yr);
        else
          for (int64_t ox = 0; ox < ow_; ++ox) yr[ox] = ref::quant::quantize_byte(v[ox], ys, yz, y_s8);
      }
    });
    return Status::ok();
  }
  const char* name() const override { return "qaverage_pool_rows"; }

 private:
  // Per output position on one axis: the taps inside the input [lo, hi), and how many taps lie inside the
  // padded input.
  struct Axis {
    std::vector<int64_t> lo, hi, padded;
  };
  static Axis axis(const ConvGeometry& g, size_t d, int64_t n) {
    Axis a;
    for (int64_t o = 0; o < g.out[d]; ++o) {
      const int64_t start = o * g.strides[d] - g.pads_begin[d], end = start + g.kernel[d];
      a.lo.push_back(std::clamp<int64_t>(start, 0, n));
      a.hi.push_back(std::clamp<int64_t>(end, a.lo.back(), n));
      a.padded.push_back(
          std::max<int64_t>(0, std::min(end, n + g.pads_end[d]) - std::max(start, -g.pads_begin[d])));
    }
    return a;
  }
  Axis rows_, cols_;
  int64_t planes_ = 0, h_ = 0, w_ = 0, oh_ = 0, ow_ = 0;
  bool include_pad_ = false, x_s8_ = false;
  void (*quantize_)(const float*, int64_t, float, int32_t, int32_t, int32_t, uint8_t*) = nullptr;
};

}  // namespace

bool accepts_quantize_f32_avx512(const PrepareContext& c) {
  if (c.node().op != OpId::QuantizeLinear || c.dtype(0) != DType::kFloat32 || !c.has_input(1)) return false;
  if (shape_numel(c.shape(1)) != 1 || (c.has_input(2) && shape_numel(c.shape(2)) != 1)) return false;
  const DType out = c.output(0).dtype;
  return out == DType::kUInt8 || out == DType::kInt8;
}
std::unique_ptr<Kernel> make_quantize_f32_avx512(const ir::Node&) {
  return std::make_unique<QuantizeF32>(quantize_f32_avx512, "quantize_f32_avx512");
}
bool accepts_quantize_f32_avx2(const PrepareContext& c) { return accepts_quantize_f32_avx512(c); }
std::unique_ptr<Kernel> make_quantize_f32_avx2(const ir::Node&) {
  return std::make_unique<QuantizeF32>(quantize_f32_avx2, "quantize_f32_avx2");
}

bool accepts_qbinary_avx512(const PrepareContext& c) {
  return c.node().op == OpId::QAdd || c.node().op == OpId::QMul;
}
std::unique_ptr<Kernel> make_qbinary_avx512(const ir::Node&) {
  return std::make_unique<QBinary>(qbinary_avx512, "qbinary_avx512", __builtin_cpu_supports("avx512vbmi"));
}
bool accepts_qbinary_avx2(const PrepareContext& c) { return accepts_qbinary_avx512(c); }
std::unique_ptr<Kernel> make_qbinary_avx2(const ir::Node&) {
  return std::make_unique<QBinary>(qbinary_avx2, "qbinary_avx2", false);
}

bool accepts_qlut_avx512vbmi(const PrepareContext& c) {
  return c.node().op == OpId::QLut && shape_numel(c.shape(1)) == 256 && __builtin_cpu_supports("avx512vbmi");
}
std::unique_ptr<Kernel> make_qlut_avx512vbmi(const ir::Node&) { return std::make_unique<QLutVbmi>(); }

bool accepts_qglobal_average_pool_avx512(const PrepareContext& c) {
  return c.node().op == OpId::QGlobalAveragePool;
}
std::unique_ptr<Kernel> make_qglobal_average_pool_avx512(const ir::Node&) {
  return std::make_unique<QGlobalAveragePoolAvx512>();
}

// 2-D windows without dilation (AveragePool has none before opset 19).
bool accepts_qaverage_pool_rows(const PrepareContext& c) {
  const auto d = c.node().get_ints("dilations", {1, 1});
  return c.shape(0).size() == 4 && std::all_of(d.begin(), d.end(), [](int64_t v) { return v == 1; });
}
std::unique_ptr<Kernel> make_qaverage_pool_rows(const ir::Node&) {
  return std::make_unique<QAveragePoolRows>();
}

// 2-D MaxPool without Indices, dilation 1, rows up to kMaxWidth wide, windows up to kMaxKernel wide, the
// last window ending inside the scalar pass's frame.
bool accepts_maxpool_int8(const PrepareContext& c) {
  const ir::Node& n = c.node();
  if (n.op != OpId::MaxPool || c.shape(0).size() != 4 || c.has_output(1)) return false;
  if (c.dtype(0) != DType::kUInt8 && c.dtype(0) != DType::kInt8) return false;
  if (c.shape(0)[3] > MaxPoolInt8::kMaxWidth) return false;
  for (int64_t d : n.get_ints("dilations", {1, 1}))
    if (d != 1) return false;
  const Shape& xs = c.shape(0);
  auto g = conv_geometry(n, std::span(xs).subspan(2), {}, n.get_int("ceil_mode", 0) != 0);
  if (!g.is_ok() || g->kernel[1] > MaxPoolInt8::kMaxKernel || g->pads_begin[1] > MaxPoolInt8::kMaxKernel)
    return false;
  return (g->out[1] - 1) * g->strides[1] + g->kernel[1] <=
         MaxPoolInt8::kMaxWidth + 2 * MaxPoolInt8::kMaxKernel;
}
std::unique_ptr<Kernel> make_maxpool_int8(const ir::Node&) { return std::make_unique<MaxPoolInt8>(false); }
std::unique_ptr<Kernel> make_maxpool_int8_avx512(const ir::Node&) {
  return std::make_unique<MaxPoolInt8>(true);
}

}  // namespace verge
