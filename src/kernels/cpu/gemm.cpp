// float32 Gemm / verge.FusedGemm / MatMul with constant B packed at prepare (kernels/cpu/gemm.h).
//
// prepare packs B (either orientation) into NR-column panels, folds a constant row-broadcast C into a
// per-column bias (beta applied), and sizes scratch for a transposed A. run splits the (row block, panel)
// tiles over the pool: row-block major, so a thread keeps its A rows hot across consecutive panels; for
// a single row (batch-1 classifiers) the panels are split, so both cores stream half of the weights.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "core/memory.h"
#include "core/thread_pool.h"
#include "kernels/activation.h"
#include "kernels/cpu/gemm.h"
#include "kernels/kernel.h"

namespace verge {
namespace {

using GemmFn = void (*)(const float*, int64_t, const float*, int64_t, int64_t, float*, int64_t, int64_t,
                        int64_t, int64_t, int64_t, const GemmEpilogue&);

struct GemmIsa {
  int mr, nr;
  GemmFn fn;
  const char* name;
};

// Tasks smaller than this many flops are not worth waking another thread for.
constexpr double kMinTaskFlops = 256.0 * 1024;

struct FreeDeleter {
  void operator()(float* p) const { free_aligned(p); }
};
using AlignedFloats = std::unique_ptr<float[], FreeDeleter>;

AlignedFloats aligned_floats(size_t n) {
  const size_t bytes = std::max<size_t>(64, (n * sizeof(float) + 63) / 64 * 64);
  auto* p = static_cast<float*>(allocate_aligned(bytes));
  if (!p) throw std::bad_alloc();
  std::memset(p, 0, bytes);
  return AlignedFloats(p);
}

class GemmF32 final : public Kernel {
 public:
  GemmF32(GemmIsa isa, bool matmul) : isa_(isa), matmul_(matmul) {}

  Status prepare(PrepareContext& c) override {
    const Shape& sa = c.shape(0);
    const Shape& sb = c.shape(1);
    bool tb = false;
    ep_ = GemmEpilogue{};
    if (matmul_) {
      k_ = sa.back();
      m_ = k_ == 0 ? shape_numel(std::span(sa).first(sa.size() - 1)) : shape_numel(sa) / k_;
      n_ = sb[1];
      ta_ = false;
    } else {
      ta_ = c.node().get_int("transA", 0) != 0;
      tb = c.node().get_int("transB", 0) != 0;
      m_ = ta_ ? sa[1] : sa[0];
      k_ = ta_ ? sa[0] : sa[1];
      n_ = tb ? sb[0] : sb[1];
      ep_.alpha = c.node().get_float("alpha", 1.f);
      ep_.beta = c.node().get_float("beta", 1.f);
      if (c.node().op == OpId::FusedGemm) {
        VERGE_ASSIGN_OR_RETURN(Activation act, parse_activation(c.node()));
        ep_.act = to_act_params(act);
      }
    }
    const int64_t nr = isa_.nr;
    panels_ = (n_ + nr - 1) / nr;
    // Pack B: panel p, row kk, lane j = B(kk, p*nr + j); zero beyond N. Independent of M (the batch):
    // shared by the session's plans.
    const float* b = c.constant(1)->data<float>();
    packed_ = c.shared_constant<AlignedFloats>(isa_.name, fmt::format("tb{} k{} n{}", tb, k_, n_), {1}, [&] {
      AlignedFloats packed = aligned_floats(static_cast<size_t>(panels_ * k_ * nr));
      for (int64_t p = 0; p < panels_; ++p)
        for (int64_t kk = 0; kk < k_; ++kk)
          for (int64_t j = 0; j < nr && p * nr + j < n_; ++j) {
            const int64_t col = p * nr + j;
            packed[static_cast<size_t>((p * k_ + kk) * nr + j)] = tb ? b[col * k_ + kk] : b[kk * n_ + col];
          }
      return packed;
    });
    // C: a constant row broadcast ([N], [1, N], scalar) becomes a bias; anything else is read at run.
    general_c_ = false;
    bias_.reset();
    if (!matmul_ && c.has_input(2)) {
      const Shape& cs = c.shape(2);
      const int64_t rows = cs.size() == 2 ? cs[0] : 1;
      const int64_t cols = cs.empty() ? 1 : cs.back();
      ep_.c_rs = rows == 1 ? 0 : cols;
      ep_.c_cs = cols == 1 ? 0 : 1;
      const Tensor* ct = c.constant(2);
      if (ct && ep_.c_rs == 0) {
        bias_ = aligned_floats(static_cast<size_t>(panels_ * nr));
        for (int64_t j = 0; j < n_; ++j)
          bias_[static_cast<size_t>(j)] = ep_.beta * ct->data<float>()[j * ep_.c_cs];
        ep_.bias = bias_.get();
      } else {
        general_c_ = true;
      }
    }
    c.request_scratch(ta_ ? static_cast<size_t>(m_ * k_) * sizeof(float) : 0);
    return Status::ok();
  }

