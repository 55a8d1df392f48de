// Reference kernels: elementwise math, activations, logic, comparisons, Where, Clip, Cast.
// Half types compute in float (ComputeT) and round back; integer division by zero is an error, never UB.
#include <cmath>
#include <limits>

#include "kernels/ref/ref_common.h"

namespace verge::ref {
namespace {

struct Params {
  float alpha = 0, beta = 0, gamma = 0;
  int64_t i0 = 0, i1 = 0;
};

// ---------------------------------------------------------------------------------------------------
// Unary: y = Op::f(x). Op provides `params(node)` and `template <class C> static C f(C x, const Params&)`.
template <class Op, class Types = typename Op::Types>
class UnaryKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    p_ = Op::params(c.node());
    if (!dispatch(Types{}, c.dtype(0), [&]<class T>() { fn_ = &apply<T>; })) return c.unsupported_dtype(c.dtype(0));
    c.allow_in_place(0);  // element i is read before it is written
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    fn_(c.input(0), c.output(0), p_);
    return Status::ok();
  }

 private:
  template <class T>
  static void apply(const Tensor& x, Tensor& y, const Params& p) {
    const T* in = x.data<T>();
    T* out = y.data<T>();
    for (int64_t i = 0; i < x.numel(); ++i) out[i] = to_storage<T>(Op::template f<ComputeT<T>>(ComputeT<T>(in[i]), p));
  }
  Params p_;
  void (*fn_)(const Tensor&, Tensor&, const Params&) = nullptr;
};

struct NoParams {
  static Params params(const ir::Node&) { return {}; }
};
// Defines Name##Op for UnaryKernel; factories are listed after the anonymous namespace.
#define VERGE_UNARY(Name, TypeSet, expr) \
  struct Name##Op : NoParams {           \
    using Types = TypeSet;               \
    template <class C>                   \
    static C f(C x, const Params&) {     \
      return expr;                       \
    }                                    \
  };

template <class C>
C abs_value(C x) {
  if constexpr (std::is_unsigned_v<C>) return x;
  else return x < C(0) ? C(-x) : x;
}
template <class C>
C sign_value(C x) {
  if constexpr (std::is_unsigned_v<C>) return x > C(0) ? C(1) : C(0);
  else return x > C(0) ? C(1) : (x < C(0) ? C(-1) : C(0));
}
template <class C>
C round_half_even(C x) {
  return std::nearbyint(x);  // default rounding mode: to nearest, ties to even
}

using FloatOnly = FloatTypes;
using ReluTypes = TypeList<float, double, float16_t, bfloat16_t, int8_t, int16_t, int32_t, int64_t>;

VERGE_UNARY(Abs, NumericTypes, abs_value(x))
VERGE_UNARY(Neg, SignedNumericTypes, C(-x))
VERGE_UNARY(Sign, NumericTypes, sign_value(x))
VERGE_UNARY(Ceil, FloatOnly, std::ceil(x))
VERGE_UNARY(Floor, FloatOnly, std::floor(x))
VERGE_UNARY(Round, FloatOnly, round_half_even(x))
VERGE_UNARY(Reciprocal, FloatOnly, C(1) / x)
VERGE_UNARY(Sqrt, FloatOnly, std::sqrt(x))
VERGE_UNARY(Exp, FloatOnly, std::exp(x))
VERGE_UNARY(Log, FloatOnly, std::log(x))
VERGE_UNARY(Erf, FloatOnly, std::erf(x))
VERGE_UNARY(Sin, FloatOnly, std::sin(x))
VERGE_UNARY(Cos, FloatOnly, std::cos(x))
VERGE_UNARY(Tan, FloatOnly, std::tan(x))
VERGE_UNARY(Asin, FloatOnly, std::asin(x))
VERGE_UNARY(Acos, FloatOnly, std::acos(x))
VERGE_UNARY(Atan, FloatOnly, std::atan(x))
VERGE_UNARY(Sinh, FloatOnly, std::sinh(x))
VERGE_UNARY(Cosh, FloatOnly, std::cosh(x))
VERGE_UNARY(Asinh, FloatOnly, std::asinh(x))
VERGE_UNARY(Acosh, FloatOnly, std::acosh(x))
VERGE_UNARY(Atanh, FloatOnly, std::atanh(x))
VERGE_UNARY(Tanh, FloatOnly, std::tanh(x))
VERGE_UNARY(Sigmoid, FloatOnly, x >= C(0) ? C(1) / (C(1) + std::exp(-x)) : std::exp(x) / (C(1) + std::exp(x)))
VERGE_UNARY(Relu, ReluTypes, x > C(0) ? x : C(0))
VERGE_UNARY(Softsign, FloatOnly, x / (C(1) + std::fabs(x)))
VERGE_UNARY(Softplus, FloatOnly, x > C(0) ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)))
VERGE_UNARY(HardSwish, FloatOnly, x * std::max(C(0), std::min(C(1), x / C(6) + C(0.5))))
VERGE_UNARY(Not, TypeList<bool>, !x)
#undef VERGE_UNARY

