// Reference kernels: shape and data-movement ops (Identity, Dropout, Constant, ConstantOfShape, EyeLike,
// Range, Shape, Size, Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Concat, Split, Slice).
//
// Almost all of these move bytes: they work on any dtype through the element size, never its type.
// Output shapes that depend on input values (Reshape, Slice, Split, Range, ConstantOfShape, ...) were
// computed and validated by the InferFn; for dynamic nodes the kernel is re-prepared only when input
// types change, so run() takes such shapes from the output tensors and re-reads value inputs itself.
#include <cstring>
#include <random>

#include "kernels/ref/ref_common.h"
#include "kernels/ref/tensor_slice.h"

namespace verge::ref {
namespace {

// memcpy that tolerates n == 0 with null pointers (empty tensors may have no storage).
void copy_bytes(void* dst, const void* src, size_t n) {
  if (n > 0 && dst != src) std::memcpy(dst, src, n);
}

// Calls f.template operator()<N>() with N = elem (1, 2, 4 or 8 bytes); false for other sizes.
template <class F>
bool dispatch_size(size_t elem, F&& f) {
  switch (elem) {
    case 1:
      f.template operator()<1>();
      return true;
    case 2:
      f.template operator()<2>();
      return true;
    case 4:
      f.template operator()<4>();
      return true;
    case 8:
      f.template operator()<8>();
      return true;
    default:
      return false;
  }
}

// out[o] = in[base + sum_d idx_d(o) * stride[d]] for every o in row-major order over `shape`;
// elements are N bytes. `idx` is caller-provided scratch of shape.size() entries (no allocation).
template <size_t N>
void gather_strided(const unsigned char* in, unsigned char* out, int64_t base, std::span<const int64_t> shape,
                    std::span<const int64_t> stride, std::span<int64_t> idx) {
  const int64_t n = shape_numel(shape);
  std::fill(idx.begin(), idx.end(), 0);
  int64_t off = base;
  for (int64_t o = 0; o < n; ++o) {
    std::memcpy(out + o * static_cast<int64_t>(N), in + off * static_cast<int64_t>(N), N);
    for (size_t d = shape.size(); d-- > 0;) {
      off += stride[d];
      if (++idx[d] < shape[d]) break;
      off -= stride[d] * shape[d];
      idx[d] = 0;
    }
  }
}
using GatherFn = void (*)(const unsigned char*, unsigned char*, int64_t, std::span<const int64_t>,
                          std::span<const int64_t>, std::span<int64_t>);

// Fills n elements of `elem` bytes at dst with the element at `value`.
template <size_t N>
void fill_elements(unsigned char* dst, int64_t n, const unsigned char* value) {
  for (int64_t i = 0; i < n; ++i) std::memcpy(dst + i * static_cast<int64_t>(N), value, N);
}
using FillFn = void (*)(unsigned char*, int64_t, const unsigned char*);

FillFn fill_fn(size_t elem) {
  FillFn fn = nullptr;
  dispatch_size(elem, [&]<size_t N>() { fn = &fill_elements<N>; });
  return fn;
}

// The bytes of the value 1 (true for bool) in dtype t; false if t is not a supported dtype.
bool one_bytes(DType t, unsigned char (&bytes)[8]) {
  std::memset(bytes, 0, sizeof bytes);
  return dispatch_all(t, [&]<class T>() {
    const T one = to_storage<T>(1.0f);
    std::memcpy(bytes, &one, sizeof(T));
  });
}

unsigned char* out_bytes(const RunContext& c, size_t i) {
  return static_cast<unsigned char*>(c.output(i).raw());
}
const unsigned char* in_bytes(const RunContext& c, size_t i) {
  return static_cast<const unsigned char*>(c.input(i).raw());
}

// ---------------------------------------------------------------------------------------------------
// Identity, Reshape, Flatten, Squeeze, Unsqueeze: the output holds the input's bytes.
class CopyKernel final : public Kernel {
 public:
  Status run(const RunContext& c) override {
    copy_bytes(c.output(0).raw(), c.input(0).raw(), c.input(0).nbytes());
    return Status::ok();
  }
};

// ---------------------------------------------------------------------------------------------------
// Dropout. Inference (training_mode absent/false) or ratio 0: output = data, mask = all ones.
// Training: keep element i iff u_i >= ratio, where u_i are doubles in [0, 1) drawn from MT19937 seeded
// with `seed`, the same stream as numpy's np.random.seed(seed); np.random.uniform(0, 1, shape) — so
// results match ONNX's reference implementation. Kept elements are scaled by 1 / (1 - ratio).

// Mersenne Twister MT19937 (Matsumoto & Nishimura), 32-bit output.
class Mt19937 {
 public:
  explicit Mt19937(uint32_t seed) {
    mt_[0] = seed;
    for (uint32_t i = 1; i < kN; ++i) mt_[i] = 1812433253u * (mt_[i - 1] ^ (mt_[i - 1] >> 30)) + i;
    pos_ = kN;
  }
  uint32_t next_u32() {
    if (pos_ >= kN) twist();
    uint32_t y = mt_[pos_++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
  }
  // Uniform double in [0, 1) with 53 random bits (genrand_res53).
  double next_double() {
    const uint32_t a = next_u32() >> 5, b = next_u32() >> 6;
    return (a * 67108864.0 + b) / 9007199254740992.0;
  }

 private:
  static constexpr uint32_t kN = 624, kM = 397;
  void twist() {
    for (uint32_t k = 0; k < kN; ++k) {
      const uint32_t y = (mt_[k] & 0x80000000u) | (mt_[(k + 1) % kN] & 0x7fffffffu);
      mt_[k] = mt_[(k + kM) % kN] ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
    }
    pos_ = 0;
  }
  uint32_t mt_[kN];
  uint32_t pos_ = kN;
};

class DropoutKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    // Without a seed, each plan draws one: runs of one plan repeat, different plans differ.
    seed_ = c.node().has_attr("seed") ? static_cast<uint32_t>(c.node().get_int("seed", 0))
                                      : std::random_device{}();
    if (!dispatch(FloatTypes{}, c.dtype(0), [&]<class T>() { train_ = &train<T>; }))
      return c.unsupported_dtype(c.dtype(0));
    if (c.has_output(1)) {
      if (!one_bytes(c.output(1).dtype, mask_one_)) return c.unsupported_dtype(c.output(1).dtype);
      fill_mask_ = fill_fn(dtype_size(c.output(1).dtype));
    }
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    const bool training = c.has_input(2) && c.input(2).data<bool>()[0];
    const double ratio = c.has_input(1) ? c.input(1).get_as_double(0) : 0.5;
    if (!training || ratio == 0) {
      copy_bytes(c.output(0).raw(), c.input(0).raw(), c.input(0).nbytes());
      if (c.has_output(1)) fill_mask_(out_bytes(c, 1), c.output(1).numel(), mask_one_);
      return Status::ok();
    }
    if (!(ratio > 0 && ratio < 1))
      return Status::out_of_range(
          fmt::format("Dropout ratio must be in [0, 1) in training mode, got {}", ratio));
    train_(c, ratio, seed_);
    return Status::ok();
  }

