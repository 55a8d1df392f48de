// Reference kernels: reductions (Reduce*, ArgMax/ArgMin), the softmax family, CumSum, TopK and the
// normalizations (BatchNormalization, InstanceNormalization, LayerNormalization, LRN,
// MeanVarianceNormalization).
// Float math is done in double and rounded once to the output type. Integer sums and products wrap
// (two's complement, computed in uint64 so there is no UB); integer results of float math (Mean, L2,
// LogSum, LogSumExp) truncate toward zero and saturate.
#include <cmath>
#include <cstring>
#include <limits>

#include "kernels/ref/ref_common.h"

namespace verge::ref {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

template <class T>
double to_double(T v) {
  if constexpr (kIsHalf<T>)
    return static_cast<double>(static_cast<float>(v));
  else
    return static_cast<double>(v);
}

// double -> T: rounds for float types; truncates toward zero and saturates for integers (NaN -> 0).
template <class T>
T from_double(double v) {
  if constexpr (kIsFloat<T>) {
    return to_storage<T>(v);
  } else {
    if (std::isnan(v)) return T(0);
    constexpr double lo = static_cast<double>(std::numeric_limits<T>::lowest());
    constexpr double hi = static_cast<double>(std::numeric_limits<T>::max());
    if (v <= lo) return std::numeric_limits<T>::lowest();
    if (v >= hi) return std::numeric_limits<T>::max();
    return static_cast<T>(v);
  }
}

// Ordering used by ArgMax/ArgMin/Hardmax/TopK: NaN is greater than every number (numpy's argmax picks
// NaN). Floats compare as double, integers as themselves (int64 does not fit a double).
template <class T>
using KeyT = std::conditional_t<kIsFloat<T>, double, T>;
template <class T>
KeyT<T> key(T v) {
  if constexpr (kIsFloat<T>)
    return to_double(v);
  else
    return v;
}
template <class K>
bool greater(K a, K b) {
  if constexpr (std::is_floating_point_v<K>) {
    if (std::isnan(a)) return !std::isnan(b);
    if (std::isnan(b)) return false;
  }
  return a > b;
}
// ArgMin's order: NaN first (numpy's argmin also picks NaN), then the smaller value.
template <class K>
bool smaller(K a, K b) {
  if constexpr (std::is_floating_point_v<K>) {
    if (std::isnan(a)) return !std::isnan(b);
    if (std::isnan(b)) return false;
  }
  return a < b;
}
template <class K>
bool same(K a, K b) {
  if constexpr (std::is_floating_point_v<K>) {
    if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  }
  return a == b;
}

int64_t product(std::span<const int64_t> dims) {
  int64_t p = 1;
  for (int64_t d : dims) p *= d;
  return p;
}

// Splits a shape at `axis` into outer x n x inner (row-major: offset = (o * n + j) * inner + i).
struct AxisSplit {
  int64_t outer = 1, n = 1, inner = 1;
  AxisSplit() = default;
  AxisSplit(const Shape& s, int axis)
      : outer(product(std::span(s).first(static_cast<size_t>(axis)))),
        n(s[static_cast<size_t>(axis)]),
        inner(product(std::span(s).subspan(static_cast<size_t>(axis) + 1))) {}
};

// Calls f(offset) for every index of the sub-space `dims` (row-major), offset = base + sum idx[k] *
// strides[k]. `idx` is scratch with dims.size() elements. Nothing is called if a dim is 0.
template <class F>
void walk(std::span<const int64_t> dims, std::span<const int64_t> strides, std::span<int64_t> idx,
          int64_t base, F&& f) {
  for (int64_t d : dims)
    if (d == 0) return;
  std::fill(idx.begin(), idx.end(), 0);
  int64_t off = base;
  const size_t r = dims.size();
  for (;;) {
    f(off);
    size_t k = r;
    for (;;) {
      if (k == 0) return;
      --k;
      if (++idx[k] < dims[k]) {
        off += strides[k];
        break;
      }
      off -= strides[k] * (dims[k] - 1);
      idx[k] = 0;
    }
  }
}

// A reduction over a set of axes: the kept axes enumerate the outputs (in row-major order, which is
// also the output layout with or without keepdims), the reduced axes enumerate the reduced elements.
// reserve() in prepare; build() does not allocate, so run() may rebuild it for runtime axes.
struct ReduceGeometry {
  std::vector<int64_t> kept_dims, kept_strides, red_dims, red_strides, out_idx, red_idx;
  int64_t count = 1;  // elements per reduction

