// Reference kernels: Gather, GatherElements, GatherND, ScatterElements, ScatterND, Tile, Expand, Pad,
// DepthToSpace, SpaceToDepth, OneHot, NonZero, Trilu.
//
// Data movement is dtype-agnostic: elements are copied as `elem_` bytes, so every dtype works without
// instantiating a template per type. Only Scatter reductions, Pad's constant, OneHot's indices and
// NonZero's test are typed. Index values come from runtime tensors (int32 or int64): negative values wrap
// once, anything still outside [0, dim) is an out_of_range error, checked before any memory access.
//
// Input shapes are final in prepare() (a dynamic node is re-prepared when they change); output shapes of
// Tile/Expand/Pad/OneHot/NonZero depend on input *values*, so those kernels read the output shape in run().
#include <cstring>
#include <limits>

#include "kernels/ref/ref_common.h"

namespace verge::ref {
namespace {

using Bytes = unsigned char;

const Bytes* bytes_of(const Tensor& t) { return static_cast<const Bytes*>(t.raw()); }
Bytes* bytes_of(Tensor& t) { return static_cast<Bytes*>(t.raw()); }

// Row-major strides; all zero for an empty shape (whose strides could overflow and are never used).
std::vector<int64_t> safe_strides(const Shape& s) {
  if (shape_numel(s) == 0) return std::vector<int64_t>(s.size(), 0);
  return strides_of(s);
}

int64_t product(const Shape& s, size_t begin, size_t end) {
  int64_t n = 1;
  for (size_t d = begin; d < end; ++d) n *= s[d];
  return n;
}

// Element i of an int32 or int64 index tensor.
class IndexReader {
 public:
  explicit IndexReader(const Tensor& t) : p_(t.raw()), is64_(t.dtype() == DType::kInt64) {}
  int64_t operator[](int64_t i) const {
    return is64_ ? static_cast<const int64_t*>(p_)[i] : static_cast<const int32_t*>(p_)[i];
  }

 private:
  const void* p_;
  bool is64_;
};

// Wraps a negative index once; false if the result is outside [0, n).
bool wrap_index(int64_t& i, int64_t n) {
  if (i < 0) i += n;  // no overflow: n >= 0
  return i >= 0 && i < n;
}

Status index_error(int64_t value, int64_t size, int axis) {
  return Status::out_of_range(fmt::format("index {} is out of range for axis {} of size {} (valid: [{}, {}])",
                                          value, axis, size, -size, size - 1));
}

// Advances a row-major multi-index over `dims`; returns false after the last one.
bool next_index(std::vector<int64_t>& idx, std::span<const int64_t> dims) {
  for (size_t d = dims.size(); d-- > 0;) {
    if (++idx[d] < dims[d]) return true;
    idx[d] = 0;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------------
// Gather(data, indices; axis): out[o, m, i] = data[o, indices[m], i] with data viewed as [outer, n, inner].
class GatherKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    const Shape& data = c.shape(0);
    axis_ = normalize_axis(c.node().get_int("axis", 0), static_cast<int>(data.size())).value();
    outer_ = product(data, 0, static_cast<size_t>(axis_));
    n_ = data[static_cast<size_t>(axis_)];
    inner_ = product(data, static_cast<size_t>(axis_) + 1, data.size());
    elem_ = dtype_size(c.dtype(0));
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    const Tensor& ind = c.input(1);
    const IndexReader idx(ind);
    const int64_t m = ind.numel();
    for (int64_t j = 0; j < m; ++j) {
      int64_t k = idx[j];
      if (!wrap_index(k, n_)) return index_error(idx[j], n_, axis_);
    }
    const Bytes* src = bytes_of(c.input(0));
    Bytes* dst = bytes_of(c.output(0));
    const size_t row = static_cast<size_t>(inner_) * elem_;
    for (int64_t o = 0; o < outer_; ++o)
      for (int64_t j = 0; j < m; ++j) {
        int64_t k = idx[j];
        wrap_index(k, n_);
        std::memcpy(dst + (o * m + j) * static_cast<int64_t>(row),
                    src + (o * n_ + k) * static_cast<int64_t>(row), row);
      }
    return Status::ok();
  }

 private:
  int axis_ = 0;
  int64_t outer_ = 0, n_ = 0, inner_ = 0;
  size_t elem_ = 0;
};

// ---------------------------------------------------------------------------------------------------
// GatherElements / ScatterElements share the walk over `indices`: for each position p of indices, the
// data position is p with coordinate `axis` replaced by indices[p].
class ElementsWalk {
 public:
  void init(const Shape& data, const Shape& indices, int64_t axis) {
    axis_ = normalize_axis(axis, static_cast<int>(data.size())).value();
    data_dims_ = data;
    strides_ = safe_strides(data);
    ind_dims_ = indices;
    pos_.assign(indices.size(), 0);
  }
  // Calls f(e, data_offset) for every element e of indices; stops with an error at a bad index.
  template <class F>
  Status for_each(const Tensor& indices, F&& f) {
    const IndexReader idx(indices);
    const int64_t n = data_dims_[static_cast<size_t>(axis_)];
    const int64_t count = indices.numel();
    std::fill(pos_.begin(), pos_.end(), 0);
    for (int64_t e = 0; e < count; ++e) {
      int64_t k = idx[e];
      if (!wrap_index(k, n)) return index_error(idx[e], n, axis_);
      int64_t off = 0;
      for (size_t d = 0; d < pos_.size(); ++d)
        off += (static_cast<int>(d) == axis_ ? k : pos_[d]) * strides_[d];
      f(e, off);
      next_index(pos_, ind_dims_);
    }
    return Status::ok();
  }