 private:
  template <class T>
  static void train(const RunContext& c, double ratio, uint32_t seed) {
    using C = ComputeT<T>;
    Mt19937 rng(seed);
    const C scale = C(1) / (C(1) - static_cast<C>(ratio));
    const T* x = c.input(0).data<T>();
    T* y = c.output(0).data<T>();
    bool* mask = c.has_output(1) ? c.output(1).data<bool>() : nullptr;
    for (int64_t i = 0; i < c.input(0).numel(); ++i) {
      const bool keep = rng.next_double() >= ratio;
      y[i] = keep ? to_storage<T>(static_cast<C>(x[i]) * scale) : to_storage<T>(C(0));
      if (mask) mask[i] = keep;
    }
  }
  uint32_t seed_ = 0;
  void (*train_)(const RunContext&, double, uint32_t) = nullptr;
  unsigned char mask_one_[8] = {};
  FillFn fill_mask_ = nullptr;
};

// ---------------------------------------------------------------------------------------------------
// Constant: copies the value attribute (or a tensor built from value_float(s) / value_int(s)).
class ConstantKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    const ir::Node& n = c.node();
    if (const Tensor* t = n.get_tensor("value"))
      value_ = *t;
    else if (const ir::Attribute* a = n.attr("value_float"))
      value_ = Tensor::scalar<float>(a->f);
    else if (const ir::Attribute* a = n.attr("value_floats"))
      value_ = Tensor::from_vector<float>({static_cast<int64_t>(a->floats.size())}, a->floats);
    else if (const ir::Attribute* a = n.attr("value_int"))
      value_ = Tensor::scalar<int64_t>(a->i);
    else if (const ir::Attribute* a = n.attr("value_ints"))
      value_ = Tensor::from_vector<int64_t>({static_cast<int64_t>(a->ints.size())}, a->ints);
    else
      return c.invalid("Constant has no supported value attribute");
    if (value_.dtype() != c.output(0).dtype || value_.shape() != c.output(0).shape)
      return Status::internal("Constant value does not match its inferred type");
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    copy_bytes(c.output(0).raw(), value_.raw(), value_.nbytes());
    return Status::ok();
  }

 private:
  Tensor value_;
};

