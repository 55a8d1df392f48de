#include "ir/op_table.h"

#include <array>

#include "ir/infer.h"
#include "kernels/kernel.h"

namespace verge {

// Declarations of every row's infer function and reference kernel factory.
#define VERGE_OP(Name, Domain, MinOpset, MaxOpset, Infer) \
  Status Infer(InferContext&);                            \
  namespace ref {                                         \
  std::unique_ptr<Kernel> make_##Name(const ir::Node&);   \
  }
#include "ir/ops.def"
#undef VERGE_OP

namespace {
constexpr std::array<OpInfo, kOpCount> kOps = {{
#define VERGE_OP(Name, Domain, MinOpset, MaxOpset, Infer) {#Name, Domain, MinOpset, MaxOpset, &Infer, &ref::make_##Name},
#include "ir/ops.def"
#undef VERGE_OP
}};
}  // namespace

const OpInfo& op_info(OpId op) { return kOps[static_cast<size_t>(op)]; }

std::string_view op_name(OpId op) { return op == OpId::kUnknown ? std::string_view("?") : kOps[static_cast<size_t>(op)].name; }

std::optional<OpId> find_op(std::string_view domain, std::string_view op_type) {
  if (domain == "ai.onnx") domain = "";
  for (size_t i = 0; i < kOps.size(); ++i)
    if (kOps[i].name == op_type && kOps[i].domain == domain) return static_cast<OpId>(i);
  return std::nullopt;
}

}  // namespace verge