 private:
  int axis_ = 0;
  Shape data_dims_, ind_dims_;
  std::vector<int64_t> strides_, pos_;
};

class GatherElementsKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    walk_.init(c.shape(0), c.shape(1), c.node().get_int("axis", 0));
    elem_ = dtype_size(c.dtype(0));
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    const Bytes* src = bytes_of(c.input(0));
    Bytes* dst = bytes_of(c.output(0));
    const auto e_size = static_cast<int64_t>(elem_);
    return walk_.for_each(c.input(1), [&](int64_t e, int64_t off) {
      std::memcpy(dst + e * e_size, src + off * e_size, elem_);
    });
  }

 private:
  ElementsWalk walk_;
  size_t elem_ = 0;
};

// ---------------------------------------------------------------------------------------------------
// GatherND / ScatterND: indices [B..., X..., k] address slices of data [B..., D_b .. D_{b+k-1}, S...].
// Each index tuple selects one slice of `slice_` elements inside its batch's block of data.
class NdAddressing {
 public:
  void init(const Shape& data, const Shape& indices, int64_t batch_dims) {
    b_ = static_cast<size_t>(batch_dims);
    k_ = static_cast<size_t>(indices.back());
    batches_ = product(data, 0, b_);
    block_ = product(data, b_, data.size());
    tuples_ = product(indices, b_, indices.size() - 1);
    slice_ = product(data, b_ + k_, data.size());
    dims_.assign(data.begin() + static_cast<int64_t>(b_), data.begin() + static_cast<int64_t>(b_ + k_));
    strides_.assign(k_, 0);
    int64_t s = slice_;
    for (size_t j = k_; j-- > 0;) {
      strides_[j] = s;
      s *= dims_[j];
    }
  }
  int64_t batches() const { return batches_; }
  int64_t tuples() const { return tuples_; }
  int64_t slice() const { return slice_; }
  // Element offset in data of the slice addressed by tuple t of batch bt.
  Status offset(const IndexReader& idx, int64_t bt, int64_t t, int64_t& off) const {
    const int64_t base = (bt * tuples_ + t) * static_cast<int64_t>(k_);
    off = bt * block_;
    for (size_t j = 0; j < k_; ++j) {
      int64_t v = idx[base + static_cast<int64_t>(j)];
      if (!wrap_index(v, dims_[j]))
        return index_error(idx[base + static_cast<int64_t>(j)], dims_[j], static_cast<int>(b_ + j));
      off += v * strides_[j];
    }
    return Status::ok();
  }

