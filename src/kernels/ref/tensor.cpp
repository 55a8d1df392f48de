// PLACEHOLDER: reference kernels not written yet.
#include "kernels/ref/ref_common.h"

namespace verge::ref {

std::unique_ptr<Kernel> make_Identity(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_Dropout(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_Constant(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_ConstantOfShape(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_EyeLike(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_Range(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_Shape(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_Size(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_Reshape(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_Flatten(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_Squeeze(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_Unsqueeze(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_Transpose(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_Concat(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_Split(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_Slice(const ir::Node& n) { return not_written(n); }

}  // namespace verge::ref
