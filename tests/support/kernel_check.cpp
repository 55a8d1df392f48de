#include "kernel_check.h"

#include <cstring>

#include "core/compare.h"
#include "core/thread_pool.h"
#include "kernels/blocked.h"
#include "kernels/registry.h"
#include "runtime/exec_options.h"

namespace verge::test {

KernelCase::KernelCase(std::string op_type, std::string domain) {
  node.op_type = std::move(op_type);
  node.domain = std::move(domain);
  node.name = "case";
  auto op = find_op(node.domain, node.op_type);
  node.op = op ? *op : OpId::kUnknown;
}
KernelCase& KernelCase::input(Tensor t) {
  inputs.push_back(std::move(t));
  is_constant.push_back(false);
  present.push_back(true);
  return *this;
}
KernelCase& KernelCase::constant(Tensor t) {
  inputs.push_back(std::move(t));
  is_constant.push_back(true);
  present.push_back(true);
  return *this;
}
KernelCase& KernelCase::omitted() {
  inputs.emplace_back();
  is_constant.push_back(false);
  present.push_back(false);
  return *this;
}
KernelCase& KernelCase::attr_int(const std::string& n, int64_t v) {
  node.set_attr(ir::Attribute{.name = n, .type = ir::AttrType::kInt, .i = v});
  return *this;
}
KernelCase& KernelCase::attr_float(const std::string& n, float v) {
  node.set_attr(ir::Attribute{.name = n, .type = ir::AttrType::kFloat, .f = v});
  return *this;
}
KernelCase& KernelCase::attr_string(const std::string& n, const std::string& v) {
  node.set_attr(ir::Attribute{.name = n, .type = ir::AttrType::kString, .s = v});
  return *this;
}
KernelCase& KernelCase::attr_ints(const std::string& n, std::vector<int64_t> v) {
  node.set_attr(ir::Attribute{.name = n, .type = ir::AttrType::kInts, .ints = std::move(v)});
  return *this;
}
KernelCase& KernelCase::attr_floats(const std::string& n, std::vector<float> v) {
  node.set_attr(ir::Attribute{.name = n, .type = ir::AttrType::kFloats, .floats = std::move(v)});
  return *this;
}
KernelCase& KernelCase::tolerance(double r, double a) {
  rtol = r;
  atol = a;
  return *this;
}
KernelCase& KernelCase::blocked_channels(size_t output, int64_t channels) {
  if (out_channels.size() <= output) out_channels.resize(output + 1, -1);
  out_channels[output] = channels;
  return *this;
}

namespace {

struct Outputs {
  Status status;
  std::vector<Tensor> tensors;
};

// Infers, prepares and runs one kernel on the case (after one run on other 8-bit inputs, twice; both
// runs must agree).
Outputs run_kernel(const KernelCase& kc, const ir::Graph& g, const ir::Node& node,
                   const KernelVariant* variant, int threads) {
  Outputs r;
  std::vector<TensorType> in_types(kc.inputs.size());
  std::vector<const TensorType*> type_ptrs(kc.inputs.size(), nullptr);
  std::vector<const Tensor*> values(kc.inputs.size(), nullptr), constants(kc.inputs.size(), nullptr);
  for (size_t i = 0; i < kc.inputs.size(); ++i) {
    if (!kc.present[i]) continue;
    in_types[i] = {kc.inputs[i].dtype(), kc.inputs[i].shape()};
    type_ptrs[i] = &in_types[i];
    values[i] = &kc.inputs[i];
    if (kc.is_constant[i]) constants[i] = &kc.inputs[i];
  }
  std::vector<TensorType> out_types(node.outputs.size());
  InferContext ic(g, node, type_ptrs, constants, out_types);
  r.status = op_info(node.op).infer(ic);
  if (!r.status.is_ok()) return r;
  ThreadPool pool(threads);
  ExecOptions eo;
  eo.pool = threads > 1 ? &pool : nullptr;
  PrepareContext pc(g, node, type_ptrs, constants, out_types, eo);
  std::unique_ptr<Kernel> k;
  if (variant) {
    if (!variant->accepts(pc)) {
      r.status = Status::unsupported("variant does not accept the case");
      return r;
    }
    k = variant->make(node);
  } else {
    k = op_info(node.op).make_reference(node);
  }
  r.status = k->prepare(pc);
  if (!r.status.is_ok()) return r;
  const size_t scratch_bytes = (pc.scratch_bytes() + 64) / 64 * 64;
  void* scratch = std::aligned_alloc(64, scratch_bytes);
  std::vector<Tensor*> out_ptrs;
  // A run on other 8-bit runtime inputs first (any byte is a valid int8 / uint8 value): what a kernel
  // keeps between runs (a padded copy's borders) must not carry the previous input into the next.
  std::vector<Tensor> other;
  std::vector<const Tensor*> other_values(values);
  bool any_other = false;
  for (size_t i = 0; i < kc.inputs.size(); ++i) {
    if (!kc.present[i] || kc.is_constant[i] || dtype_size(kc.inputs[i].dtype()) != 1 ||
        kc.inputs[i].dtype() == DType::kBool)
      continue;
    other.push_back(Tensor::allocate(kc.inputs[i].dtype(), kc.inputs[i].shape()).value());
    auto* bytes = static_cast<uint8_t*>(other.back().raw());
    for (size_t b = 0; b < other.back().nbytes(); ++b) bytes[b] = static_cast<uint8_t>(b * 37 + 11);
    any_other = true;
  }
  if (any_other) {
    for (size_t i = 0, j = 0; i < kc.inputs.size(); ++i)
      if (kc.present[i] && !kc.is_constant[i] && dtype_size(kc.inputs[i].dtype()) == 1 &&
          kc.inputs[i].dtype() != DType::kBool)
        other_values[i] = &other[j++];
    std::vector<Tensor> outs;
    for (const TensorType& t : out_types) outs.push_back(Tensor::allocate(t.dtype, t.shape).value());
    for (Tensor& t : outs) out_ptrs.push_back(&t);
    RunContext rc{other_values, out_ptrs, scratch, eo.pool, &eo};
    r.status = k->run(rc);
    out_ptrs.clear();
    if (!r.status.is_ok()) {
      std::free(scratch);
      return r;
    }
  }
  for (size_t pass = 0; pass < 2; ++pass) {
    // Different junk in the scratch each pass (other nodes use it in between): a kernel must not depend
    // on what it or anything else left there.
    std::memset(scratch, pass == 0 ? 0x5a : 0xa5, scratch_bytes);
    std::vector<Tensor> outs;
    for (const TensorType& t : out_types) outs.push_back(Tensor::allocate(t.dtype, t.shape).value());
    // Junk in the output buffers: kernels must write every element they own.
    for (Tensor& t : outs) std::memset(t.raw(), 0x7f, t.nbytes());
    out_ptrs.clear();
    for (Tensor& t : outs) out_ptrs.push_back(&t);
    RunContext rc{values, out_ptrs, scratch, eo.pool, &eo};
    r.status = k->run(rc);
    if (!r.status.is_ok()) break;
    if (pass == 0) {
      r.tensors = std::move(outs);
    } else {
      for (size_t o = 0; o < outs.size(); ++o)
        if (std::memcmp(outs[o].raw(), r.tensors[o].raw(), outs[o].nbytes()) != 0)
          r.status = Status::internal("a second run gave different results");
    }
  }
  std::free(scratch);
  return r;
}

Tensor real_channels(const Tensor& t, int64_t channels) {
  const int64_t b = t.shape().back(), n = t.dim(0);
  const int64_t s = t.numel() / (n * t.dim(1) * b);
  Shape shape = {n, channels};
  shape.insert(shape.end(), t.shape().begin() + 2, t.shape().end() - 1);
  Tensor out = Tensor::allocate(DType::kFloat32, shape).value();
  from_blocked(t.data<float>(), out.data<float>(), n, channels, s, b);
  return out;
}

}  // namespace

int check_variants(const KernelCase& kc, const std::string& variant_name) {
  ir::Graph g;
  ir::Node node = kc.node;
  for (size_t i = 0; i < kc.inputs.size(); ++i)
    node.inputs.push_back(kc.present[i] ? g.add_value("in" + std::to_string(i)) : ir::kNoValue);
  const size_t n_out = std::max<size_t>(1, kc.out_channels.size());
  for (size_t o = 0; o < n_out; ++o) node.outputs.push_back(g.add_value("out" + std::to_string(o)));
  Outputs ref = run_kernel(kc, g, node, nullptr, 1);
  EXPECT_TRUE(ref.status.is_ok()) << "reference: " << ref.status.to_string();
  if (!ref.status.is_ok()) return 0;
  int ran = 0;
  for (const KernelVariant& v : kernel_variants()) {
    if (v.op != node.op || !cpu_has(v.isa) || (!variant_name.empty() && variant_name != v.name)) continue;
    for (int threads : {1, 2}) {
      Outputs got = run_kernel(kc, g, node, &v, threads);
      if (got.status.code() == StatusCode::kUnsupported &&
          got.status.message() == "variant does not accept the case")
        break;
      EXPECT_TRUE(got.status.is_ok()) << v.name << ": " << got.status.to_string();
      if (!got.status.is_ok()) break;
      ++ran;
      for (size_t o = 0; o < ref.tensors.size(); ++o) {
        const int64_t ch = o < kc.out_channels.size() ? kc.out_channels[o] : -1;
        Tensor a = ch >= 0 ? real_channels(got.tensors[o], ch) : got.tensors[o];
        Tensor e = ch >= 0 ? real_channels(ref.tensors[o], ch) : ref.tensors[o];
        Comparison c = compare_tensors(a, e, kc.rtol, kc.atol);
        EXPECT_TRUE(c.ok) << v.name << " (" << threads << " threads) output " << o << ": " << c.message;
      }
    }
  }
  return ran;
}

Tensor random_tensor(std::mt19937& rng, Shape shape, float lo, float hi) {
  Tensor t = Tensor::allocate(DType::kFloat32, std::move(shape)).value();
  std::uniform_real_distribution<float> u(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(rng);
  return t;
}

Tensor random_blocked(std::mt19937& rng, int64_t n, int64_t c, int64_t h, int64_t w, int64_t b,
                      float pad_value) {
  const int64_t cb = blocks_of(c, b);
  Tensor t = random_tensor(rng, {n, cb, h, w, b});
  for (int64_t i = 0; i < t.numel(); ++i)
    if ((i / (h * w * b)) % cb * b + i % b >= c) t.data<float>()[i] = pad_value;
  return t;
}

}  // namespace verge::test