#define VERGE_UNARY_P(Name, TypeSet, params_expr, expr) \
  struct Name##Op {                                      \
    using Types = TypeSet;                               \
    static Params params(const ir::Node& n) {            \
      Params p;                                          \
      params_expr;                                       \
      return p;                                          \
    }                                                    \
    template <class C>                                   \
    static C f(C x, const Params& p) {                   \
      return expr;                                       \
    }                                                    \
  };

VERGE_UNARY_P(Elu, FloatOnly, p.alpha = n.get_float("alpha", 1.f), x >= C(0) ? x : C(p.alpha) * (std::exp(x) - C(1)))
VERGE_UNARY_P(Celu, FloatOnly, p.alpha = n.get_float("alpha", 1.f),
              std::max(C(0), x) + std::min(C(0), C(p.alpha) * (std::exp(x / C(p.alpha)) - C(1))))
VERGE_UNARY_P(Selu, FloatOnly, (p.alpha = n.get_float("alpha", 1.67326319217681884765625f), p.gamma = n.get_float("gamma", 1.05070102214813232421875f)),
              x > C(0) ? C(p.gamma) * x : C(p.gamma) * (C(p.alpha) * std::exp(x) - C(p.alpha)))
VERGE_UNARY_P(LeakyRelu, FloatOnly, p.alpha = n.get_float("alpha", 0.01f), x >= C(0) ? x : C(p.alpha) * x)
VERGE_UNARY_P(ThresholdedRelu, FloatOnly, p.alpha = n.get_float("alpha", 1.f), x > C(p.alpha) ? x : C(0))
VERGE_UNARY_P(HardSigmoid, FloatOnly, (p.alpha = n.get_float("alpha", 0.2f), p.beta = n.get_float("beta", 0.5f)),
              std::max(C(0), std::min(C(1), C(p.alpha) * x + C(p.beta))))
#undef VERGE_UNARY_P

// IsInf / IsNaN: float in, bool out.
template <bool kIsNan>
class FloatClassKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    neg_ = c.node().get_int("detect_negative", 1) != 0;
    pos_ = c.node().get_int("detect_positive", 1) != 0;
    if (!dispatch(FloatTypes{}, c.dtype(0), [&]<class T>() { fn_ = &apply<T>; })) return c.unsupported_dtype(c.dtype(0));
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    fn_(c.input(0), c.output(0), neg_, pos_);
    return Status::ok();
  }

 private:
  template <class T>
  static void apply(const Tensor& x, Tensor& y, bool neg, bool pos) {
    const T* in = x.data<T>();
    bool* out = y.data<bool>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      const float v = static_cast<float>(in[i]);
      if constexpr (kIsNan) out[i] = std::isnan(v);
      else out[i] = std::isinf(v) && ((v > 0 && pos) || (v < 0 && neg));
    }
  }
  bool neg_ = true, pos_ = true;
  void (*fn_)(const Tensor&, Tensor&, bool, bool) = nullptr;
};