  void reserve(size_t rank) {
    for (auto* v : {&kept_dims, &kept_strides, &red_dims, &red_strides}) v->reserve(rank);
    out_idx.reserve(rank);
    red_idx.reserve(rank);
  }
  void build(const Shape& shape, std::span<const char> mask) {
    kept_dims.clear();
    kept_strides.clear();
    red_dims.clear();
    red_strides.clear();
    count = 1;
    int64_t stride = 1;
    for (size_t d = shape.size(); d-- > 0;) {
      if (mask[d]) {
        red_dims.insert(red_dims.begin(), shape[d]);
        red_strides.insert(red_strides.begin(), stride);
        count *= shape[d];
      } else {
        kept_dims.insert(kept_dims.begin(), shape[d]);
        kept_strides.insert(kept_strides.begin(), stride);
      }
      stride *= shape[d];
    }
    out_idx.resize(kept_dims.size());
    red_idx.resize(red_dims.size());
  }
  // f(output_index, base_offset) for every output element.
  template <class F>
  void for_each_output(F&& f) {
    int64_t o = 0;
    walk(kept_dims, kept_strides, out_idx, 0, [&](int64_t base) { f(o++, base); });
  }
  // f(offset) for every element reduced into the output at base_offset.
  template <class F>
  void for_each_reduced(int64_t base, F&& f) {
    walk(red_dims, red_strides, red_idx, base, f);
  }
};

// Sets mask from axes (already validated by shape inference); empty axes = all axes.
template <class GetAxis>
void axes_to_mask(std::vector<char>& mask, int64_t count, GetAxis&& get) {
  const auto rank = static_cast<int64_t>(mask.size());
  std::fill(mask.begin(), mask.end(), count == 0 ? 1 : 0);
  for (int64_t i = 0; i < count; ++i) {
    const int64_t a = get(i);
    mask[static_cast<size_t>(a < 0 ? a + rank : a)] = 1;
  }
}

// Validates an axes attribute (range, repeats) for kernels whose InferFn is infer_unary.
Status check_axes(std::span<const int64_t> axes, int rank) {
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  for (int64_t a : axes) {
    VERGE_ASSIGN_OR_RETURN(const int d, normalize_axis(a, rank));
    if (seen[static_cast<size_t>(d)])
      return Status::invalid_model(fmt::format("axis {} appears more than once in axes", a));
    seen[static_cast<size_t>(d)] = true;
  }
  return Status::ok();
}

// ---------------------------------------------------------------------------------------------------
// Reduce*
enum class Red { kL1, kL2, kLogSum, kLogSumExp, kMax, kMean, kMin, kProd, kSum, kSumSquare };

using ReduceTypes = TypeList<float, double, float16_t, bfloat16_t, int32_t, int64_t, uint32_t, uint64_t>;
using ReduceMinMaxTypes =
    TypeList<float, double, float16_t, bfloat16_t, int32_t, int64_t, uint32_t, uint64_t, int8_t, uint8_t>;

template <Red K, class T>
T reduce_one(const T* x, int64_t base, ReduceGeometry& g) {
  if constexpr (K == Red::kMax || K == Red::kMin) {
    constexpr bool kMax = K == Red::kMax;
    if constexpr (kIsFloat<T>) {
      double acc = kMax ? -kInf : kInf;
      bool nan = false;
      g.for_each_reduced(base, [&](int64_t off) {
        const double v = to_double(x[off]);
        if (std::isnan(v))
          nan = true;
        else if (kMax ? v > acc : v < acc)
          acc = v;
      });
      return from_double<T>(nan ? kNaN : acc);
    } else {
      T acc = kMax ? std::numeric_limits<T>::lowest() : std::numeric_limits<T>::max();
      g.for_each_reduced(base, [&](int64_t off) {
        if (kMax ? x[off] > acc : x[off] < acc) acc = x[off];
      });
      return acc;
    }
  } else if constexpr (K == Red::kLogSumExp) {
    double m = -kInf;
    bool nan = false;
    g.for_each_reduced(base, [&](int64_t off) {
      const double v = to_double(x[off]);
      if (std::isnan(v))
        nan = true;
      else
        m = std::max(m, v);
    });
    if (nan) return from_double<T>(kNaN);
    if (!std::isfinite(m)) return from_double<T>(m);  // empty or all -inf: -inf; any +inf: +inf
    double s = 0;
    g.for_each_reduced(base, [&](int64_t off) { s += std::exp(to_double(x[off]) - m); });
    return from_double<T>(m + std::log(s));
  } else if constexpr (!kIsFloat<T> &&
                       (K == Red::kSum || K == Red::kSumSquare || K == Red::kL1 || K == Red::kProd)) {
    // Modular arithmetic in uint64 equals modular arithmetic in T after truncation.
    uint64_t acc = K == Red::kProd ? 1 : 0;
    g.for_each_reduced(base, [&](int64_t off) {
      const T t = x[off];
      const auto v = static_cast<uint64_t>(t);
      if constexpr (K == Red::kSum)
        acc += v;
      else if constexpr (K == Red::kSumSquare)
        acc += v * v;
      else if constexpr (K == Red::kProd)
        acc *= v;
      else if constexpr (std::is_signed_v<T>)
        acc += t < T(0) ? uint64_t{0} - v : v;
      else
        acc += v;
    });
    return static_cast<T>(acc);
  } else {
    double acc = K == Red::kProd ? 1.0 : 0.0;
    g.for_each_reduced(base, [&](int64_t off) {
      const double v = to_double(x[off]);
      if constexpr (K == Red::kProd)
        acc *= v;
      else if constexpr (K == Red::kSumSquare || K == Red::kL2)
        acc += v * v;
      else if constexpr (K == Red::kL1)
        acc += std::fabs(v);
      else
        acc += v;  // Sum, Mean, LogSum
    });
    if constexpr (K == Red::kMean)
      acc /= static_cast<double>(g.count);  // empty: 0/0 = NaN
    else if constexpr (K == Red::kL2)
      acc = std::sqrt(acc);
    else if constexpr (K == Red::kLogSum)
      acc = std::log(acc);
    return from_double<T>(acc);
  }
}

template <Red K>
class ReduceKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    const ir::Node& n = c.node();
    shape_ = c.shape(0);
    mask_.assign(shape_.size(), 0);
    geo_.reserve(shape_.size());
    bytes_ = shape_numel(shape_) * static_cast<int64_t>(dtype_size(c.dtype(0)));
    if constexpr (K == Red::kSum) {
      noop_with_empty_ = n.get_int("noop_with_empty_axes", 0) != 0;
      if (c.has_input(1) && shape_numel(c.shape(1)) > 0) {
        if (const Tensor* axes = c.constant(1))
          set_axes(*axes);
        else
          runtime_axes_ = true;
      } else {
        identity_ = noop_with_empty_;
        set_axes(std::span<const int64_t>());
      }
    } else {
      const std::vector<int64_t> axes = n.get_ints("axes");
      set_axes(std::span<const int64_t>(axes));
    }
    using Types = std::conditional_t<K == Red::kMax || K == Red::kMin, ReduceMinMaxTypes, ReduceTypes>;
    if (!dispatch(Types{}, c.dtype(0), [&]<class T>() { fn_ = &apply<T>; }))
      return c.unsupported_dtype(c.dtype(0));
    return Status::ok();
  }

  Status run(const RunContext& c) override {
    if (identity_) {
      if (bytes_ > 0) std::memcpy(c.output(0).raw(), c.input(0).raw(), static_cast<size_t>(bytes_));
      return Status::ok();
    }
    if (runtime_axes_) set_axes(c.input(1));
    fn_(c.input(0), c.output(0), geo_);
    return Status::ok();
  }

 private:
  void set_axes(std::span<const int64_t> axes) {
    axes_to_mask(mask_, static_cast<int64_t>(axes.size()),
                 [&](int64_t i) { return axes[static_cast<size_t>(i)]; });
    geo_.build(shape_, mask_);
  }
  void set_axes(const Tensor& axes) {
    axes_to_mask(mask_, axes.numel(), [&](int64_t i) { return axes.get_as_int64(i); });
    geo_.build(shape_, mask_);
  }
  template <class T>
  static void apply(const Tensor& x, Tensor& y, ReduceGeometry& g) {
    const T* in = x.data<T>();
    T* out = y.data<T>();
    g.for_each_output([&](int64_t o, int64_t base) { out[o] = reduce_one<K, T>(in, base, g); });
  }

  Shape shape_;
  std::vector<char> mask_;
  ReduceGeometry geo_;
  bool noop_with_empty_ = false, identity_ = false, runtime_axes_ = false;
  int64_t bytes_ = 0;
  void (*fn_)(const Tensor&, Tensor&, ReduceGeometry&) = nullptr;
};