// ConstantOfShape: fills the output (shape from the input's value) with the one-element `value`.
class ConstantOfShapeKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    const DType t = c.output(0).dtype;
    if (const Tensor* v = c.node().get_tensor("value"))
      std::memcpy(value_, v->raw(), dtype_size(t));
    else
      std::memset(value_, 0, sizeof value_);  // float32 0
    fill_ = fill_fn(dtype_size(t));
    if (!fill_) return c.unsupported_dtype(t);
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    fill_(out_bytes(c, 0), c.output(0).numel(), value_);
    return Status::ok();
  }

 private:
  unsigned char value_[8] = {};
  FillFn fill_ = nullptr;
};

// EyeLike: zeros with ones on diagonal k of the 2-D output.
class EyeLikeKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    if (!one_bytes(c.output(0).dtype, one_)) return c.unsupported_dtype(c.output(0).dtype);
    elem_ = dtype_size(c.output(0).dtype);
    k_ = c.node().get_int("k", 0);
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    Tensor& y = c.output(0);
    const int64_t rows = y.dim(0), cols = y.dim(1);
    unsigned char* out = out_bytes(c, 0);
    if (y.nbytes() > 0) std::memset(out, 0, y.nbytes());
    if (k_ >= cols || k_ <= -rows) return Status::ok();  // the diagonal lies outside the matrix
    for (int64_t i = k_ < 0 ? -k_ : 0; i < rows && i + k_ < cols; ++i)
      std::memcpy(out + (i * cols + i + k_) * static_cast<int64_t>(elem_), one_, elem_);
    return Status::ok();
  }

 private:
  unsigned char one_[8] = {};
  size_t elem_ = 0;
  int64_t k_ = 0;
};

// Range: output[i] = start + i * delta (length from the InferFn).
class RangeKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    using RangeTypes = TypeList<float, double, int16_t, int32_t, int64_t>;
    if (!dispatch(RangeTypes{}, c.dtype(0), [&]<class T>() { fn_ = &apply<T>; }))
      return c.unsupported_dtype(c.dtype(0));
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    fn_(c);
    return Status::ok();
  }

 private:
  template <class T>
  static void apply(const RunContext& c) {
    const T start = c.input(0).data<T>()[0], delta = c.input(2).data<T>()[0];
    T* out = c.output(0).data<T>();
    for (int64_t i = 0; i < c.output(0).numel(); ++i) {
      if constexpr (std::is_floating_point_v<T>) {
        out[i] = static_cast<T>(start + static_cast<T>(i) * delta);
      } else {  // every element lies between start and limit, so modular arithmetic gives the exact value
        const uint64_t v =
            static_cast<uint64_t>(start) + static_cast<uint64_t>(i) * static_cast<uint64_t>(delta);
        out[i] = static_cast<T>(static_cast<int64_t>(v));
      }
    }
  }
  void (*fn_)(const RunContext&) = nullptr;
};

