#include "kernels/registry.h"

#include <array>

namespace verge {

#define VERGE_KERNEL(Op, Name, IsaLevel, Priority, Accepts, Factory) \
  bool Accepts(const PrepareContext&);                                \
  std::unique_ptr<Kernel> Factory(const ir::Node&);
#include "kernels/cpu/variants.def"
#undef VERGE_KERNEL

namespace {
const KernelVariant kVariants[] = {
#define VERGE_KERNEL(Op, Name, IsaLevel, Priority, Accepts, Factory) \
  {OpId::Op, Name, Isa::IsaLevel, Priority, &Accepts, &Factory},
#include "kernels/cpu/variants.def"
#undef VERGE_KERNEL
    {OpId::kUnknown, nullptr, Isa::kScalar, 0, nullptr, nullptr},  // sentinel keeps the array non-empty
};
}  // namespace

std::span<const KernelVariant> kernel_variants() { return {kVariants, std::size(kVariants) - 1}; }

std::unique_ptr<Kernel> select_kernel(const PrepareContext& ctx, KernelPolicy policy) {
  const OpId op = ctx.node().op;
  if (policy == KernelPolicy::kBest) {
    const KernelVariant* best = nullptr;
    for (const KernelVariant& v : kernel_variants())
      if (v.op == op && cpu_has(v.isa) && (!best || v.priority > best->priority) && v.accepts(ctx)) best = &v;
    if (best) return best->make(ctx.node());
  }
  return op_info(op).make_reference(ctx.node());
}

}  // namespace verge
