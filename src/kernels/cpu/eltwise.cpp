// float32 elementwise kernels (AVX-512): Add/Sub/Mul/Div/Max/Min with numpy broadcasting, and the
// activations Relu/Clip/LeakyRelu/Sigmoid/HardSigmoid/HardSwish/Tanh.
//
// Binary broadcasting is reduced at prepare to a few strided loops: output dims of size 1 are dropped,
// adjacent dims that broadcast the same way are merged, and the innermost two merged dims become one
// microkernel call (rows x cols; an operand is either contiguous or broadcast along cols). Same-shape and
// scalar operands give one long row; planar per-channel [N,C,H,W] op [1,C,1,1] gives rows = C of H*W
// elements against one scalar each; blocked per-channel [N,Cb,H,W,b] op [N|1,Cb,1,1,b] gives rows = H*W
// pixels of b lanes against one vector. Long rows are cut into chunks so large tensors thread well.
#include <algorithm>
#include <limits>

#include "core/thread_pool.h"
#include "kernels/cpu/eltwise_avx512.h"
#include "kernels/kernel.h"

namespace verge {
namespace {

// Work below this many elements per task is not worth waking another thread for.
constexpr int64_t kMinTaskElems = 16384;
// Long rows are split into chunks of this many elements (a multiple of 64: chunks stay 256-byte aligned).
constexpr int64_t kChunk = 16384;

int binary_code(OpId op) {
  switch (op) {
    case OpId::Add:
      return kBinAdd;
    case OpId::Sub:
      return kBinSub;
    case OpId::Mul:
      return kBinMul;
    case OpId::Div:
      return kBinDiv;
    case OpId::Max:
      return kBinMax;
    case OpId::Min:
      return kBinMin;
    default:
      return -1;
  }
}

class BinaryF32Avx512 final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    op_ = binary_code(c.node().op);
    const Shape& out = c.output(0).shape;
    const size_t r = out.size();
    Shape sa(r, 1), sb(r, 1);
    std::copy(c.shape(0).begin(), c.shape(0).end(),
              sa.end() - static_cast<std::ptrdiff_t>(c.shape(0).size()));
    std::copy(c.shape(1).begin(), c.shape(1).end(),
              sb.end() - static_cast<std::ptrdiff_t>(c.shape(1).size()));
    // Merged dims, innermost first.
    dims_.clear();
    int64_t st_a = 1, st_b = 1;
    for (size_t d = r; d-- > 0;) {
      const int64_t n = out[d];
      const int64_t as = sa[d] == 1 ? 0 : st_a, bs = sb[d] == 1 ? 0 : st_b;
      st_a *= sa[d];
      st_b *= sb[d];
      if (n == 1) continue;
      if (!dims_.empty()) {
        Dim& last = dims_.back();
        if (last.as * last.size == as && last.bs * last.size == bs) {
          last.size *= n;
          continue;
        }
      }
      dims_.push_back({n, as, bs, 0});
    }
    if (dims_.empty()) dims_.push_back({1, 1, 1, 0});  // one element
    int64_t ys = 1;
    for (Dim& d : dims_) {
      d.ys = ys;
      ys *= d.size;
    }
    numel_ = ys;
    cols_ = dims_[0].size;
    a_cs_ = static_cast<int>(dims_[0].as);
    b_cs_ = static_cast<int>(dims_[0].bs);
    rows_ = dims_.size() > 1 ? dims_[1].size : 1;
    a_rs_ = dims_.size() > 1 ? dims_[1].as : 0;
    b_rs_ = dims_.size() > 1 ? dims_[1].bs : 0;
    outer_ = 1;
    for (size_t i = 2; i < dims_.size(); ++i) outer_ *= dims_[i].size;
    nch_ = cols_ > kChunk ? (cols_ + kChunk - 1) / kChunk : 1;
    // Same rule as the reference: in place over the first operand that has the output's shape.
    for (size_t i = 0; i < 2; ++i)
      if (c.shape(i) == out) {
        c.allow_in_place(i);
        break;
      }
    return Status::ok();
  }