 private:
  size_t b_ = 0, k_ = 0;
  int64_t batches_ = 0, block_ = 0, tuples_ = 0, slice_ = 0;
  std::vector<int64_t> dims_, strides_;
};

class GatherNDKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    nd_.init(c.shape(0), c.shape(1), c.node().get_int("batch_dims", 0));
    elem_ = dtype_size(c.dtype(0));
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    const IndexReader idx(c.input(1));
    const Bytes* src = bytes_of(c.input(0));
    Bytes* dst = bytes_of(c.output(0));
    const int64_t row = nd_.slice() * static_cast<int64_t>(elem_);
    for (int64_t bt = 0; bt < nd_.batches(); ++bt)
      for (int64_t t = 0; t < nd_.tuples(); ++t) {
        int64_t off = 0;
        VERGE_RETURN_IF_ERROR(nd_.offset(idx, bt, t, off));
        std::memcpy(dst + (bt * nd_.tuples() + t) * row, src + off * static_cast<int64_t>(elem_),
                    static_cast<size_t>(row));
      }
    return Status::ok();
  }

 private:
  NdAddressing nd_;
  size_t elem_ = 0;
};

// ---------------------------------------------------------------------------------------------------
// Scatter reductions (opset 16): none overwrites; add/mul combine. Integers wrap (no UB), half types
// compute in float, bool uses or/and.
enum class Reduction { kNone, kAdd, kMul };

Result<Reduction> parse_reduction(const PrepareContext& c) {
  const std::string r = c.node().get_string("reduction", "none");
  if (r == "none") return Reduction::kNone;
  if (r == "add") return Reduction::kAdd;
  if (r == "mul") return Reduction::kMul;
  return c.invalid("reduction '{}' is not one of none, add, mul", r);
}

template <class T>
T combine_add(T a, T b) {
  if constexpr (std::is_same_v<T, bool>) {
    return a || b;
  } else if constexpr (std::is_integral_v<T>) {
    using U = std::make_unsigned_t<decltype(a + b)>;
    return static_cast<T>(static_cast<U>(a) + static_cast<U>(b));
  } else {
    return to_storage<T>(static_cast<ComputeT<T>>(a) + static_cast<ComputeT<T>>(b));
  }
}
template <class T>
T combine_mul(T a, T b) {
  if constexpr (std::is_same_v<T, bool>) {
    return a && b;
  } else if constexpr (std::is_integral_v<T>) {
    using U = std::make_unsigned_t<decltype(a * b)>;
    return static_cast<T>(static_cast<U>(a) * static_cast<U>(b));
  } else {
    return to_storage<T>(static_cast<ComputeT<T>>(a) * static_cast<ComputeT<T>>(b));
  }
}

// dst[i] = op(dst[i], src[i]) for n elements of type T.
using CombineFn = void (*)(Bytes* dst, const Bytes* src, int64_t n);
template <class T, Reduction R>
void combine(Bytes* dst, const Bytes* src, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    T a, b;
    std::memcpy(&a, dst + i * static_cast<int64_t>(sizeof(T)), sizeof(T));
    std::memcpy(&b, src + i * static_cast<int64_t>(sizeof(T)), sizeof(T));
    const T r = R == Reduction::kAdd ? combine_add(a, b) : combine_mul(a, b);
    std::memcpy(dst + i * static_cast<int64_t>(sizeof(T)), &r, sizeof(T));
  }
}

// Picks the combine function; nullptr for reduction none (a plain copy).
Result<CombineFn> combine_fn(const PrepareContext& c) {
  VERGE_ASSIGN_OR_RETURN(const Reduction r, parse_reduction(c));
  if (r == Reduction::kNone) return CombineFn{nullptr};
  CombineFn fn = nullptr;
  dispatch_all(c.dtype(0), [&]<class T>() {
    fn = r == Reduction::kAdd ? &combine<T, Reduction::kAdd> : &combine<T, Reduction::kMul>;
  });
  if (!fn) return c.unsupported_dtype(c.dtype(0));
  return fn;
}