// Clip(x, min?, max?): bounds are runtime scalars (any numeric dtype is accepted for models upgraded
// from Clip-6, whose float bounds may meet double/half data).
class ClipKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    for (size_t i = 1; i < 3; ++i)
      if (c.has_input(i) && shape_numel(c.shape(i)) != 1)
        return c.invalid("Clip bound '{}' must be a scalar, got shape {}", i == 1 ? "min" : "max", shape_to_string(c.shape(i)));
    if (!dispatch(NumericTypes{}, c.dtype(0), [&]<class T>() { fn_ = &apply<T>; })) return c.unsupported_dtype(c.dtype(0));
    c.allow_in_place(0);
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    fn_(c);
    return Status::ok();
  }

 private:
  template <class T>
  static void apply(const RunContext& c) {
    using C = ComputeT<T>;
    C lo = std::numeric_limits<C>::lowest(), hi = std::numeric_limits<C>::max();
    if (c.has_input(1)) lo = static_cast<C>(c.input(1).get_as_double(0));
    if (c.has_input(2)) hi = static_cast<C>(c.input(2).get_as_double(0));
    const T* in = c.input(0).data<T>();
    T* out = c.output(0).data<T>();
    for (int64_t i = 0; i < c.input(0).numel(); ++i) {
      C v = static_cast<C>(in[i]);
      v = v < lo ? lo : v;
      v = v > hi ? hi : v;
      out[i] = to_storage<T>(v);
    }
  }
  void (*fn_)(const RunContext&) = nullptr;
};

// ---------------------------------------------------------------------------------------------------
// Broadcasting n-ary ops: out = fold(Op::f, inputs). Op::f returns a Status-free value; integer ops
// that can fault (division) validate operands in Op::check first.
template <class Op, class Types, class OutT = void>
class NaryKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    std::vector<const Shape*> shapes;
    for (size_t i = 0; i < c.num_inputs(); ++i) shapes.push_back(&c.shape(i));
    bcast_ = Broadcaster(c.output(0).shape, shapes);
    p_ = Op::params(c.node());
    if (!dispatch(Types{}, c.dtype(0), [&]<class T>() { fn_ = &apply<T>; })) return c.unsupported_dtype(c.dtype(0));
    if constexpr (requires { Op::validate(p_, c.dtype(0)); }) VERGE_RETURN_IF_ERROR(Op::validate(p_, c.dtype(0)));
    // Output element o reads input elements at offsets <= o only when that input is not broadcast.
    if constexpr (std::is_void_v<OutT>) {
      for (size_t i = 0; i < c.num_inputs(); ++i)
        if (c.shape(i) == c.output(0).shape) {
          c.allow_in_place(i);
          break;
        }
    }
    return Status::ok();
  }
  Status run(const RunContext& c) override { return fn_(c, bcast_, p_); }

 private:
  template <class T>
  static Status apply(const RunContext& c, const Broadcaster& b, const Params& p) {
    using C = ComputeT<T>;
    using Out = std::conditional_t<std::is_void_v<OutT>, T, OutT>;
    const size_t n = b.num_inputs();
    Out* out = c.output(0).data<Out>();
    bool fault = false;
    b.for_each([&](int64_t o, std::span<const int64_t> off) {
      if constexpr (std::is_void_v<OutT>) {
        C acc = C(c.input(0).data<T>()[off[0]]);
        for (size_t k = 1; k < n; ++k) {
          const C v = C(c.input(k).data<T>()[off[k]]);
          if constexpr (requires { Op::faults(acc, v, p); }) fault = fault || Op::faults(acc, v, p);
          acc = fault ? C(0) : Op::template f<C>(acc, v, p);
        }
        if constexpr (requires { Op::finish(acc, n); }) acc = Op::finish(acc, n);
        out[o] = to_storage<T>(acc);
      } else {
        out[o] = Op::template f<C>(C(c.input(0).data<T>()[off[0]]), C(c.input(1).data<T>()[off[1]]), p);
      }
    });
    if constexpr (requires { Op::kFaultMessage; })
      if (fault) return Status::out_of_range(std::string(Op::kFaultMessage));
    return Status::ok();
  }
  Broadcaster bcast_;
  Params p_;
  Status (*fn_)(const RunContext&, const Broadcaster&, const Params&) = nullptr;
};

