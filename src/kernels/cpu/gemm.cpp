// PLACEHOLDER: optimized kernels not written yet; accepts_* return false so the registry never picks them.
#include "kernels/kernel.h"

namespace verge {

bool accepts_gemm_f32_avx512(const PrepareContext&) { return false; }
std::unique_ptr<Kernel> make_gemm_f32_avx512(const ir::Node&) { return nullptr; }
bool accepts_matmul_f32_avx512(const PrepareContext&) { return false; }
std::unique_ptr<Kernel> make_matmul_f32_avx512(const ir::Node&) { return nullptr; }
bool accepts_gemm_f32_avx2(const PrepareContext&) { return false; }
std::unique_ptr<Kernel> make_gemm_f32_avx2(const ir::Node&) { return nullptr; }

}  // namespace verge
