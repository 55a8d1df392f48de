// The training engine's float32 GEMM: C = alpha * op(A) op(B) (+ C), row-major with leading dimensions.
//
// Training weights change every step, so nothing is packed ahead of time: op(B) is packed per call into
// the NR-column panels of the inference runtime's microkernels (kernels/cpu/gemm.h: AVX-512 12x32, AVX2
// 6x16), and a transposed A is copied row-major. A portable microkernel with the same contract is the
// fallback on CPUs without AVX2. The variant is chosen once from the CPU features (sgemm_kernel()).
//
// Results are deterministic and independent of the thread count and of how tiles are split: every
// element of C is one in-order sum over k (one FMA per step), whatever tile computed it.
// Thread-safety: the functions are reentrant; packing scratch is per thread.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/cpu/gemm.h"

namespace verge {
class ThreadPool;
}

namespace verge::train {

// One microkernel variant: tiles of mr rows x nr columns over packed B (kernels/cpu/gemm.h contract).
struct SgemmKernel {
  int mr, nr;
  void (*fn)(const float* a, int64_t lda, const float* bpack, int64_t k, int64_t n, float* y, int64_t ldy,
             int64_t m0, int64_t m1, int64_t p0, int64_t p1, const GemmEpilogue& ep);
  const char* name;
};

// The best variant this CPU runs (decided on first use).
const SgemmKernel& sgemm_kernel();
// Every variant this CPU can run, best first (tests compare them all).
std::vector<const SgemmKernel*> sgemm_kernels();

// Floats needed for op(B) [K, N] packed for `kr`: ceil(N / nr) panels of K x nr.
int64_t packed_b_floats(const SgemmKernel& kr, int64_t k, int64_t n);
// Packs rows [0, k) of op(B) (B stored [k, n] with row stride ldb, or [n, k] when `trans`) into panels of
// a packed matrix with `k_total` rows, starting at row `row0`: rows of several B's can be stacked along K
// (e.g. one image each). Columns >= n are zero.
void pack_b(const SgemmKernel& kr, bool trans, int64_t k, int64_t n, const float* b, int64_t ldb, float* dst,
            int64_t k_total, int64_t row0 = 0);

// C[m, n] = alpha * A[m, k] * Bpacked[k, n] (+ C when `accumulate`); A row-major with row stride lda.
// Single-threaded (callers parallelize over images or call sgemm).
void sgemm_packed(const SgemmKernel& kr, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                  int64_t lda, const float* bpack, float* c, int64_t ldc, bool accumulate);

// C[m, n] = alpha * op(A) op(B) (+ C when `accumulate`); op(A) is [m, k] (A stored [k, m] when trans_a),
// op(B) is [k, n] (B stored [n, k] when trans_b). Packs B once and splits (row block, panel) tiles over
// `pool` (nullptr = inline).
void sgemm(ThreadPool* pool, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
           const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate,
           const SgemmKernel& kr = sgemm_kernel());

// Grow-only 64-byte-aligned float scratch, one per thread and purpose (contents are not preserved).
float* thread_scratch(int slot, int64_t floats);

}  // namespace verge::train