struct AddOp : NoParams {
  template <class C>
  static C f(C a, C b, const Params&) {
    if constexpr (std::is_integral_v<C>) return static_cast<C>(static_cast<std::make_unsigned_t<C>>(a) + static_cast<std::make_unsigned_t<C>>(b));
    else return a + b;
  }
};
struct SubOp : NoParams {
  template <class C>
  static C f(C a, C b, const Params&) {
    if constexpr (std::is_integral_v<C>) return static_cast<C>(static_cast<std::make_unsigned_t<C>>(a) - static_cast<std::make_unsigned_t<C>>(b));
    else return a - b;
  }
};
struct MulOp : NoParams {
  template <class C>
  static C f(C a, C b, const Params&) {
    if constexpr (std::is_integral_v<C>) {
      using U = std::conditional_t<(sizeof(C) < sizeof(unsigned)), unsigned, std::make_unsigned_t<C>>;
      return static_cast<C>(static_cast<U>(a) * static_cast<U>(b));
    } else {
      return a * b;
    }
  }
};
template <class C>
bool int_div_faults(C a, C b) {
  if constexpr (std::is_integral_v<C>) {
    if (b == 0) return true;
    if constexpr (std::is_signed_v<C>) return a == std::numeric_limits<C>::min() && b == C(-1);
  }
  return false;
}
struct DivOp : NoParams {
  static constexpr std::string_view kFaultMessage = "integer division by zero (or overflow) in Div";
  template <class C>
  static bool faults(C a, C b, const Params&) {
    return int_div_faults(a, b);
  }
  template <class C>
  static C f(C a, C b, const Params&) {
    return a / b;
  }
};
struct ModOp {
  static constexpr std::string_view kFaultMessage = "integer modulo by zero in Mod";
  static Params params(const ir::Node& n) {
    Params p;
    p.i0 = n.get_int("fmod", 0);
    return p;
  }
  static Status validate(const Params& p, DType t) {
    if (p.i0 == 0 && dtype_is_float(t)) return Status::invalid_model("Mod on floating-point inputs requires fmod=1");
    return Status::ok();
  }
  template <class C>
  static bool faults(C a, C b, const Params&) {
    return int_div_faults(a, b);
  }
  template <class C>
  static C f(C a, C b, const Params& p) {
    if constexpr (std::is_integral_v<C>) {
      C r = a % b;
      if (p.i0 == 0 && r != 0 && ((r < 0) != (b < 0))) r = static_cast<C>(r + b);  // sign of divisor
      return r;
    } else {
      return std::fmod(a, b);
    }
  }
};
struct MaxOp : NoParams {
  template <class C>
  static C f(C a, C b, const Params&) {
    if constexpr (std::is_floating_point_v<C>) {
      if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<C>::quiet_NaN();
    }
    return a < b ? b : a;
  }
};
struct MinOp : NoParams {
  template <class C>
  static C f(C a, C b, const Params&) {
    if constexpr (std::is_floating_point_v<C>) {
      if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<C>::quiet_NaN();
    }
    return b < a ? b : a;
  }
};
struct SumOp : NoParams {
  template <class C>
  static C f(C a, C b, const Params&) {
    return a + b;
  }
};
struct MeanOp : SumOp {
  template <class C>
  static C finish(C acc, size_t n) {
    return acc / static_cast<C>(n);
  }
};
struct PReluOp : NoParams {
  template <class C>
  static C f(C x, C slope, const Params&) {
    return x < C(0) ? C(slope * x) : x;
  }
};
struct AndOp : NoParams {
  template <class C>
  static C f(C a, C b, const Params&) {
    return a && b;
  }
};
struct OrOp : NoParams {
  template <class C>
  static C f(C a, C b, const Params&) {
    return a || b;
  }
};
struct XorOp : NoParams {
  template <class C>
  static C f(C a, C b, const Params&) {
    return a != b;
  }
};
struct EqualOp : NoParams {
  template <class C>
  static bool f(C a, C b, const Params&) {
    return a == b;
  }
};
struct GreaterOp : NoParams {
  template <class C>
  static bool f(C a, C b, const Params&) {
    return a > b;
  }
};
struct GreaterOrEqualOp : NoParams {
  template <class C>
  static bool f(C a, C b, const Params&) {
    return a >= b;
  }
};
struct LessOp : NoParams {
  template <class C>
  static bool f(C a, C b, const Params&) {
    return a < b;
  }
};
struct LessOrEqualOp : NoParams {
  template <class C>
  static bool f(C a, C b, const Params&) {
    return a <= b;
  }
};

