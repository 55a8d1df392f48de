// Reference kernels: Resize (opset 11-17 semantics) and the IR Upsample node, N-dimensional.
//
// Every output coordinate is mapped to an input coordinate per axis (coordinate_transformation_mode),
// which gives up to 4 taps (input index, weight) per axis: 1 for nearest, 2 for linear, 4 for cubic.
// The output element is the sum over all tap combinations of the product of the per-axis weights times
// the input element, accumulated in double (as the ONNX reference does). Indices outside the input are
// clamped to the edge (edge padding), except that cubic with exclude_outside drops those taps and
// renormalizes. tf_crop_and_resize returns extrapolation_value when any axis maps outside the input.
// Scale factors are read in run(): scales/sizes may be run-time values (the node then runs dynamically,
// and the output shape can change between runs without a new prepare()).
#include <cmath>
#include <limits>

#include "kernels/ref/ref_common.h"
#include "kernels/ref/resize_taps.h"

namespace verge::ref {
namespace {

using InterpTypes = TypeList<float, double, float16_t, bfloat16_t, int8_t, uint8_t>;

// double -> T: half types round, integers truncate toward zero like the ONNX reference's astype() but
// saturate instead of overflowing (cubic can overshoot), NaN -> 0.
template <class T>
T from_double(double v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v != 0;
  } else if constexpr (std::is_integral_v<T>) {
    if (std::isnan(v)) return T(0);
    v = std::trunc(v);
    if (v <= static_cast<double>(std::numeric_limits<T>::min())) return std::numeric_limits<T>::min();
    if (v >= static_cast<double>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
    return static_cast<T>(v);
  } else {
    return to_storage<T>(v);
  }
}

class ResizeKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    VERGE_RETURN_IF_ERROR(parse_resize_params(c.node(), p_));
    const Shape& in = c.shape(0);
    rank_ = static_cast<int>(in.size());
    scales_at_ = p_.upsample ? kUpsampleScales : kResizeScales;
    use_scales_input_ = c.has_input(scales_at_) && shape_numel(c.shape(scales_at_)) > 0;
    use_sizes_ = !use_scales_input_ && !p_.upsample;
    attr_scales_.clear();
    if (p_.upsample && !use_scales_input_) {
      for (float s : c.node().get_floats("scales")) attr_scales_.push_back(s);
      if (static_cast<int>(attr_scales_.size()) != rank_)
        return c.invalid("scales must have {} values (the rank of X), got {}", rank_, attr_scales_.size());
    }
    if (p_.coord == ResizeCoord::kTfCropAndResize &&
        (!c.has_input(kResizeRoi) || shape_numel(c.shape(kResizeRoi)) != 2 * rank_))
      return c.invalid("coordinate_transformation_mode tf_crop_and_resize requires a 'roi' of {} values",
                       2 * rank_);
    in_strides_ = strides_of(in);
    geometry_.assign(static_cast<size_t>(rank_), ResizeAxis{});
    taps_.assign(static_cast<size_t>(rank_), ResizeTaps{});
    out_index_.assign(static_cast<size_t>(rank_), 0);
    tap_index_.assign(static_cast<size_t>(rank_), 0);
    const DType t = c.dtype(0);
    const bool ok =
        p_.mode == ResizeMode::kNearest
            ? dispatch(AllTypes{}, t, [&]<class T>() { fn_ = &ResizeKernel::resample<T, true>; })
            : dispatch(InterpTypes{}, t, [&]<class T>() { fn_ = &ResizeKernel::resample<T, false>; });
    if (!ok) return c.unsupported_dtype(t);
    return Status::ok();
  }

