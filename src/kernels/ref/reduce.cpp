// PLACEHOLDER: reference kernels not written yet.
#include "kernels/ref/ref_common.h"

namespace verge::ref {

std::unique_ptr<Kernel> make_ReduceL1(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_ReduceL2(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_ReduceLogSum(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_ReduceLogSumExp(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_ReduceMax(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_ReduceMean(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_ReduceMin(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_ReduceProd(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_ReduceSum(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_ReduceSumSquare(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_ArgMax(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_ArgMin(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_Softmax(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_LogSoftmax(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_Hardmax(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_CumSum(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_TopK(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_BatchNormalization(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_InstanceNormalization(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_LayerNormalization(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_LRN(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_MeanVarianceNormalization(const ir::Node& n) { return not_written(n); }

}  // namespace verge::ref