// ---------------------------------------------------------------------------------------------------
// ArgMax / ArgMin: first (or with select_last_index, last) position of the extreme value.
using ArgTypes = TypeList<float, double, float16_t, bfloat16_t, int8_t, int16_t, int32_t, int64_t, uint8_t,
                          uint16_t, uint32_t, uint64_t>;

template <bool kMax>
class ArgReduceKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    VERGE_ASSIGN_OR_RETURN(const int axis,
                           normalize_axis(c.node().get_int("axis", 0), static_cast<int>(c.shape(0).size())));
    split_ = AxisSplit(c.shape(0), axis);
    last_ = c.node().get_int("select_last_index", 0) != 0;
    if (!dispatch(ArgTypes{}, c.dtype(0), [&]<class T>() { fn_ = &apply<T>; }))
      return c.unsupported_dtype(c.dtype(0));
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    fn_(c.input(0), c.output(0), split_, last_);
    return Status::ok();
  }

 private:
  template <class T>
  static void apply(const Tensor& xt, Tensor& yt, const AxisSplit& s, bool last) {
    const T* x = xt.data<T>();
    int64_t* y = yt.data<int64_t>();
    for (int64_t o = 0; o < s.outer; ++o) {
      for (int64_t i = 0; i < s.inner; ++i) {
        const T* p = x + o * s.n * s.inner + i;
        int64_t best = 0;
        KeyT<T> bv = key(p[0]);
        for (int64_t j = 1; j < s.n; ++j) {
          const KeyT<T> v = key(p[j * s.inner]);
          const bool better = kMax ? greater(v, bv) : smaller(v, bv);
          if (better || (last && same(v, bv))) {
            best = j;
            bv = v;
          }
        }
        y[o * s.inner + i] = best;
      }
    }
  }
  AxisSplit split_;
  bool last_ = false;
  void (*fn_)(const Tensor&, Tensor&, const AxisSplit&, bool) = nullptr;
};

// ---------------------------------------------------------------------------------------------------
// Softmax / LogSoftmax / Hardmax along one axis.
enum class SoftmaxKind { kSoftmax, kLogSoftmax, kHardmax };