void copy_data(const Tensor& in, Tensor& out) {
  if (in.raw() != out.raw() && in.nbytes() > 0) std::memcpy(out.raw(), in.raw(), in.nbytes());
}

class ScatterElementsKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    walk_.init(c.shape(0), c.shape(1), c.node().get_int("axis", 0));
    elem_ = dtype_size(c.dtype(0));
    VERGE_ASSIGN_OR_RETURN(fn_, combine_fn(c));
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    copy_data(c.input(0), c.output(0));
    const Bytes* upd = bytes_of(c.input(2));
    Bytes* dst = bytes_of(c.output(0));
    const auto e_size = static_cast<int64_t>(elem_);
    return walk_.for_each(c.input(1), [&](int64_t e, int64_t off) {
      if (fn_)
        fn_(dst + off * e_size, upd + e * e_size, 1);
      else
        std::memcpy(dst + off * e_size, upd + e * e_size, elem_);
    });
  }

 private:
  ElementsWalk walk_;
  size_t elem_ = 0;
  CombineFn fn_ = nullptr;
};

class ScatterNDKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    nd_.init(c.shape(0), c.shape(1), 0);
    elem_ = dtype_size(c.dtype(0));
    VERGE_ASSIGN_OR_RETURN(fn_, combine_fn(c));
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    copy_data(c.input(0), c.output(0));
    const IndexReader idx(c.input(1));
    const Bytes* upd = bytes_of(c.input(2));
    Bytes* dst = bytes_of(c.output(0));
    const auto e_size = static_cast<int64_t>(elem_);
    const int64_t slice = nd_.slice();
    for (int64_t t = 0; t < nd_.tuples(); ++t) {
      int64_t off = 0;
      VERGE_RETURN_IF_ERROR(nd_.offset(idx, 0, t, off));
      if (fn_)
        fn_(dst + off * e_size, upd + t * slice * e_size, slice);
      else
        std::memcpy(dst + off * e_size, upd + t * slice * e_size, static_cast<size_t>(slice * e_size));
    }
    return Status::ok();
  }

 private:
  NdAddressing nd_;
  size_t elem_ = 0;
  CombineFn fn_ = nullptr;
};

// ---------------------------------------------------------------------------------------------------
// Tile(input, repeats): out[p] = in[p mod in.shape]. Walks output rows (all dims but the last); each
// row is the matching input row repeated.
class TileKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    in_ = c.shape(0);
    strides_ = safe_strides(in_);
    pos_.assign(in_.empty() ? 0 : in_.size() - 1, 0);
    elem_ = dtype_size(c.dtype(0));
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    const Bytes* src = bytes_of(c.input(0));
    Tensor& out = c.output(0);
    Bytes* dst = bytes_of(out);
    if (out.numel() == 0) return Status::ok();
    if (in_.empty()) {
      std::memcpy(dst, src, elem_);
      return Status::ok();
    }
    const Shape& os = out.shape();
    const size_t last = in_.size() - 1;
    const int64_t row_elems = in_[last];
    const int64_t reps = os[last] / row_elems;
    const size_t row_bytes = static_cast<size_t>(row_elems) * elem_;
    const std::span<const int64_t> row_dims(os.data(), last);
    std::fill(pos_.begin(), pos_.end(), 0);
    do {
      int64_t off = 0;
      for (size_t d = 0; d < last; ++d) off += (pos_[d] % in_[d]) * strides_[d];
      for (int64_t r = 0; r < reps; ++r) {
        std::memcpy(dst, src + off * static_cast<int64_t>(elem_), row_bytes);
        dst += row_bytes;
      }
    } while (next_index(pos_, row_dims));
    return Status::ok();
  }

 private:
  Shape in_;
  std::vector<int64_t> strides_, pos_;
  size_t elem_ = 0;
};