// Shape / Size read only the input's shape: the planner may pass a tensor without data.
class ShapeKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    const int64_t r = static_cast<int64_t>(c.shape(0).size());
    int64_t s = c.node().get_int("start", 0);
    if (s < 0) s += r;
    start_ = s < 0 ? 0 : (s > r ? r : s);
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    const Shape& s = c.input(0).shape();
    int64_t* out = c.output(0).data<int64_t>();
    for (int64_t i = 0; i < c.output(0).numel(); ++i) out[i] = s[static_cast<size_t>(start_ + i)];
    return Status::ok();
  }

 private:
  int64_t start_ = 0;
};

class SizeKernel final : public Kernel {
 public:
  Status run(const RunContext& c) override {
    c.output(0).data<int64_t>()[0] = shape_numel(c.input(0).shape());
    return Status::ok();
  }
};

// Transpose: output dim i walks input dim perm[i].
class TransposeKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    const Shape& in = c.shape(0);
    const size_t r = in.size();
    std::vector<int64_t> perm = c.node().get_ints("perm");
    if (!c.node().has_attr("perm"))
      for (size_t d = r; d-- > 0;) perm.push_back(static_cast<int64_t>(d));
    const std::vector<int64_t> in_strides = strides_of(in);
    stride_.resize(r);
    for (size_t i = 0; i < r; ++i) stride_[i] = in_strides[static_cast<size_t>(perm[i])];
    out_shape_ = c.output(0).shape;
    idx_.resize(r);
    if (!dispatch_size(dtype_size(c.dtype(0)), [&]<size_t N>() { fn_ = &gather_strided<N>; }))
      return c.unsupported_dtype(c.dtype(0));
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    fn_(in_bytes(c, 0), out_bytes(c, 0), 0, out_shape_, stride_, idx_);
    return Status::ok();
  }

 private:
  Shape out_shape_;
  std::vector<int64_t> stride_, idx_;
  GatherFn fn_ = nullptr;
};

// Concat: for each outer index (dims before axis), append each input's contiguous block.
class ConcatKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    const Shape& out = c.output(0).shape;
    const int64_t axis = c.node().get_int("axis", 0);
    const size_t a = static_cast<size_t>(axis < 0 ? axis + static_cast<int64_t>(out.size()) : axis);
    outer_ = 1;
    for (size_t d = 0; d < a; ++d) outer_ *= out[d];
    int64_t inner = static_cast<int64_t>(dtype_size(c.dtype(0)));
    for (size_t d = a + 1; d < out.size(); ++d) inner *= out[d];
    block_.clear();
    for (size_t i = 0; i < c.num_inputs(); ++i) block_.push_back(static_cast<size_t>(c.shape(i)[a] * inner));
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    unsigned char* dst = out_bytes(c, 0);
    for (int64_t o = 0; o < outer_; ++o)
      for (size_t i = 0; i < block_.size(); ++i) {
        if (block_[i] == 0) continue;
        std::memcpy(dst, in_bytes(c, i) + o * static_cast<int64_t>(block_[i]), block_[i]);
        dst += block_[i];
      }
    return Status::ok();
  }

 private:
  int64_t outer_ = 0;
  std::vector<size_t> block_;  // bytes per outer index, per input
};

// Split: the inverse of Concat. Part sizes come from the output shapes (they may change between runs of
// a dynamic node whose 'split' input changes).
class SplitKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    const Shape& in = c.shape(0);
    const int64_t axis = c.node().get_int("axis", 0);
    axis_ = static_cast<size_t>(axis < 0 ? axis + static_cast<int64_t>(in.size()) : axis);
    outer_ = 1;
    for (size_t d = 0; d < axis_; ++d) outer_ *= in[d];
    inner_ = static_cast<int64_t>(dtype_size(c.dtype(0)));
    for (size_t d = axis_ + 1; d < in.size(); ++d) inner_ *= in[d];
    parts_.clear();
    for (size_t k = 0; k < c.num_outputs(); ++k) parts_.push_back(c.output(k).shape[axis_]);
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    const unsigned char* src = in_bytes(c, 0);
    for (int64_t o = 0; o < outer_; ++o)
      for (size_t k = 0; k < parts_.size(); ++k) {
        // An omitted output still occupies its part of the input (its size as prepared).
        const bool present = c.has_output(k);
        const int64_t block = (present ? c.output(k).shape()[axis_] : parts_[k]) * inner_;
        if (present && block > 0) std::memcpy(out_bytes(c, k) + o * block, src, static_cast<size_t>(block));
        src += block;
      }
    return Status::ok();
  }

 private:
  size_t axis_ = 0;
  int64_t outer_ = 0, inner_ = 0;
  std::vector<int64_t> parts_;  // part sizes along the axis at prepare time
};