template <SoftmaxKind K>
class SoftmaxKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    VERGE_ASSIGN_OR_RETURN(const int axis,
                           normalize_axis(c.node().get_int("axis", -1), static_cast<int>(c.shape(0).size())));
    split_ = AxisSplit(c.shape(0), axis);
    if (!dispatch(FloatTypes{}, c.dtype(0), [&]<class T>() { fn_ = &apply<T>; }))
      return c.unsupported_dtype(c.dtype(0));
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    fn_(c.input(0), c.output(0), split_);
    return Status::ok();
  }

 private:
  template <class T>
  static void apply(const Tensor& xt, Tensor& yt, const AxisSplit& s) {
    const T* x = xt.data<T>();
    T* y = yt.data<T>();
    if (s.n == 0) return;
    for (int64_t o = 0; o < s.outer; ++o) {
      for (int64_t i = 0; i < s.inner; ++i) {
        const int64_t base = o * s.n * s.inner + i;
        auto at = [&](int64_t j) { return base + j * s.inner; };
        int64_t arg = 0;
        double m = to_double(x[at(0)]);
        for (int64_t j = 1; j < s.n; ++j) {
          const double v = to_double(x[at(j)]);
          if (greater(v, m)) {
            m = v;
            arg = j;
          }
        }
        if constexpr (K == SoftmaxKind::kHardmax) {
          for (int64_t j = 0; j < s.n; ++j) y[at(j)] = from_double<T>(j == arg ? 1.0 : 0.0);
        } else {
          double sum = 0;
          for (int64_t j = 0; j < s.n; ++j) sum += std::exp(to_double(x[at(j)]) - m);
          for (int64_t j = 0; j < s.n; ++j) {
            const double d = to_double(x[at(j)]) - m;
            y[at(j)] = from_double<T>(K == SoftmaxKind::kSoftmax ? std::exp(d) / sum : d - std::log(sum));
          }
        }
      }
    }
  }
  AxisSplit split_;
  void (*fn_)(const Tensor&, Tensor&, const AxisSplit&) = nullptr;
};

// ---------------------------------------------------------------------------------------------------
// CumSum(x, axis): axis is a scalar input, validated in prepare when constant, else in run.
using CumSumTypes = TypeList<float, double, float16_t, bfloat16_t, int32_t, int64_t, uint32_t, uint64_t>;

class CumSumKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    if (!c.has_input(1)) return c.invalid("CumSum requires the axis input");
    if (c.dtype(1) != DType::kInt32 && c.dtype(1) != DType::kInt64)
      return c.invalid("axis must be int32 or int64, got {}", dtype_name(c.dtype(1)));
    if (c.shape(1).size() > 1 || shape_numel(c.shape(1)) != 1)
      return c.invalid("axis must be a scalar, got shape {}", shape_to_string(c.shape(1)));
    shape_ = c.shape(0);
    exclusive_ = c.node().get_int("exclusive", 0) != 0;
    reverse_ = c.node().get_int("reverse", 0) != 0;
    if (const Tensor* a = c.constant(1)) {
      VERGE_ASSIGN_OR_RETURN(const int axis,
                             normalize_axis(a->get_as_int64(0), static_cast<int>(shape_.size())));
      split_ = AxisSplit(shape_, axis);
    } else {
      runtime_axis_ = true;
    }
    if (!dispatch(CumSumTypes{}, c.dtype(0), [&]<class T>() { fn_ = &apply<T>; }))
      return c.unsupported_dtype(c.dtype(0));
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    AxisSplit s = split_;
    if (runtime_axis_) {
      const int64_t a = c.input(1).get_as_int64(0);
      const auto rank = static_cast<int64_t>(shape_.size());
      if (a < -rank || a >= rank)
        return Status::out_of_range(fmt::format("axis {} is out of range for rank {}", a, rank));
      s = AxisSplit(shape_, static_cast<int>(a < 0 ? a + rank : a));
    }
    fn_(c.input(0), c.output(0), s, exclusive_, reverse_);
    return Status::ok();
  }

 private:
  template <class T>
  static void apply(const Tensor& xt, Tensor& yt, const AxisSplit& s, bool exclusive, bool reverse) {
    const T* x = xt.data<T>();
    T* y = yt.data<T>();
    using Acc = std::conditional_t<kIsFloat<T>, double, uint64_t>;  // integers wrap
    for (int64_t o = 0; o < s.outer; ++o) {
      for (int64_t i = 0; i < s.inner; ++i) {
        Acc acc = 0;
        for (int64_t step = 0; step < s.n; ++step) {
          const int64_t j = reverse ? s.n - 1 - step : step;
          const int64_t off = (o * s.n + j) * s.inner + i;
          Acc v;
          if constexpr (kIsFloat<T>)
            v = to_double(x[off]);
          else
            v = static_cast<uint64_t>(x[off]);
          if (!exclusive) acc += v;
          if constexpr (kIsFloat<T>)
            y[off] = from_double<T>(acc);
          else
            y[off] = static_cast<T>(acc);
          if (exclusive) acc += v;
        }
      }
    }
  }
  Shape shape_;
  AxisSplit split_;
  bool exclusive_ = false, reverse_ = false, runtime_axis_ = false;
  void (*fn_)(const Tensor&, Tensor&, const AxisSplit&, bool, bool) = nullptr;
};