// ---------------------------------------------------------------------------------------------------
// Expand(input, shape): numpy broadcast of input to the output shape.
class ExpandKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    const Shape& in = c.shape(0);
    const size_t r = std::max(in.size(), static_cast<size_t>(c.shape(1)[0]));
    const std::vector<int64_t> own = safe_strides(in);
    strides_.assign(r, 0);
    const size_t lead = r - in.size();
    for (size_t d = 0; d < in.size(); ++d) strides_[lead + d] = in[d] == 1 ? 0 : own[d];
    pos_.assign(r, 0);
    elem_ = dtype_size(c.dtype(0));
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    const Bytes* src = bytes_of(c.input(0));
    Tensor& out = c.output(0);
    Bytes* dst = bytes_of(out);
    const Shape& os = out.shape();
    const auto e_size = static_cast<int64_t>(elem_);
    std::fill(pos_.begin(), pos_.end(), 0);
    int64_t off = 0;
    for (int64_t o = 0; o < out.numel(); ++o) {
      std::memcpy(dst + o * e_size, src + off * e_size, elem_);
      for (size_t d = os.size(); d-- > 0;) {  // next output position; keep the input offset in step
        off += strides_[d];
        if (++pos_[d] < os[d]) break;
        off -= strides_[d] * os[d];
        pos_[d] = 0;
      }
    }
    return Status::ok();
  }

 private:
  std::vector<int64_t> strides_, pos_;
  size_t elem_ = 0;
};

// ---------------------------------------------------------------------------------------------------
// Pad(data, pads, constant_value?, axes?; mode): out[p] maps to in[p - begin] per axis; outside the
// input: the constant, the mirrored position (reflect, without repeating the edge) or the nearest edge.
enum class PadMode { kConstant, kReflect, kEdge };

// Writes the pad constant converted to T (the constant may be float32 for any data type after the
// Pad-2 upgrade): saturating for integers, NaN -> 0.
using ConstantFn = void (*)(const Tensor& value, Bytes* out);
template <class T>
void write_constant(const Tensor& value, Bytes* out) {
  T v{};
  if (value.dtype() == kDTypeOf<T>) {
    std::memcpy(&v, value.raw(), sizeof(T));
  } else {
    const double d = value.get_as_double(0);
    if constexpr (std::is_same_v<T, bool>) {
      v = d != 0.0;
    } else if constexpr (kIsFloat<T>) {
      v = to_storage<T>(static_cast<ComputeT<T>>(d));
    } else {
      constexpr double lo = static_cast<double>(std::numeric_limits<T>::lowest());
      constexpr double hi = static_cast<double>(std::numeric_limits<T>::max());
      v = d != d    ? T(0)
          : d <= lo ? std::numeric_limits<T>::lowest()
          : d >= hi ? std::numeric_limits<T>::max()
                    : static_cast<T>(d);
    }
  }
  std::memcpy(out, &v, sizeof(T));
}

class PadKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    const std::string mode = c.node().get_string("mode", "constant");
    mode_ = mode == "reflect" ? PadMode::kReflect : mode == "edge" ? PadMode::kEdge : PadMode::kConstant;
    in_ = c.shape(0);
    strides_ = safe_strides(in_);
    begin_.assign(in_.size(), 0);
    pos_.assign(in_.size(), 0);
    elem_ = dtype_size(c.dtype(0));
    if (!dispatch_all(c.dtype(0), [&]<class T>() { const_fn_ = &write_constant<T>; }))
      return c.unsupported_dtype(c.dtype(0));
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    // pads / axes were validated by shape inference for these very values.
    const Tensor& pads = c.input(1);
    const int64_t na = pads.numel() / 2;
    std::fill(begin_.begin(), begin_.end(), 0);
    for (int64_t k = 0; k < na; ++k) {
      int64_t axis = c.has_input(3) ? c.input(3).get_as_int64(k) : k;
      if (axis < 0) axis += static_cast<int64_t>(in_.size());
      begin_[static_cast<size_t>(axis)] = pads.get_as_int64(k);
    }
    Bytes constant[sizeof(int64_t)] = {};
    if (c.has_input(2)) const_fn_(c.input(2), constant);

    const Bytes* src = bytes_of(c.input(0));
    Tensor& out = c.output(0);
    Bytes* dst = bytes_of(out);
    const Shape& os = out.shape();
    const auto e_size = static_cast<int64_t>(elem_);
    std::fill(pos_.begin(), pos_.end(), 0);
    for (int64_t o = 0; o < out.numel(); ++o) {
      const Bytes* from = constant;
      int64_t off = 0;
      bool inside = true;
      for (size_t d = 0; d < os.size() && inside; ++d) {
        int64_t i = pos_[d] - begin_[d];
        const int64_t n = in_[d];
        if (i < 0 || i >= n) {
          if (mode_ == PadMode::kConstant) {
            inside = false;
          } else if (mode_ == PadMode::kEdge) {
            i = i < 0 ? 0 : n - 1;
          } else if (n == 1) {
            i = 0;
          } else {  // reflect: positions repeat with period 2(n-1): 0 1 .. n-1 n-2 .. 1 0 1 ..
            const int64_t period = 2 * (n - 1);
            i %= period;
            if (i < 0) i += period;
            if (i >= n) i = period - i;
          }
        }
        off += i * strides_[d];
      }
      if (inside) from = src + off * e_size;
      std::memcpy(dst + o * e_size, from, elem_);
      next_index(pos_, os);
    }
    return Status::ok();
  }

 private:
  PadMode mode_ = PadMode::kConstant;
  Shape in_;
  std::vector<int64_t> strides_, begin_, pos_;
  size_t elem_ = 0;
  ConstantFn const_fn_ = nullptr;
};

// ---------------------------------------------------------------------------------------------------
// DepthToSpace [N, C, H, W] -> [N, C/(b*b), H*b, W*b]:
//   out[n, c, h*b+i, w*b+j] = in[n, (i*b+j)*C' + c, h, w]  (DCR)   or   in[n, c*b*b + i*b + j, h, w]  (CRD)
// SpaceToDepth [N, C, H, W] -> [N, C*b*b, H/b, W/b]:
//   out[n, (i*b+j)*C + c, h, w] = in[n, c, h*b+i, w*b+j]
template <bool kDepthToSpace>
class BlockKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    b_ = c.node().get_int("blocksize", 1);
    crd_ = kDepthToSpace && c.node().get_string("mode", "DCR") == "CRD";
    in_ = c.shape(0);
    out_ = c.output(0).shape;
    elem_ = dtype_size(c.dtype(0));
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    const Bytes* src = bytes_of(c.input(0));
    Bytes* dst = bytes_of(c.output(0));
    const auto e_size = static_cast<int64_t>(elem_);
    const int64_t C = in_[1], H = in_[2], W = in_[3];
    int64_t o = 0;
    for (int64_t n = 0; n < out_[0]; ++n)
      for (int64_t oc = 0; oc < out_[1]; ++oc)
        for (int64_t oh = 0; oh < out_[2]; ++oh)
          for (int64_t ow = 0; ow < out_[3]; ++ow, ++o) {
            int64_t ic, ih, iw;
            if constexpr (kDepthToSpace) {
              const int64_t i = oh % b_, j = ow % b_;
              ic = crd_ ? (oc * b_ + i) * b_ + j : (i * b_ + j) * out_[1] + oc;
              ih = oh / b_;
              iw = ow / b_;
            } else {
              const int64_t blk = oc / C;
              ic = oc % C;
              ih = oh * b_ + blk / b_;
              iw = ow * b_ + blk % b_;
            }
            const int64_t off = ((n * C + ic) * H + ih) * W + iw;
            std::memcpy(dst + o * e_size, src + off * e_size, elem_);
          }
    return Status::ok();
  }

 private:
  int64_t b_ = 1;
  bool crd_ = false;
  Shape in_, out_;
  size_t elem_ = 0;
};

