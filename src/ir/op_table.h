// The op table generated from ops.def: OpId enum, per-op metadata, shape inference and reference kernel.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "verge/status.h"

namespace verge {
class Kernel;
class InferContext;
namespace ir {
struct Node;
}

enum class OpId : uint16_t {
#define VERGE_OP(Name, Domain, MinOpset, MaxOpset, Infer) Name,
#include "ir/ops.def"
#undef VERGE_OP
  kCount,
  kUnknown = kCount,  // an op not in the table (kept by the importer only when asked to, e.g. for inspect)
};

using InferFn = Status (*)(InferContext&);
using KernelFactory = std::unique_ptr<Kernel> (*)(const ir::Node&);

struct OpInfo {
  std::string_view name;
  std::string_view domain;
  int min_opset;
  int max_opset;
  InferFn infer;
  KernelFactory make_reference;
};

inline constexpr size_t kOpCount = static_cast<size_t>(OpId::kCount);

const OpInfo& op_info(OpId op);
std::string_view op_name(OpId op);
// Looks up (domain, op_type); "ai.onnx" and "" are the same domain.
std::optional<OpId> find_op(std::string_view domain, std::string_view op_type);

}  // namespace verge
