#include "train/gemm_train.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "core/cpu_features.h"
#include "core/thread_pool.h"

namespace verge::train {
namespace {

// Portable microkernel (same contract as kernels/cpu/gemm.h, no activation): 4 x 16 tiles.
constexpr int kPortableMr = 4, kPortableNr = 16;

void gemm_f32_portable(const float* a, int64_t lda, const float* bpack, int64_t k, int64_t n, float* y,
                       int64_t ldy, int64_t m0, int64_t m1, int64_t p0, int64_t p1, const GemmEpilogue& ep) {
  for (int64_t i0 = m0; i0 < m1; i0 += kPortableMr) {
    const int64_t rows = std::min<int64_t>(kPortableMr, m1 - i0);
    for (int64_t p = p0; p < p1; ++p) {
      float acc[kPortableMr][kPortableNr] = {};
      const float* bp = bpack + p * k * kPortableNr;
      for (int64_t kk = 0; kk < k; ++kk, bp += kPortableNr)
        for (int64_t r = 0; r < rows; ++r) {
          const float av = a[(i0 + r) * lda + kk];
          for (int j = 0; j < kPortableNr; ++j) acc[r][j] += av * bp[j];
        }
      const int64_t col0 = p * kPortableNr, cols = std::min<int64_t>(kPortableNr, n - col0);
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t row = i0 + r;
        for (int64_t j = 0; j < cols; ++j) {
          float v = acc[r][j] * ep.alpha + (ep.bias ? ep.bias[col0 + j] : 0.f);
          if (ep.c) v += ep.beta * ep.c[row * ep.c_rs + (col0 + j) * ep.c_cs];
          y[row * ldy + col0 + j] = v;
        }
      }
    }
  }
}

constexpr SgemmKernel kAvx512{kGemmMrAvx512, kGemmNrAvx512, &gemm_f32_avx512, "avx512"};
constexpr SgemmKernel kAvx2{kGemmMrAvx2, kGemmNrAvx2, &gemm_f32_avx2, "avx2"};
constexpr SgemmKernel kPortable{kPortableMr, kPortableNr, &gemm_f32_portable, "portable"};

// Tasks below this many flops are not worth waking another thread for.
constexpr double kMinTaskFlops = 256.0 * 1024;

struct Scratch {
  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  std::unique_ptr<float[], Free> p;
  int64_t size = 0;
};

}  // namespace

std::vector<const SgemmKernel*> sgemm_kernels() {
  std::vector<const SgemmKernel*> all;
  if (cpu_has(Isa::kAvx512)) all.push_back(&kAvx512);
  if (cpu_has(Isa::kAvx2Fma)) all.push_back(&kAvx2);
  all.push_back(&kPortable);
  return all;
}

const SgemmKernel& sgemm_kernel() {
  static const SgemmKernel* best = sgemm_kernels().front();
  return *best;
}

float* thread_scratch(int slot, int64_t floats) {
  thread_local Scratch slots[8];
  Scratch& s = slots[slot];
  if (s.size < floats) {
    const auto bytes = static_cast<size_t>((floats * 4 + 63) / 64 * 64);
    s.p.reset(static_cast<float*>(std::aligned_alloc(64, bytes)));
    s.size = floats;
  }
  return s.p.get();
}

int64_t packed_b_floats(const SgemmKernel& kr, int64_t k, int64_t n) {
  return (n + kr.nr - 1) / kr.nr * k * kr.nr;
}

