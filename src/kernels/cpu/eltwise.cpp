// PLACEHOLDER: optimized kernels not written yet; accepts_* return false so the registry never picks them.
#include "kernels/kernel.h"

namespace verge {

bool accepts_binary_f32_avx512(const PrepareContext&) { return false; }
std::unique_ptr<Kernel> make_binary_f32_avx512(const ir::Node&) { return nullptr; }
bool accepts_unary_f32_avx512(const PrepareContext&) { return false; }
std::unique_ptr<Kernel> make_unary_f32_avx512(const ir::Node&) { return nullptr; }

}  // namespace verge