  Status run(const RunContext& c) override {
    if (numel_ == 0) return Status::ok();
    const float* a = c.input(0).data<float>();
    const float* b = c.input(1).data<float>();
    float* y = c.output(0).data<float>();
    const int64_t per_unit = nch_ == 1 ? cols_ : kChunk;
    const int64_t units = outer_ * rows_ * nch_;
    const int64_t grain = std::max<int64_t>(1, kMinTaskElems / per_unit);
    parallel_for(c.pool, units, grain, [&](int64_t begin, int64_t end) {
      const int64_t per_outer = rows_ * nch_;
      int64_t u = begin;
      while (u < end) {
        const int64_t o = u / per_outer;
        const int64_t rem = u - o * per_outer;
        const int64_t i = rem / nch_, j = rem - i * nch_;
        int64_t ao = 0, bo = 0, yo = 0;
        int64_t q = o;
        for (size_t d = 2; d < dims_.size(); ++d) {
          const int64_t idx = q % dims_[d].size;
          q /= dims_[d].size;
          ao += idx * dims_[d].as;
          bo += idx * dims_[d].bs;
          yo += idx * dims_[d].ys;
        }
        ao += i * a_rs_;
        bo += i * b_rs_;
        yo += i * cols_;
        if (nch_ == 1) {
          const int64_t cnt = std::min(end - u, rows_ - i);
          binary_f32_avx512(op_, a + ao, b + bo, y + yo, cnt, cols_, a_rs_, b_rs_, cols_, a_cs_, b_cs_);
          u += cnt;
        } else {
          const int64_t c0 = j * kChunk, cn = std::min(kChunk, cols_ - c0);
          binary_f32_avx512(op_, a + ao + c0 * a_cs_, b + bo + c0 * b_cs_, y + yo + c0, 1, cn, 0, 0, 0, a_cs_,
                            b_cs_);
          u += 1;
        }
      }
    });
    return Status::ok();
  }
  const char* name() const override { return "binary_f32_avx512"; }

 private:
  struct Dim {
    int64_t size, as, bs, ys;  // extent; element strides of a, b (0 = broadcast) and y
  };
  int op_ = 0;
  std::vector<Dim> dims_;
  int64_t numel_ = 0, cols_ = 1, rows_ = 1, outer_ = 1, a_rs_ = 0, b_rs_ = 0, nch_ = 1;
  int a_cs_ = 1, b_cs_ = 1;
};

int unary_code(OpId op) {
  switch (op) {
    case OpId::Relu:
      return kUnRelu;
    case OpId::Clip:
      return kUnClip;
    case OpId::LeakyRelu:
      return kUnLeakyRelu;
    case OpId::Sigmoid:
      return kUnSigmoid;
    case OpId::HardSigmoid:
      return kUnHardSigmoid;
    case OpId::HardSwish:
      return kUnHardSwish;
    case OpId::Tanh:
      return kUnTanh;
    default:
      return -1;
  }
}

class UnaryF32Avx512 final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    op_ = unary_code(c.node().op);
    if (op_ == kUnLeakyRelu) p0_ = c.node().get_float("alpha", 0.01f);
    if (op_ == kUnHardSigmoid) {
      p0_ = c.node().get_float("alpha", 0.2f);
      p1_ = c.node().get_float("beta", 0.5f);
    }
    // Transcendental ops cost ~20 instructions per vector: they are worth threading sooner.
    grain_ = (op_ == kUnSigmoid || op_ == kUnTanh) ? kMinTaskElems / 4 : kMinTaskElems;
    c.allow_in_place(0);
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    float p0 = p0_, p1 = p1_;
    if (op_ == kUnClip) {
      p0 = c.has_input(1) ? c.input(1).data<float>()[0] : std::numeric_limits<float>::lowest();
      p1 = c.has_input(2) ? c.input(2).data<float>()[0] : std::numeric_limits<float>::max();
    }
    const float* x = c.input(0).data<float>();
    float* y = c.output(0).data<float>();
    const int64_t n = c.input(0).numel();
    const int64_t units = (n + 63) / 64;  // 64-element units keep task boundaries aligned
    parallel_for(c.pool, units, grain_ / 64, [&](int64_t begin, int64_t end) {
      const int64_t i0 = begin * 64, i1 = std::min(n, end * 64);
      unary_f32_avx512(op_, p0, p1, x + i0, y + i0, i1 - i0);
    });
    return Status::ok();
  }
  const char* name() const override { return "unary_f32_avx512"; }

 private:
  int op_ = 0;
  float p0_ = 0, p1_ = 0;
  int64_t grain_ = kMinTaskElems;
};

}  // namespace

bool accepts_binary_f32_avx512(const PrepareContext& c) {
  if (binary_code(c.node().op) < 0 || c.num_inputs() != 2 || !c.has_input(0) || !c.has_input(1)) return false;
  return c.dtype(0) == DType::kFloat32 && c.dtype(1) == DType::kFloat32 && c.has_output(0) &&
         c.output(0).dtype == DType::kFloat32;
}
std::unique_ptr<Kernel> make_binary_f32_avx512(const ir::Node&) {
  return std::make_unique<BinaryF32Avx512>();
}

bool accepts_unary_f32_avx512(const PrepareContext& c) {
  if (unary_code(c.node().op) < 0 || !c.has_input(0) || c.dtype(0) != DType::kFloat32) return false;
  if (c.node().op == OpId::Clip) {
    for (size_t i = 1; i < c.num_inputs(); ++i)
      if (c.has_input(i) && (c.dtype(i) != DType::kFloat32 || shape_numel(c.shape(i)) != 1)) return false;
  } else if (c.num_inputs() != 1) {
    return false;
  }
  return c.has_output(0) && c.output(0).dtype == DType::kFloat32;
}
std::unique_ptr<Kernel> make_unary_f32_avx512(const ir::Node&) { return std::make_unique<UnaryF32Avx512>(); }

}  // namespace verge
