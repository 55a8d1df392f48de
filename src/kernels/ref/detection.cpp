// PLACEHOLDER: reference kernels not written yet.
#include "kernels/ref/ref_common.h"

namespace verge::ref {

std::unique_ptr<Kernel> make_NonMaxSuppression(const ir::Node& n) { return not_written(n); }

}  // namespace verge::ref