// ---------------------------------------------------------------------------------------------------
// TopK(X, K) -> Values, Indices. K was validated by shape inference and is the output's axis size.
// Equal values keep ascending index order; NaN counts as the largest value. Results are always sorted
// (allowed for sorted=0, where the order is unspecified).
using TopKTypes = TypeList<float, double, float16_t, int8_t, int16_t, int32_t, int64_t, uint8_t, uint16_t,
                           uint32_t, uint64_t>;

class TopKKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    VERGE_ASSIGN_OR_RETURN(axis_,
                           normalize_axis(c.node().get_int("axis", -1), static_cast<int>(c.shape(0).size())));
    split_ = AxisSplit(c.shape(0), axis_);
    largest_ = c.node().get_int("largest", 1) != 0;
    c.request_scratch(static_cast<size_t>(split_.n) * sizeof(int64_t));
    if (!dispatch(TopKTypes{}, c.dtype(0), [&]<class T>() { fn_ = &apply<T>; }))
      return c.unsupported_dtype(c.dtype(0));
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    const int64_t k = c.output(0).shape()[static_cast<size_t>(axis_)];
    fn_(c, split_, k, largest_);
    return Status::ok();
  }

 private:
  template <class T>
  static void apply(const RunContext& c, const AxisSplit& s, int64_t k, bool largest) {
    const T* x = c.input(0).data<T>();
    T* values = c.output(0).data<T>();
    int64_t* indices = c.output(1).data<int64_t>();
    int64_t* order = static_cast<int64_t*>(c.scratch);
    if (k == 0) return;
    for (int64_t o = 0; o < s.outer; ++o) {
      for (int64_t i = 0; i < s.inner; ++i) {
        const T* p = x + o * s.n * s.inner + i;
        for (int64_t j = 0; j < s.n; ++j) order[j] = j;
        std::partial_sort(order, order + k, order + s.n, [&](int64_t a, int64_t b) {
          const KeyT<T> va = key(p[a * s.inner]), vb = key(p[b * s.inner]);
          if (same(va, vb)) return a < b;
          return largest ? greater(va, vb) : greater(vb, va);
        });
        for (int64_t j = 0; j < k; ++j) {
          const int64_t out = (o * k + j) * s.inner + i;
          values[out] = p[order[j] * s.inner];
          indices[out] = order[j];
        }
      }
    }
  }
  int axis_ = 0;
  AxisSplit split_;
  bool largest_ = true;
  void (*fn_)(const RunContext&, const AxisSplit&, int64_t, bool) = nullptr;
};

// ---------------------------------------------------------------------------------------------------
// Normalizations. Per-channel parameters may have their own float dtype (BatchNormalization-15 T1/T2):
// they are read into double buffers sized in prepare.
void load_doubles(const Tensor& t, double* out) {
  dispatch(FloatTypes{}, t.dtype(), [&]<class T>() {
    const T* p = t.data<T>();
    for (int64_t i = 0; i < t.numel(); ++i) out[i] = to_double(p[i]);
  });
}
void store_doubles(const double* in, Tensor& t) {
  dispatch(FloatTypes{}, t.dtype(), [&]<class T>() {
    T* p = t.data<T>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = from_double<T>(in[i]);
  });
}

// BatchNormalization (opset 15): inference uses input_mean/input_var; training_mode=1 normalizes with
// the batch statistics (biased variance) and outputs the updated running statistics.
class BatchNormKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    const Shape& s = c.shape(0);
    n_ = s[0];
    channels_ = s[1];
    spatial_ = product(std::span(s).subspan(2));
    epsilon_ = c.node().get_float("epsilon", 1e-5f);
    momentum_ = c.node().get_float("momentum", 0.9f);
    training_ = c.node().since_version >= 14 && c.node().get_int("training_mode", 0) != 0;
    params_.assign(static_cast<size_t>(channels_) * 6, 0.0);
    for (size_t i = 1; i < 5; ++i)
      if (!dtype_is_float(c.dtype(i))) return c.unsupported_dtype(c.dtype(i));
    if (!dispatch(FloatTypes{}, c.dtype(0), [&]<class T>() { fn_ = &apply<T>; }))
      return c.unsupported_dtype(c.dtype(0));
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    double* p = params_.data();
    const int64_t C = channels_;
    for (size_t i = 1; i < 5; ++i) load_doubles(c.input(i), p + static_cast<int64_t>(i - 1) * C);
    fn_(c, *this);
    return Status::ok();
  }

 private:
  template <class T>
  static void apply(const RunContext& c, BatchNormKernel& k) {
    const int64_t C = k.channels_, S = k.spatial_, N = k.n_;
    double* const p = k.params_.data();
    const double* scale = p;
    const double* bias = p + C;
    double* mean = p + 2 * C;  // input_mean, replaced by the batch mean in training
    double* var = p + 3 * C;
    double* running_mean = p + 4 * C;
    double* running_var = p + 5 * C;
    const T* x = c.input(0).data<T>();
    T* y = c.output(0).data<T>();
    if (k.training_) {
      const double count = static_cast<double>(N * S);
      const double momentum = k.momentum_;
      for (int64_t ch = 0; ch < C; ++ch) {
        double sum = 0;
        for (int64_t b = 0; b < N; ++b)
          for (int64_t i = 0; i < S; ++i) sum += to_double(x[(b * C + ch) * S + i]);
        const double m = sum / count;
        double sq = 0;
        for (int64_t b = 0; b < N; ++b)
          for (int64_t i = 0; i < S; ++i) {
            const double d = to_double(x[(b * C + ch) * S + i]) - m;
            sq += d * d;
          }
        const double v = sq / count;
        running_mean[ch] = mean[ch] * momentum + m * (1 - momentum);
        running_var[ch] = var[ch] * momentum + v * (1 - momentum);
        mean[ch] = m;
        var[ch] = v;
      }
      if (c.has_output(1)) store_doubles(running_mean, c.output(1));
      if (c.has_output(2)) store_doubles(running_var, c.output(2));
    }
    for (int64_t b = 0; b < N; ++b)
      for (int64_t ch = 0; ch < C; ++ch) {
        const double inv = 1.0 / std::sqrt(var[ch] + static_cast<double>(k.epsilon_));
        for (int64_t i = 0; i < S; ++i) {
          const int64_t off = (b * C + ch) * S + i;
          y[off] = from_double<T>((to_double(x[off]) - mean[ch]) * inv * scale[ch] + bias[ch]);
        }
      }
  }
  int64_t n_ = 0, channels_ = 0, spatial_ = 0;
  float epsilon_ = 1e-5f, momentum_ = 0.9f;
  bool training_ = false;
  std::vector<double> params_;  // scale, B, mean, var, running_mean, running_var: C each
  void (*fn_)(const RunContext&, BatchNormKernel&) = nullptr;
};

