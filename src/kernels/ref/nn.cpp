// PLACEHOLDER: reference kernels not written yet.
#include "kernels/ref/ref_common.h"

namespace verge::ref {

std::unique_ptr<Kernel> make_Conv(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_ConvTranspose(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_AveragePool(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_MaxPool(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_GlobalAveragePool(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_GlobalMaxPool(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_Gemm(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_MatMul(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_Einsum(const ir::Node& n) { return not_written(n); }

}  // namespace verge::ref
