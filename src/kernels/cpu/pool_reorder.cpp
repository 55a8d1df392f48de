// PLACEHOLDER: optimized kernels not written yet; accepts_* return false so the registry never picks them.
#include "kernels/kernel.h"

namespace verge {

bool accepts_pool_avx512(const PrepareContext&) { return false; }
std::unique_ptr<Kernel> make_pool_avx512(const ir::Node&) { return nullptr; }
bool accepts_pool_avx2(const PrepareContext&) { return false; }
std::unique_ptr<Kernel> make_pool_avx2(const ir::Node&) { return nullptr; }
bool accepts_to_blocked_fast(const PrepareContext&) { return false; }
std::unique_ptr<Kernel> make_to_blocked_fast(const ir::Node&) { return nullptr; }
bool accepts_from_blocked_fast(const PrepareContext&) { return false; }
std::unique_ptr<Kernel> make_from_blocked_fast(const ir::Node&) { return nullptr; }
bool accepts_concat_nchwc_fast(const PrepareContext&) { return false; }
std::unique_ptr<Kernel> make_concat_nchwc_fast(const ir::Node&) { return nullptr; }

}  // namespace verge