// Mean and biased variance of the n elements x[off(j)], j < n, in double.
template <class T, class Off>
std::pair<double, double> moments(const T* x, int64_t n, Off&& off) {
  double sum = 0;
  for (int64_t j = 0; j < n; ++j) sum += to_double(x[off(j)]);
  const double mean = n > 0 ? sum / static_cast<double>(n) : 0.0;
  double sq = 0;
  for (int64_t j = 0; j < n; ++j) {
    const double d = to_double(x[off(j)]) - mean;
    sq += d * d;
  }
  return {mean, n > 0 ? sq / static_cast<double>(n) : 0.0};
}

// InstanceNormalization: per (n, c) statistics over the spatial dims.
class InstanceNormKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    if (c.num_inputs() < 3 || !c.has_input(1) || !c.has_input(2))
      return c.invalid("InstanceNormalization takes 3 inputs (input, scale, B)");
    const Shape& s = c.shape(0);
    if (s.size() < 2)
      return c.invalid("input must have rank >= 2 (N x C x ...), got shape {}", shape_to_string(s));
    for (size_t i = 1; i < 3; ++i) {
      if (c.dtype(i) != c.dtype(0))
        return c.invalid("{} has dtype {}, expected {} like the input", i == 1 ? "scale" : "B",
                         dtype_name(c.dtype(i)), dtype_name(c.dtype(0)));
      if (c.shape(i) != Shape{s[1]})
        return c.invalid("{} must have shape [{}] (the channel count), got {}", i == 1 ? "scale" : "B", s[1],
                         shape_to_string(c.shape(i)));
    }
    n_ = s[0];
    channels_ = s[1];
    spatial_ = product(std::span(s).subspan(2));
    epsilon_ = c.node().get_float("epsilon", 1e-5f);
    if (!dispatch(TypeList<float, double, float16_t>{}, c.dtype(0), [&]<class T>() { fn_ = &apply<T>; }))
      return c.unsupported_dtype(c.dtype(0));
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    fn_(c, n_, channels_, spatial_, epsilon_);
    return Status::ok();
  }

 private:
  template <class T>
  static void apply(const RunContext& c, int64_t N, int64_t C, int64_t S, float eps) {
    const T* x = c.input(0).data<T>();
    const T* scale = c.input(1).data<T>();
    const T* bias = c.input(2).data<T>();
    T* y = c.output(0).data<T>();
    for (int64_t b = 0; b < N; ++b)
      for (int64_t ch = 0; ch < C; ++ch) {
        const int64_t base = (b * C + ch) * S;
        const auto [mean, var] = moments(x, S, [&](int64_t j) { return base + j; });
        const double inv = 1.0 / std::sqrt(var + static_cast<double>(eps));
        for (int64_t j = 0; j < S; ++j)
          y[base + j] = from_double<T>((to_double(x[base + j]) - mean) * inv * to_double(scale[ch]) +
                                       to_double(bias[ch]));
      }
  }
  int64_t n_ = 0, channels_ = 0, spatial_ = 0;
  float epsilon_ = 1e-5f;
  void (*fn_)(const RunContext&, int64_t, int64_t, int64_t, float) = nullptr;
};

