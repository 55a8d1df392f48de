// PLACEHOLDER: reference kernels not written yet.
#include "kernels/ref/ref_common.h"

namespace verge::ref {

std::unique_ptr<Kernel> make_ConvInteger(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_QLinearConv(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_MatMulInteger(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_QLinearMatMul(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_QuantizeLinear(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_DequantizeLinear(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_DynamicQuantizeLinear(const ir::Node& n) { return not_written(n); }

}  // namespace verge::ref