using SignedPReluTypes = TypeList<float, double, float16_t, bfloat16_t, int32_t, int64_t, uint32_t, uint64_t>;
using EqualTypes = AllTypes;

}  // namespace

#define VERGE_UNARY_FACTORY(Name) \
  std::unique_ptr<Kernel> make_##Name(const ir::Node&) { return std::make_unique<UnaryKernel<Name##Op>>(); }
VERGE_UNARY_FACTORY(Abs)
VERGE_UNARY_FACTORY(Neg)
VERGE_UNARY_FACTORY(Sign)
VERGE_UNARY_FACTORY(Ceil)
VERGE_UNARY_FACTORY(Floor)
VERGE_UNARY_FACTORY(Round)
VERGE_UNARY_FACTORY(Reciprocal)
VERGE_UNARY_FACTORY(Sqrt)
VERGE_UNARY_FACTORY(Exp)
VERGE_UNARY_FACTORY(Log)
VERGE_UNARY_FACTORY(Erf)
VERGE_UNARY_FACTORY(Sin)
VERGE_UNARY_FACTORY(Cos)
VERGE_UNARY_FACTORY(Tan)
VERGE_UNARY_FACTORY(Asin)
VERGE_UNARY_FACTORY(Acos)
VERGE_UNARY_FACTORY(Atan)
VERGE_UNARY_FACTORY(Sinh)
VERGE_UNARY_FACTORY(Cosh)
VERGE_UNARY_FACTORY(Asinh)
VERGE_UNARY_FACTORY(Acosh)
VERGE_UNARY_FACTORY(Atanh)
VERGE_UNARY_FACTORY(Tanh)
VERGE_UNARY_FACTORY(Sigmoid)
VERGE_UNARY_FACTORY(Relu)
VERGE_UNARY_FACTORY(Softsign)
VERGE_UNARY_FACTORY(Softplus)
VERGE_UNARY_FACTORY(HardSwish)
VERGE_UNARY_FACTORY(Not)
VERGE_UNARY_FACTORY(Elu)
VERGE_UNARY_FACTORY(Celu)
VERGE_UNARY_FACTORY(Selu)
VERGE_UNARY_FACTORY(LeakyRelu)
VERGE_UNARY_FACTORY(ThresholdedRelu)
VERGE_UNARY_FACTORY(HardSigmoid)
#undef VERGE_UNARY_FACTORY

