// Reference kernel: NonMaxSuppression. The selection lives in detection_nms.h, shared with the InferFn,
// which has already counted the selected boxes (the output is [num_selected, 3]).
#include "kernels/ref/detection_nms.h"
#include "kernels/ref/ref_common.h"

namespace verge::ref {
namespace {

class NonMaxSuppressionKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    center_point_box_ = c.node().get_int("center_point_box", 0) == 1;
    const size_t num_boxes = static_cast<size_t>(c.shape(0)[1]);
    order_.assign(num_boxes, 0);
    kept_.assign(num_boxes, 0);
    return Status::ok();
  }

  Status run(const RunContext& c) override {
    const Tensor& boxes = c.input(0);
    const Tensor& scores = c.input(1);
    const NmsParams p =
        nms_params(c.has_input(2) ? &c.input(2) : nullptr, c.has_input(3) ? &c.input(3) : nullptr,
                   c.has_input(4) ? &c.input(4) : nullptr, center_point_box_);
    Tensor& out = c.output(0);
    int64_t* y = out.data<int64_t>();
    const int64_t capacity = out.dim(0);
    int64_t row = 0;
    const int64_t n = nms_select(boxes.data<float>(), scores.data<float>(), boxes.dim(0), scores.dim(1),
                                 boxes.dim(1), p, order_, kept_, [&](int64_t b, int64_t cls, int64_t box) {
                                   if (row < capacity) {
                                     y[row * 3 + 0] = b;
                                     y[row * 3 + 1] = cls;
                                     y[row * 3 + 2] = box;
                                   }
                                   ++row;
                                 });
    if (n != capacity)
      return Status::internal(
          fmt::format("NonMaxSuppression selected {} boxes, but the output has {} rows", n, capacity));
    return Status::ok();
  }

 private:
  bool center_point_box_ = false;
  std::vector<int64_t> order_, kept_;
};

}  // namespace

std::unique_ptr<Kernel> make_NonMaxSuppression(const ir::Node&) {
  return std::make_unique<NonMaxSuppressionKernel>();
}

}  // namespace verge::ref