// LayerNormalization (opset 17): statistics over axes [axis, rank); Scale and B broadcast to those axes.
class LayerNormKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    const Shape& s = c.shape(0);
    VERGE_ASSIGN_OR_RETURN(const int axis,
                           normalize_axis(c.node().get_int("axis", -1), static_cast<int>(s.size())));
    outer_ = product(std::span(s).first(static_cast<size_t>(axis)));
    const Shape norm(s.begin() + axis, s.end());
    inner_ = shape_numel(norm);
    epsilon_ = c.node().get_float("epsilon", 1e-5f);
    // Element offsets of Scale and B for each position of the normalized block.
    scale_off_.assign(static_cast<size_t>(inner_), 0);
    bias_off_.assign(static_cast<size_t>(inner_), 0);
    has_bias_ = c.has_input(2);
    const Shape scalar_shape;
    const Shape* shapes[] = {&c.shape(1), has_bias_ ? &c.shape(2) : &scalar_shape};
    Broadcaster(norm, shapes).for_each([&](int64_t o, std::span<const int64_t> off) {
      scale_off_[static_cast<size_t>(o)] = off[0];
      bias_off_[static_cast<size_t>(o)] = off[1];
    });
    const DType u = c.has_output(1)   ? c.output(1).dtype
                    : c.has_output(2) ? c.output(2).dtype
                                      : DType::kFloat32;
    bool ok = dispatch(FloatTypes{}, c.dtype(0), [&]<class T>() {
      ok = dispatch(TypeList<float, bfloat16_t>{}, u, [&]<class U>() { fn_ = &apply<T, U>; });
    });
    if (!fn_) return c.unsupported_dtype(ok ? u : c.dtype(0));
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    fn_(c, *this);
    return Status::ok();
  }

 private:
  template <class T, class U>
  static void apply(const RunContext& c, const LayerNormKernel& k) {
    const T* x = c.input(0).data<T>();
    const T* scale = c.input(1).data<T>();
    const T* bias = k.has_bias_ ? c.input(2).data<T>() : nullptr;
    T* y = c.output(0).data<T>();
    U* mean_out = c.has_output(1) ? c.output(1).data<U>() : nullptr;
    U* inv_out = c.has_output(2) ? c.output(2).data<U>() : nullptr;
    const int64_t n = k.inner_;
    for (int64_t r = 0; r < k.outer_; ++r) {
      const int64_t base = r * n;
      const auto [mean, var] = moments(x, n, [&](int64_t j) { return base + j; });
      const double inv = 1.0 / std::sqrt(var + static_cast<double>(k.epsilon_));
      for (int64_t j = 0; j < n; ++j) {
        const auto sj = static_cast<size_t>(j);
        const double b = bias ? to_double(bias[k.bias_off_[sj]]) : 0.0;
        y[base + j] =
            from_double<T>((to_double(x[base + j]) - mean) * inv * to_double(scale[k.scale_off_[sj]]) + b);
      }
      if (mean_out) mean_out[r] = from_double<U>(mean);
      if (inv_out) inv_out[r] = from_double<U>(inv);
    }
  }
  int64_t outer_ = 0, inner_ = 0;
  float epsilon_ = 1e-5f;
  bool has_bias_ = false;
  std::vector<int64_t> scale_off_, bias_off_;
  void (*fn_)(const RunContext&, const LayerNormKernel&) = nullptr;
};

// LRN: y = x / (bias + alpha / size * sum of x^2 over the channel window)^beta, window
// [c - floor((size-1)/2), c + ceil((size-1)/2)].
class LrnKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    const Shape& s = c.shape(0);
    if (s.size() < 2)
      return c.invalid("input must have rank >= 2 (N x C x ...), got shape {}", shape_to_string(s));
    if (!c.node().has_attr("size")) return c.invalid("attribute 'size' is required");
    size_ = c.node().get_int("size", 0);
    if (size_ < 1) return c.invalid("size must be >= 1, got {}", size_);
    alpha_ = c.node().get_float("alpha", 1e-4f);
    beta_ = c.node().get_float("beta", 0.75f);
    bias_ = c.node().get_float("bias", 1.0f);
    n_ = s[0];
    channels_ = s[1];
    spatial_ = product(std::span(s).subspan(2));
    if (!dispatch(FloatTypes{}, c.dtype(0), [&]<class T>() { fn_ = &apply<T>; }))
      return c.unsupported_dtype(c.dtype(0));
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    fn_(c, *this);
    return Status::ok();
  }

 private:
  template <class T>
  static void apply(const RunContext& c, const LrnKernel& k) {
    const T* x = c.input(0).data<T>();
    T* y = c.output(0).data<T>();
    const int64_t C = k.channels_, S = k.spatial_;
    const int64_t before = (k.size_ - 1) / 2, after = k.size_ / 2;
    const double scale = static_cast<double>(k.alpha_) / static_cast<double>(k.size_);
    for (int64_t b = 0; b < k.n_; ++b)
      for (int64_t ch = 0; ch < C; ++ch)
        for (int64_t i = 0; i < S; ++i) {
          double sq = 0;
          const int64_t lo = std::max<int64_t>(0, ch - before), hi = std::min<int64_t>(C - 1, ch + after);
          for (int64_t cc = lo; cc <= hi; ++cc) {
            const double v = to_double(x[(b * C + cc) * S + i]);
            sq += v * v;
          }
          const int64_t off = (b * C + ch) * S + i;
          y[off] = from_double<T>(to_double(x[off]) / std::pow(static_cast<double>(k.bias_) + scale * sq,
                                                               static_cast<double>(k.beta_)));
        }
  }
  int64_t size_ = 0, n_ = 0, channels_ = 0, spatial_ = 0;
  float alpha_ = 0, beta_ = 0, bias_ = 0;
  void (*fn_)(const RunContext&, const LrnKernel&) = nullptr;
};