std::unique_ptr<Kernel> make_IsInf(const ir::Node&) { return std::make_unique<FloatClassKernel<false>>(); }
std::unique_ptr<Kernel> make_IsNaN(const ir::Node&) { return std::make_unique<FloatClassKernel<true>>(); }
std::unique_ptr<Kernel> make_Clip(const ir::Node&) { return std::make_unique<ClipKernel>(); }
std::unique_ptr<Kernel> make_Add(const ir::Node&) { return std::make_unique<NaryKernel<AddOp, NumericTypes>>(); }
std::unique_ptr<Kernel> make_Sub(const ir::Node&) { return std::make_unique<NaryKernel<SubOp, NumericTypes>>(); }
std::unique_ptr<Kernel> make_Mul(const ir::Node&) { return std::make_unique<NaryKernel<MulOp, NumericTypes>>(); }
std::unique_ptr<Kernel> make_Div(const ir::Node&) { return std::make_unique<NaryKernel<DivOp, NumericTypes>>(); }
std::unique_ptr<Kernel> make_Mod(const ir::Node&) { return std::make_unique<NaryKernel<ModOp, NumericTypes>>(); }
std::unique_ptr<Kernel> make_Max(const ir::Node&) { return std::make_unique<NaryKernel<MaxOp, NumericTypes>>(); }
std::unique_ptr<Kernel> make_Min(const ir::Node&) { return std::make_unique<NaryKernel<MinOp, NumericTypes>>(); }
std::unique_ptr<Kernel> make_Sum(const ir::Node&) { return std::make_unique<NaryKernel<SumOp, FloatTypes>>(); }
std::unique_ptr<Kernel> make_Mean(const ir::Node&) { return std::make_unique<NaryKernel<MeanOp, FloatTypes>>(); }
std::unique_ptr<Kernel> make_PRelu(const ir::Node&) { return std::make_unique<NaryKernel<PReluOp, SignedPReluTypes>>(); }
std::unique_ptr<Kernel> make_And(const ir::Node&) { return std::make_unique<NaryKernel<AndOp, TypeList<bool>>>(); }
std::unique_ptr<Kernel> make_Or(const ir::Node&) { return std::make_unique<NaryKernel<OrOp, TypeList<bool>>>(); }
std::unique_ptr<Kernel> make_Xor(const ir::Node&) { return std::make_unique<NaryKernel<XorOp, TypeList<bool>>>(); }
std::unique_ptr<Kernel> make_Equal(const ir::Node&) { return std::make_unique<NaryKernel<EqualOp, EqualTypes, bool>>(); }
std::unique_ptr<Kernel> make_Greater(const ir::Node&) {
  return std::make_unique<NaryKernel<GreaterOp, NumericTypes, bool>>();
}
std::unique_ptr<Kernel> make_GreaterOrEqual(const ir::Node&) {
  return std::make_unique<NaryKernel<GreaterOrEqualOp, NumericTypes, bool>>();
}
std::unique_ptr<Kernel> make_Less(const ir::Node&) { return std::make_unique<NaryKernel<LessOp, NumericTypes, bool>>(); }
std::unique_ptr<Kernel> make_LessOrEqual(const ir::Node&) {
  return std::make_unique<NaryKernel<LessOrEqualOp, NumericTypes, bool>>();
}

// Pow(base, exponent): output has the base's dtype; exponent may be any numeric dtype.
namespace {
class PowKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    const Shape* shapes[] = {&c.shape(0), &c.shape(1)};
    bcast_ = Broadcaster(c.output(0).shape, shapes);
    bool ok = dispatch(NumericTypes{}, c.dtype(0), [&]<class T>() {
      ok = dispatch(NumericTypes{}, c.dtype(1), [&]<class E>() { fn_ = &apply<T, E>; });
    });
    if (!ok || !fn_) return c.unsupported_dtype(fn_ ? c.dtype(1) : c.dtype(0));
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    fn_(c, bcast_);
    return Status::ok();
  }

 private:
  template <class T, class E>
  static void apply(const RunContext& c, const Broadcaster& b) {
    const T* x = c.input(0).data<T>();
    const E* e = c.input(1).data<E>();
    T* out = c.output(0).data<T>();
    b.for_each([&](int64_t o, std::span<const int64_t> off) {
      const double r = std::pow(static_cast<double>(x[off[0]]), static_cast<double>(e[off[1]]));
      if constexpr (kIsFloat<T>) {
        out[o] = to_storage<T>(r);
      } else {  // integer power: saturate instead of an out-of-range conversion
        constexpr double lo = static_cast<double>(std::numeric_limits<T>::lowest());
        constexpr double hi = static_cast<double>(std::numeric_limits<T>::max());
        out[o] = std::isnan(r) ? T(0) : r <= lo ? std::numeric_limits<T>::lowest() : r >= hi ? std::numeric_limits<T>::max() : static_cast<T>(r);
      }
    });
  }
  Broadcaster bcast_;
  void (*fn_)(const RunContext&, const Broadcaster&) = nullptr;
};

class WhereKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    const Shape* shapes[] = {&c.shape(0), &c.shape(1), &c.shape(2)};
    bcast_ = Broadcaster(c.output(0).shape, shapes);
    elem_ = dtype_size(c.dtype(1));
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    const bool* cond = c.input(0).data<bool>();
    const auto* x = static_cast<const unsigned char*>(c.input(1).raw());
    const auto* y = static_cast<const unsigned char*>(c.input(2).raw());
    auto* out = static_cast<unsigned char*>(c.output(0).raw());
    const size_t e = elem_;
    bcast_.for_each([&](int64_t o, std::span<const int64_t> off) {
      const unsigned char* src = cond[off[0]] ? x + off[1] * static_cast<int64_t>(e) : y + off[2] * static_cast<int64_t>(e);
      std::copy(src, src + e, out + o * static_cast<int64_t>(e));
    });
    return Status::ok();
  }

 private:
  Broadcaster bcast_;
  size_t elem_ = 0;
};

// Conversion with defined results for every input: NaN -> 0 and saturation for float -> integer
// (ONNX leaves out-of-range casts undefined; C++ would make them UB).
template <class To, class From>
To convert(From v) {
  if constexpr (std::is_same_v<To, bool>) {
    return static_cast<double>(v) != 0.0;
  } else if constexpr (kIsFloat<To>) {
    if constexpr (std::is_same_v<From, bool>) return to_storage<To>(v ? 1.0f : 0.0f);
    else if constexpr (kIsHalf<To> && (kIsHalf<From> || std::is_same_v<From, float>)) return To(static_cast<float>(v));
    else return to_storage<To>(static_cast<ComputeT<To>>(static_cast<std::conditional_t<kIsHalf<From>, float, From>>(v)));
  } else if constexpr (kIsFloat<From>) {
    const double d = static_cast<double>(static_cast<ComputeT<From>>(v));
    if (std::isnan(d)) return To(0);
    constexpr double lo = static_cast<double>(std::numeric_limits<To>::lowest());
    constexpr double hi = static_cast<double>(std::numeric_limits<To>::max());
    if (d <= lo) return std::numeric_limits<To>::lowest();
    if (d >= hi) return std::numeric_limits<To>::max();
    return static_cast<To>(d);
  } else {
    return static_cast<To>(v);  // integer <-> integer: modular, as numpy astype
  }
}

class CastKernel final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    const DType to = c.output(0).dtype;
    bool ok = dispatch_all(c.dtype(0), [&]<class From>() {
      ok = dispatch_all(to, [&]<class To>() { fn_ = &apply<From, To>; });
    });
    if (!fn_) return c.unsupported_dtype(c.dtype(0));
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    fn_(c.input(0), c.output(0));
    return Status::ok();
  }

 private:
  template <class From, class To>
  static void apply(const Tensor& x, Tensor& y) {
    const From* in = x.data<From>();
    To* out = y.data<To>();
    for (int64_t i = 0; i < x.numel(); ++i) out[i] = convert<To>(in[i]);
  }
  void (*fn_)(const Tensor&, Tensor&) = nullptr;
};
}  // namespace

std::unique_ptr<Kernel> make_Pow(const ir::Node&) { return std::make_unique<PowKernel>(); }
std::unique_ptr<Kernel> make_Where(const ir::Node&) { return std::make_unique<WhereKernel>(); }
std::unique_ptr<Kernel> make_Cast(const ir::Node&) { return std::make_unique<CastKernel>(); }
std::unique_ptr<Kernel> make_CastLike(const ir::Node&) { return std::make_unique<CastKernel>(); }

}  // namespace verge::ref