// ---------------------------------------------------------------------------------------------------
// OneHot(indices, depth, values [off, on]; axis): out[.., d, ..] = indices[..] (wrapped) == d ? on : off.
// Per the spec, an index outside [-depth, depth-1] gives an all-`off` row (not an error). Float indices
// are truncated toward zero.
using OneHotIndexFn = bool (*)(const void* p, int64_t i, int64_t depth, int64_t& out);
template <class T>
bool one_hot_index(const void* p, int64_t i, int64_t depth, int64_t& out) {
  const T v = static_cast<const T*>(p)[i];
  int64_t k = 0;
  if constexpr (kIsFloat<T>) {
    const double d = static_cast<double>(static_cast<ComputeT<T>>(v));
    if (!(d > -static_cast<double>(depth) - 1.0 && d < static_cast<double>(depth))) return false;  // NaN too
    k = static_cast<int64_t>(d);
  } else if constexpr (std::is_unsigned_v<T>) {
    if (static_cast<uint64_t>(v) >= static_cast<uint64_t>(depth)) return false;
    k = static_cast<int64_t>(v);
  } else {
    k = static_cast<int64_t>(v);
  }
  if (!wrap_index(k, depth)) return false;
  out = k;
  return true;
}

class OneHotKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    const Shape& ind = c.shape(0);
    axis_ = normalize_axis(c.node().get_int("axis", -1), static_cast<int>(ind.size()) + 1).value();
    outer_ = product(ind, 0, static_cast<size_t>(axis_));
    inner_ = product(ind, static_cast<size_t>(axis_), ind.size());
    elem_ = dtype_size(c.output(0).dtype);
    if (!dispatch(NumericTypes{}, c.dtype(0), [&]<class T>() { index_fn_ = &one_hot_index<T>; }))
      return c.unsupported_dtype(c.dtype(0));
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    Tensor& out = c.output(0);
    const int64_t depth = out.shape()[static_cast<size_t>(axis_)];
    const Bytes* values = bytes_of(c.input(2));
    const Bytes* off = values;
    const Bytes* on = values + elem_;
    Bytes* dst = bytes_of(out);
    const auto e_size = static_cast<int64_t>(elem_);
    for (int64_t e = 0; e < out.numel(); ++e) std::memcpy(dst + e * e_size, off, elem_);
    const void* ind = c.input(0).raw();
    for (int64_t o = 0; o < outer_; ++o)
      for (int64_t i = 0; i < inner_; ++i) {
        int64_t k = 0;
        if (index_fn_(ind, o * inner_ + i, depth, k))
          std::memcpy(dst + ((o * depth + k) * inner_ + i) * e_size, on, elem_);
      }
    return Status::ok();
  }

 private:
  int axis_ = 0;
  int64_t outer_ = 0, inner_ = 0;
  size_t elem_ = 0;
  OneHotIndexFn index_fn_ = nullptr;
};

// ---------------------------------------------------------------------------------------------------
// NonZero(X) -> int64 [rank, count]: coordinates of non-zero elements in row-major order (a scalar is
// treated as shape [1]). Shape inference counted them from the same value.
using NonZeroFn = bool (*)(const void* p, int64_t i);
template <class T>
bool is_non_zero(const void* p, int64_t i) {
  const T v = static_cast<const T*>(p)[i];
  if constexpr (kIsHalf<T>)
    return static_cast<float>(v) != 0.0f;
  else
    return v != T(0);
}

class NonZeroKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    dims_ = c.shape(0).empty() ? Shape{1} : c.shape(0);
    pos_.assign(dims_.size(), 0);
    if (!dispatch_all(c.dtype(0), [&]<class T>() { fn_ = &is_non_zero<T>; }))
      return c.unsupported_dtype(c.dtype(0));
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    const Tensor& x = c.input(0);
    Tensor& out = c.output(0);
    const int64_t count = out.shape()[1];
    int64_t* y = out.data<int64_t>();
    int64_t j = 0;
    std::fill(pos_.begin(), pos_.end(), 0);
    for (int64_t e = 0; e < x.numel(); ++e) {
      if (fn_(x.raw(), e)) {
        if (j == count)
          return Status::internal("NonZero: more non-zero elements than shape inference counted");
        for (size_t d = 0; d < dims_.size(); ++d) y[static_cast<int64_t>(d) * count + j] = pos_[d];
        ++j;
      }
      next_index(pos_, dims_);
    }
    return Status::ok();
  }

 private:
  Shape dims_;
  std::vector<int64_t> pos_;
  NonZeroFn fn_ = nullptr;
};

