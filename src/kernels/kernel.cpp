#include "kernels/kernel.h"

namespace verge {

Status PrepareContext::unsupported_dtype(DType t) const {
  return Status::unsupported(fmt::format("{} does not support dtype {}", op_name(node_.op), dtype_name(t)));
}

}  // namespace verge