// Slice: a strided gather; starts/steps are re-read each run (the InferFn validated them).
class SliceKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    const Shape& in = c.shape(0);
    in_strides_ = strides_of(in);
    start_.resize(in.size());
    stride_.resize(in.size());
    idx_.resize(in.size());
    if (!dispatch_size(dtype_size(c.dtype(0)), [&]<size_t N>() { fn_ = &gather_strided<N>; }))
      return c.unsupported_dtype(c.dtype(0));
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    const Shape& in = c.input(0).shape();
    const size_t r = in.size();
    for (size_t d = 0; d < r; ++d) {
      start_[d] = 0;
      stride_[d] = in_strides_[d];
    }
    const Tensor& starts = c.input(1);
    for (int64_t i = 0; i < starts.numel(); ++i) {
      const int64_t ax = c.has_input(3) ? c.input(3).get_as_int64(i) : i;
      const size_t d = static_cast<size_t>(ax < 0 ? ax + static_cast<int64_t>(r) : ax);
      const int64_t step = c.has_input(4) ? c.input(4).get_as_int64(i) : 1;
      const SliceAxis s = resolve_slice(starts.get_as_int64(i), c.input(2).get_as_int64(i), step, in[d]);
      start_[d] = s.start;
      stride_[d] = s.step * in_strides_[d];
    }
    const Shape& out = c.output(0).shape();
    if (shape_numel(out) == 0) return Status::ok();
    int64_t base = 0;
    for (size_t d = 0; d < r; ++d) base += start_[d] * in_strides_[d];
    fn_(in_bytes(c, 0), out_bytes(c, 0), base, out, stride_, idx_);
    return Status::ok();
  }

 private:
  std::vector<int64_t> in_strides_, start_, stride_, idx_;
  GatherFn fn_ = nullptr;
};

}  // namespace

std::unique_ptr<Kernel> make_Identity(const ir::Node&) { return std::make_unique<CopyKernel>(); }
std::unique_ptr<Kernel> make_Dropout(const ir::Node&) { return std::make_unique<DropoutKernel>(); }
std::unique_ptr<Kernel> make_Constant(const ir::Node&) { return std::make_unique<ConstantKernel>(); }
std::unique_ptr<Kernel> make_ConstantOfShape(const ir::Node&) {
  return std::make_unique<ConstantOfShapeKernel>();
}
std::unique_ptr<Kernel> make_EyeLike(const ir::Node&) { return std::make_unique<EyeLikeKernel>(); }
std::unique_ptr<Kernel> make_Range(const ir::Node&) { return std::make_unique<RangeKernel>(); }
std::unique_ptr<Kernel> make_Shape(const ir::Node&) { return std::make_unique<ShapeKernel>(); }
std::unique_ptr<Kernel> make_Size(const ir::Node&) { return std::make_unique<SizeKernel>(); }
std::unique_ptr<Kernel> make_Reshape(const ir::Node&) { return std::make_unique<CopyKernel>(); }
std::unique_ptr<Kernel> make_Flatten(const ir::Node&) { return std::make_unique<CopyKernel>(); }
std::unique_ptr<Kernel> make_Squeeze(const ir::Node&) { return std::make_unique<CopyKernel>(); }
std::unique_ptr<Kernel> make_Unsqueeze(const ir::Node&) { return std::make_unique<CopyKernel>(); }
std::unique_ptr<Kernel> make_Transpose(const ir::Node&) { return std::make_unique<TransposeKernel>(); }
std::unique_ptr<Kernel> make_Concat(const ir::Node&) { return std::make_unique<ConcatKernel>(); }
std::unique_ptr<Kernel> make_Split(const ir::Node&) { return std::make_unique<SplitKernel>(); }
std::unique_ptr<Kernel> make_Slice(const ir::Node&) { return std::make_unique<SliceKernel>(); }

}  // namespace verge::ref
