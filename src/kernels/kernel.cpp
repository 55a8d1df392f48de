#include "kernels/kernel.h"

#include "runtime/exec_options.h"

namespace verge {

Status PrepareContext::unsupported_dtype(DType t) const {
  return Status::unsupported(fmt::format("{} does not support dtype {}", op_name(node_.op), dtype_name(t)));
}

bool PrepareContext::is_initializer(size_t i) const {
  if (i >= node_.inputs.size() || i >= constants_.size() || constants_[i] == nullptr) return false;
  const ir::ValueId v = node_.inputs[i];
  return v != ir::kNoValue && graph_.value(v).constant.get() == constants_[i];
}

PackCache* PrepareContext::options_packs() const { return options_.packs; }

}  // namespace verge
