// float32 Softmax / LogSoftmax (opset-13 single-axis semantics; older opsets are upgraded at import) on
// AVX-512: rows when the axis is innermost, 16-lane columns of the inner axis otherwise.
#include <algorithm>

#include "core/thread_pool.h"
#include "kernels/cpu/softmax_avx512.h"
#include "kernels/kernel.h"

namespace verge {
namespace {

class SoftmaxF32Avx512 final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    const Shape& s = c.shape(0);
    int64_t axis = c.node().get_int("axis", -1);
    if (axis < 0) axis += static_cast<int64_t>(s.size());
    outer_ = n_ = inner_ = 1;
    for (size_t d = 0; d < s.size(); ++d)
      (static_cast<int64_t>(d) < axis ? outer_ : static_cast<int64_t>(d) == axis ? n_ : inner_) *= s[d];
    log_ = c.node().op == OpId::LogSoftmax;
    chunks_ = inner_ == 1 ? 1 : (inner_ + 63) / 64;  // 64 inner lanes per task in the strided case
    grain_ = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, n_ * std::min<int64_t>(inner_, 64)));
    c.allow_in_place(0);
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    const float* x = c.input(0).data<float>();
    float* y = c.output(0).data<float>();
    if (c.output(0).numel() == 0) return Status::ok();
    if (inner_ == 1) {
      parallel_for(c.pool, outer_, grain_, [&](int64_t b, int64_t e) {
        softmax_rows_avx512(x + b * n_, y + b * n_, e - b, n_, log_);
      });
    } else {
      parallel_for(c.pool, outer_ * chunks_, grain_, [&](int64_t b, int64_t e) {
        for (int64_t t = b; t < e; ++t) {
          const int64_t o = t / chunks_, i0 = t % chunks_ * 64;
          softmax_strided_avx512(x + o * n_ * inner_, y + o * n_ * inner_, n_, inner_, i0,
                                 std::min(inner_, i0 + 64), log_);
        }
      });
    }
    return Status::ok();
  }
  const char* name() const override { return "softmax_f32_avx512"; }

 private:
  int64_t outer_ = 1, n_ = 1, inner_ = 1, chunks_ = 1, grain_ = 1;
  bool log_ = false;
};

}  // namespace

bool accepts_softmax_f32_avx512(const PrepareContext& c) {
  if (c.dtype(0) != DType::kFloat32 || !c.has_output(0)) return false;
  const int64_t rank = static_cast<int64_t>(c.shape(0).size()), axis = c.node().get_int("axis", -1);
  return rank > 0 && axis >= -rank && axis < rank;
}
std::unique_ptr<Kernel> make_softmax_f32_avx512(const ir::Node&) {
  return std::make_unique<SoftmaxF32Avx512>();
}

}  // namespace verge
