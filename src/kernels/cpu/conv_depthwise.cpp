// PLACEHOLDER: optimized kernels not written yet; accepts_* return false so the registry never picks them.
#include "kernels/kernel.h"

namespace verge {

bool accepts_conv_depthwise_avx512(const PrepareContext&) { return false; }
std::unique_ptr<Kernel> make_conv_depthwise_avx512(const ir::Node&) { return nullptr; }
bool accepts_conv_depthwise_avx2(const PrepareContext&) { return false; }
std::unique_ptr<Kernel> make_conv_depthwise_avx2(const ir::Node&) { return nullptr; }

}  // namespace verge