// ---------------------------------------------------------------------------------------------------
// Trilu(input, k?; upper): per matrix of the last two dims, keeps elements with j - i >= k (upper) or
// j - i <= k (lower) and zeroes the rest (all-zero bytes is 0 / false for every dtype).
class TriluKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    const Shape& s = c.shape(0);
    if (s.size() < 2) return c.invalid("input must have rank >= 2, got shape {}", shape_to_string(s));
    if (c.has_input(1)) {
      if (c.dtype(1) != DType::kInt64) return c.invalid("'k' must be int64, got {}", dtype_name(c.dtype(1)));
      if (shape_numel(c.shape(1)) != 1 || c.shape(1).size() > 1)
        return c.invalid("'k' must be a scalar, got shape {}", shape_to_string(c.shape(1)));
    }
    upper_ = c.node().get_int("upper", 1) != 0;
    rows_ = s[s.size() - 2];
    cols_ = s[s.size() - 1];
    elem_ = dtype_size(c.dtype(0));
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    const int64_t k = c.has_input(1) ? c.input(1).data<int64_t>()[0] : 0;
    const Tensor& x = c.input(0);
    const Bytes* src = bytes_of(x);
    Bytes* dst = bytes_of(c.output(0));
    const auto e_size = static_cast<int64_t>(elem_);
    const int64_t matrix = rows_ * cols_;
    const int64_t batches = matrix == 0 ? 0 : x.numel() / matrix;
    for (int64_t bt = 0; bt < batches; ++bt)
      for (int64_t i = 0; i < rows_; ++i)
        for (int64_t j = 0; j < cols_; ++j) {
          const int64_t e = (bt * rows_ + i) * cols_ + j;
          const bool keep = upper_ ? j - i >= k : j - i <= k;
          if (keep)
            std::memcpy(dst + e * e_size, src + e * e_size, elem_);
          else
            std::memset(dst + e * e_size, 0, elem_);
        }
    return Status::ok();
  }

 private:
  bool upper_ = true;
  int64_t rows_ = 0, cols_ = 0;
  size_t elem_ = 0;
};

}  // namespace

std::unique_ptr<Kernel> make_Gather(const ir::Node&) { return std::make_unique<GatherKernel>(); }
std::unique_ptr<Kernel> make_GatherElements(const ir::Node&) {
  return std::make_unique<GatherElementsKernel>();
}
std::unique_ptr<Kernel> make_GatherND(const ir::Node&) { return std::make_unique<GatherNDKernel>(); }
std::unique_ptr<Kernel> make_ScatterElements(const ir::Node&) {
  return std::make_unique<ScatterElementsKernel>();
}
std::unique_ptr<Kernel> make_ScatterND(const ir::Node&) { return std::make_unique<ScatterNDKernel>(); }
std::unique_ptr<Kernel> make_Tile(const ir::Node&) { return std::make_unique<TileKernel>(); }
std::unique_ptr<Kernel> make_Expand(const ir::Node&) { return std::make_unique<ExpandKernel>(); }
std::unique_ptr<Kernel> make_Pad(const ir::Node&) { return std::make_unique<PadKernel>(); }
std::unique_ptr<Kernel> make_DepthToSpace(const ir::Node&) { return std::make_unique<BlockKernel<true>>(); }
std::unique_ptr<Kernel> make_SpaceToDepth(const ir::Node&) { return std::make_unique<BlockKernel<false>>(); }
std::unique_ptr<Kernel> make_OneHot(const ir::Node&) { return std::make_unique<OneHotKernel>(); }
std::unique_ptr<Kernel> make_NonZero(const ir::Node&) { return std::make_unique<NonZeroKernel>(); }
std::unique_ptr<Kernel> make_Trilu(const ir::Node&) { return std::make_unique<TriluKernel>(); }

}  // namespace verge::ref
