#include "kernels/ref/ref_common.h"

namespace verge::ref {

std::vector<int64_t> strides_of(std::span<const int64_t> shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (size_t d = shape.size(); d-- > 1;) s[d - 1] = s[d] * shape[d];
  return s;
}

Broadcaster::Broadcaster(const Shape& out, std::span<const Shape* const> inputs) : out_(out), numel_(shape_numel(out)) {
  const size_t r = out.size();
  for (const Shape* in : inputs) {
    std::vector<int64_t> s(r, 0);
    const std::vector<int64_t> own = strides_of(*in);
    const size_t lead = r - in->size();
    for (size_t d = 0; d < in->size(); ++d) s[lead + d] = (*in)[d] == 1 ? 0 : own[d];
    strides_.push_back(std::move(s));
  }
  idx_.assign(r, 0);
  off_.assign(strides_.size(), 0);
}

namespace {
class NotWritten final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    return Status::unsupported(fmt::format("the reference kernel for {} is not written yet", c.node().op_type));
  }
  Status run(const RunContext&) override { return Status::internal("unreachable"); }
};
}  // namespace

std::unique_ptr<Kernel> not_written(const ir::Node&) { return std::make_unique<NotWritten>(); }

}  // namespace verge::ref
