// Optimized kernel variants. The reference kernel of every op comes from the op table (ops.def); this
// registry lists faster variants beside it, one row each in kernels/cpu/variants.def:
//
//   VERGE_KERNEL(Op, name, Isa, priority, accepts_fn, factory_fn)
//
// At prepare, select_kernel() takes the highest-priority variant whose ISA the CPU has and whose
// accepts_fn takes the node (dtypes, attributes, constant weights); otherwise the reference kernel.
// KernelPolicy::kReference always returns the reference kernel.
#pragma once

#include <memory>
#include <span>

#include "core/cpu_features.h"
#include "kernels/kernel.h"
#include "runtime/exec_options.h"

namespace verge {

struct KernelVariant {
  OpId op;
  const char* name;
  Isa isa;
  int priority;
  bool (*accepts)(const PrepareContext&);
  std::unique_ptr<Kernel> (*make)(const ir::Node&);
};

std::span<const KernelVariant> kernel_variants();
std::unique_ptr<Kernel> select_kernel(const PrepareContext& ctx, KernelPolicy policy);

}  // namespace verge