  Status run(const RunContext& c) override {
    const Tensor& x = c.input(0);
    Tensor& y = c.output(0);
    if (y.numel() == 0) return Status::ok();
    for (int d = 0; d < rank_; ++d) {
      ResizeAxis& g = geometry_[static_cast<size_t>(d)];
      g.in = x.dim(d);
      const int64_t out = y.dim(d);
      if (use_sizes_) {
        g.scale = static_cast<double>(out) / static_cast<double>(g.in);
        g.length_resized = static_cast<double>(out);
      } else {
        g.scale =
            use_scales_input_ ? c.input(scales_at_).get_as_double(d) : attr_scales_[static_cast<size_t>(d)];
        g.length_resized = g.scale * static_cast<double>(g.in);
      }
      if (p_.coord == ResizeCoord::kTfCropAndResize) {
        g.roi_start = c.input(kResizeRoi).get_as_double(d);
        g.roi_end = c.input(kResizeRoi).get_as_double(d + rank_);
      }
    }
    (this->*fn_)(x, y);
    return Status::ok();
  }

 private:
  template <class T, bool kNearest>
  void resample(const Tensor& xt, Tensor& yt) {
    const T* x = xt.data<T>();
    T* y = yt.data<T>();
    const Shape& out = yt.shape();
    const T extrapolated = from_double<T>(p_.extrapolation_value);
    std::fill(out_index_.begin(), out_index_.end(), 0);
    for (int d = 0; d < rank_; ++d)
      taps_[static_cast<size_t>(d)] = resize_taps(p_, geometry_[static_cast<size_t>(d)], 0);
    const int64_t total = yt.numel();
    for (int64_t o = 0; o < total; ++o) {
      bool outside = false;
      for (const ResizeTaps& t : taps_) outside = outside || t.outside;
      if (outside) {
        y[o] = extrapolated;
      } else if constexpr (kNearest) {
        int64_t off = 0;
        for (int d = 0; d < rank_; ++d)
          off += taps_[static_cast<size_t>(d)].idx[0] * in_strides_[static_cast<size_t>(d)];
        y[o] = x[off];
      } else {
        double acc = 0;
        std::fill(tap_index_.begin(), tap_index_.end(), 0);
        bool any = true;
        for (const ResizeTaps& t : taps_) any = any && t.n > 0;
        while (any) {
          double w = 1;
          int64_t off = 0;
          for (int d = 0; d < rank_; ++d) {
            const ResizeTaps& t = taps_[static_cast<size_t>(d)];
            const int k = tap_index_[static_cast<size_t>(d)];
            w *= t.w[k];
            off += t.idx[k] * in_strides_[static_cast<size_t>(d)];
          }
          acc += w * static_cast<double>(x[off]);
          int d = rank_ - 1;
          for (; d >= 0; --d) {
            if (++tap_index_[static_cast<size_t>(d)] < taps_[static_cast<size_t>(d)].n) break;
            tap_index_[static_cast<size_t>(d)] = 0;
          }
          if (d < 0) break;
        }
        y[o] = from_double<T>(acc);
      }
      // Next output coordinate; recompute the taps of the axes that changed.
      int d = rank_ - 1;
      for (; d >= 0; --d) {
        if (++out_index_[static_cast<size_t>(d)] < out[static_cast<size_t>(d)]) break;
        out_index_[static_cast<size_t>(d)] = 0;
      }
      if (d < 0) break;
      for (int e = d; e < rank_; ++e)
        taps_[static_cast<size_t>(e)] =
            resize_taps(p_, geometry_[static_cast<size_t>(e)], out_index_[static_cast<size_t>(e)]);
    }
  }

  ResizeParams p_;
  int rank_ = 0;
  size_t scales_at_ = kResizeScales;
  bool use_scales_input_ = false, use_sizes_ = false;
  std::vector<double> attr_scales_;
  std::vector<int64_t> in_strides_;
  std::vector<ResizeAxis> geometry_;
  std::vector<ResizeTaps> taps_;
  std::vector<int64_t> out_index_;
  std::vector<int> tap_index_;
  void (ResizeKernel::*fn_)(const Tensor&, Tensor&) = nullptr;
};

}  // namespace

std::unique_ptr<Kernel> make_Resize(const ir::Node&) { return std::make_unique<ResizeKernel>(); }
std::unique_ptr<Kernel> make_Upsample(const ir::Node&) { return std::make_unique<ResizeKernel>(); }

}  // namespace verge::ref