  Status run(const RunContext& c) override {
    if (m_ == 0 || n_ == 0) return Status::ok();
    const float* a = c.input(0).data<float>();
    if (ta_) {  // A is [K, M]: transpose into scratch (Gemm with transA=1 is rare)
      float* at = static_cast<float*>(c.scratch);
      for (int64_t i = 0; i < m_; ++i)
        for (int64_t kk = 0; kk < k_; ++kk) at[i * k_ + kk] = a[kk * m_ + i];
      a = at;
    }
    GemmEpilogue ep = ep_;
    if (general_c_) ep.c = c.input(2).data<float>();
    float* y = c.output(0).data<float>();
    const int64_t mr = isa_.mr, mblocks = (m_ + mr - 1) / mr;
    const int64_t units = mblocks * panels_;
    const double unit_flops =
        2.0 * static_cast<double>(std::min(m_, mr) * isa_.nr * std::max<int64_t>(k_, 1));
    const auto grain = static_cast<int64_t>(std::max(1.0, kMinTaskFlops / unit_flops));
    parallel_for(c.pool, units, grain, [&](int64_t begin, int64_t end) {
      for (int64_t u = begin; u < end;) {
        const int64_t mb = u / panels_, p0 = u - mb * panels_;
        const int64_t p1 = std::min(panels_, p0 + (end - u));
        const int64_t m0 = mb * mr, m1 = std::min(m_, m0 + mr);
        isa_.fn(a, k_, packed_->get(), k_, n_, y, n_, m0, m1, p0, p1, ep);
        u += p1 - p0;
      }
    });
    return Status::ok();
  }
  const char* name() const override { return isa_.name; }

 private:
  GemmIsa isa_;
  bool matmul_;
  bool ta_ = false, general_c_ = false;
  int64_t m_ = 0, k_ = 0, n_ = 0, panels_ = 0;
  std::shared_ptr<const AlignedFloats> packed_;
  AlignedFloats bias_;
  GemmEpilogue ep_;
};

bool is_f32(const PrepareContext& c, size_t i) { return c.has_input(i) && c.dtype(i) == DType::kFloat32; }

bool accepts_gemm(const PrepareContext& c) {
  if (c.node().op != OpId::Gemm && c.node().op != OpId::FusedGemm) return false;
  if (!is_f32(c, 0) || !is_f32(c, 1) || !c.constant(1) || c.num_inputs() > 3) return false;
  if (c.has_input(2) && !is_f32(c, 2)) return false;
  if (c.node().op == OpId::FusedGemm && !parse_activation(c.node()).is_ok()) return false;
  return c.has_output(0) && c.output(0).dtype == DType::kFloat32;
}

}  // namespace

bool accepts_gemm_f32_avx512(const PrepareContext& c) { return accepts_gemm(c); }
std::unique_ptr<Kernel> make_gemm_f32_avx512(const ir::Node&) {
  return std::make_unique<GemmF32>(GemmIsa{kGemmMrAvx512, kGemmNrAvx512, &gemm_f32_avx512, "gemm_f32_avx512"},
                                   false);
}

bool accepts_matmul_f32_avx512(const PrepareContext& c) {
  if (c.node().op != OpId::MatMul || c.num_inputs() != 2 || !is_f32(c, 0) || !is_f32(c, 1)) return false;
  return c.constant(1) && c.shape(1).size() == 2 && !c.shape(0).empty() && c.has_output(0) &&
         c.output(0).dtype == DType::kFloat32;
}
std::unique_ptr<Kernel> make_matmul_f32_avx512(const ir::Node&) {
  return std::make_unique<GemmF32>(
      GemmIsa{kGemmMrAvx512, kGemmNrAvx512, &gemm_f32_avx512, "matmul_f32_avx512"}, true);
}

bool accepts_gemm_f32_avx2(const PrepareContext& c) { return accepts_gemm(c); }
std::unique_ptr<Kernel> make_gemm_f32_avx2(const ir::Node&) {
  return std::make_unique<GemmF32>(GemmIsa{kGemmMrAvx2, kGemmNrAvx2, &gemm_f32_avx2, "gemm_f32_avx2"}, false);
}

}  // namespace verge