namespace {

template <int NR>
void pack_panels(bool trans, int64_t k, int64_t n, const float* b, int64_t ldb, float* dst, int64_t k_total,
                 int64_t row0) {
  constexpr int64_t kBlock = 16;  // transposed: 16 destination rows stay in L1 while NR columns are read
  const int64_t panels = (n + NR - 1) / NR;
  for (int64_t p = 0; p < panels; ++p) {
    float* out = dst + (p * k_total + row0) * NR;
    const int64_t col0 = p * NR, cols = std::min<int64_t>(NR, n - col0);
    if (!trans) {
      const float* src = b + col0;
      if (cols == NR) {
        for (int64_t kk = 0; kk < k; ++kk) std::memcpy(out + kk * NR, src + kk * ldb, NR * sizeof(float));
      } else {
        for (int64_t kk = 0; kk < k; ++kk) {
          float tmp[NR] = {};
          for (int64_t j = 0; j < cols; ++j) tmp[j] = src[kk * ldb + j];
          std::memcpy(out + kk * NR, tmp, NR * sizeof(float));
        }
      }
    } else {
      for (int64_t k0 = 0; k0 < k; k0 += kBlock) {
        const int64_t k1 = std::min(k, k0 + kBlock);
        for (int64_t j = 0; j < cols; ++j) {
          const float* src = b + (col0 + j) * ldb;
          for (int64_t kk = k0; kk < k1; ++kk) out[kk * NR + j] = src[kk];
        }
        for (int64_t j = cols; j < NR; ++j)
          for (int64_t kk = k0; kk < k1; ++kk) out[kk * NR + j] = 0.f;
      }
    }
  }
}

}  // namespace

void pack_b(const SgemmKernel& kr, bool trans, int64_t k, int64_t n, const float* b, int64_t ldb, float* dst,
            int64_t k_total, int64_t row0) {
  switch (kr.nr) {
    case 32:
      return pack_panels<32>(trans, k, n, b, ldb, dst, k_total, row0);
    case 16:
      return pack_panels<16>(trans, k, n, b, ldb, dst, k_total, row0);
    default:
      std::abort();  // every SgemmKernel above has NR 16 or 32
  }
}

void sgemm_packed(const SgemmKernel& kr, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                  int64_t lda, const float* bpack, float* c, int64_t ldc, bool accumulate) {
  if (m <= 0 || n <= 0) return;
  GemmEpilogue ep;
  ep.alpha = alpha;
  if (accumulate) ep.c = c, ep.c_rs = ldc, ep.c_cs = 1, ep.beta = 1.f;
  kr.fn(a, lda, bpack, k, n, c, ldc, 0, m, 0, (n + kr.nr - 1) / kr.nr, ep);
}

void sgemm(ThreadPool* pool, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
           const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate,
           const SgemmKernel& kr) {
  if (m <= 0 || n <= 0) return;
  if (trans_a) {  // make A row-major [m, k]
    float* at = thread_scratch(1, m * k);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t kk = 0; kk < k; ++kk) at[i * k + kk] = a[kk * lda + i];
    a = at, lda = k;
  }
  float* bp = thread_scratch(0, std::max<int64_t>(1, packed_b_floats(kr, k, n)));
  pack_b(kr, trans_b, k, n, b, ldb, bp, k);
  GemmEpilogue ep;
  ep.alpha = alpha;
  if (accumulate) ep.c = c, ep.c_rs = ldc, ep.c_cs = 1, ep.beta = 1.f;
  const int64_t panels = (n + kr.nr - 1) / kr.nr, mblocks = (m + kr.mr - 1) / kr.mr;
  const double unit_flops =
      2.0 * static_cast<double>(std::min<int64_t>(m, kr.mr) * kr.nr * std::max<int64_t>(k, 1));
  const auto grain = static_cast<int64_t>(std::max(1.0, kMinTaskFlops / unit_flops));
  parallel_for(pool, mblocks * panels, grain, [&](int64_t begin, int64_t end) {
    for (int64_t u = begin; u < end;) {  // row-block major: a thread keeps its A rows hot across panels
      const int64_t mb = u / panels, p0 = u - mb * panels, p1 = std::min(panels, p0 + (end - u));
      kr.fn(a, lda, bp, k, n, c, ldc, mb * kr.mr, std::min(m, (mb + 1) * kr.mr), p0, p1, ep);
      u += p1 - p0;
    }
  });
}

}  // namespace verge::train