// MeanVarianceNormalization: y = (x - mean) / (sqrt(var) + 1e-9) over `axes` (default [0, 2, 3]).
class MvnKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    const Shape& s = c.shape(0);
    const std::vector<int64_t> axes = c.node().get_ints("axes", {0, 2, 3});
    VERGE_RETURN_IF_ERROR(check_axes(axes, static_cast<int>(s.size())));
    std::vector<char> mask(s.size(), 0);
    if (!axes.empty())
      axes_to_mask(mask, static_cast<int64_t>(axes.size()),
                   [&](int64_t i) { return axes[static_cast<size_t>(i)]; });
    geo_.reserve(s.size());
    geo_.build(s, mask);
    if (!dispatch(FloatTypes{}, c.dtype(0), [&]<class T>() { fn_ = &apply<T>; }))
      return c.unsupported_dtype(c.dtype(0));
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    fn_(c, geo_);
    return Status::ok();
  }

 private:
  template <class T>
  static void apply(const RunContext& c, ReduceGeometry& g) {
    const T* x = c.input(0).data<T>();
    T* y = c.output(0).data<T>();
    const auto n = static_cast<double>(g.count);
    g.for_each_output([&](int64_t, int64_t base) {
      double sum = 0;
      g.for_each_reduced(base, [&](int64_t off) { sum += to_double(x[off]); });
      const double mean = sum / n;
      double sq = 0;
      g.for_each_reduced(base, [&](int64_t off) {
        const double d = to_double(x[off]) - mean;
        sq += d * d;
      });
      const double denom = std::sqrt(sq / n) + 1e-9;
      g.for_each_reduced(base,
                         [&](int64_t off) { y[off] = from_double<T>((to_double(x[off]) - mean) / denom); });
    });
  }
  ReduceGeometry geo_;
  void (*fn_)(const RunContext&, ReduceGeometry&) = nullptr;
};

}  // namespace

std::unique_ptr<Kernel> make_ReduceL1(const ir::Node&) { return std::make_unique<ReduceKernel<Red::kL1>>(); }
std::unique_ptr<Kernel> make_ReduceL2(const ir::Node&) { return std::make_unique<ReduceKernel<Red::kL2>>(); }
std::unique_ptr<Kernel> make_ReduceLogSum(const ir::Node&) {
  return std::make_unique<ReduceKernel<Red::kLogSum>>();
}
std::unique_ptr<Kernel> make_ReduceLogSumExp(const ir::Node&) {
  return std::make_unique<ReduceKernel<Red::kLogSumExp>>();
}
std::unique_ptr<Kernel> make_ReduceMax(const ir::Node&) {
  return std::make_unique<ReduceKernel<Red::kMax>>();
}
std::unique_ptr<Kernel> make_ReduceMean(const ir::Node&) {
  return std::make_unique<ReduceKernel<Red::kMean>>();
}
std::unique_ptr<Kernel> make_ReduceMin(const ir::Node&) {
  return std::make_unique<ReduceKernel<Red::kMin>>();
}
std::unique_ptr<Kernel> make_ReduceProd(const ir::Node&) {
  return std::make_unique<ReduceKernel<Red::kProd>>();
}
std::unique_ptr<Kernel> make_ReduceSum(const ir::Node&) {
  return std::make_unique<ReduceKernel<Red::kSum>>();
}
std::unique_ptr<Kernel> make_ReduceSumSquare(const ir::Node&) {
  return std::make_unique<ReduceKernel<Red::kSumSquare>>();
}
std::unique_ptr<Kernel> make_ArgMax(const ir::Node&) { return std::make_unique<ArgReduceKernel<true>>(); }
std::unique_ptr<Kernel> make_ArgMin(const ir::Node&) { return std::make_unique<ArgReduceKernel<false>>(); }
std::unique_ptr<Kernel> make_Softmax(const ir::Node&) {
  return std::make_unique<SoftmaxKernel<SoftmaxKind::kSoftmax>>();
}
std::unique_ptr<Kernel> make_LogSoftmax(const ir::Node&) {
  return std::make_unique<SoftmaxKernel<SoftmaxKind::kLogSoftmax>>();
}
std::unique_ptr<Kernel> make_Hardmax(const ir::Node&) {
  return std::make_unique<SoftmaxKernel<SoftmaxKind::kHardmax>>();
}
std::unique_ptr<Kernel> make_CumSum(const ir::Node&) { return std::make_unique<CumSumKernel>(); }
std::unique_ptr<Kernel> make_TopK(const ir::Node&) { return std::make_unique<TopKKernel>(); }
std::unique_ptr<Kernel> make_BatchNormalization(const ir::Node&) {
  return std::make_unique<BatchNormKernel>();
}
std::unique_ptr<Kernel> make_InstanceNormalization(const ir::Node&) {
  return std::make_unique<InstanceNormKernel>();
}
std::unique_ptr<Kernel> make_LayerNormalization(const ir::Node&) {
  return std::make_unique<LayerNormKernel>();
}
std::unique_ptr<Kernel> make_LRN(const ir::Node&) { return std::make_unique<LrnKernel>(); }
std::unique_ptr<Kernel> make_MeanVarianceNormalization(const ir::Node&) {
  return std::make_unique<MvnKernel>();
}

}  // namespace verge::ref
