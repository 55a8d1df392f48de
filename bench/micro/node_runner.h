// Runs one node (reference kernel or a named registered variant) on fixed inputs for microbenchmarks:
// infer, prepare once, then run() per benchmark iteration. Shared by the microbenchmarks.
#pragma once

#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "ir/graph.h"
#include "ir/infer.h"
#include "ir/op_table.h"
#include "kernels/kernel.h"
#include "kernels/registry.h"
#include "runtime/exec_options.h"
#include "verge/tensor.h"

namespace verge::bench {

class NodeRunner {
 public:
  NodeRunner(const std::string& op_type, const std::string& domain) {
    node_.op_type = op_type;
    node_.domain = domain;
    node_.name = "bench";
    node_.op = find_op(domain, op_type).value_or(OpId::kUnknown);
  }
  ~NodeRunner() { std::free(scratch_); }
  ir::Node& node() { return node_; }
  void attr_int(const std::string& name, int64_t v) {
    ir::Attribute a;
    a.name = name;
    a.type = ir::AttrType::kInt;
    a.i = v;
    node_.set_attr(std::move(a));
  }
  void attr_ints(const std::string& name, std::vector<int64_t> v) {
    ir::Attribute a;
    a.name = name;
    a.type = ir::AttrType::kInts;
    a.ints = std::move(v);
    node_.set_attr(std::move(a));
  }
  void attr_floats(const std::string& name, std::vector<float> v) {
    ir::Attribute a;
    a.name = name;
    a.type = ir::AttrType::kFloats;
    a.floats = std::move(v);
    node_.set_attr(std::move(a));
  }
  void attr_string(const std::string& name, std::string v) {
    ir::Attribute a;
    a.name = name;
    a.type = ir::AttrType::kString;
    a.s = std::move(v);
    node_.set_attr(std::move(a));
  }
  void input(Tensor t, bool constant = false) {
    inputs_.push_back(std::move(t));
    constant_.push_back(constant);
    present_.push_back(true);
  }
  void omitted() {
    inputs_.emplace_back();
    constant_.push_back(false);
    present_.push_back(false);
  }
  // variant "" = reference kernel. Returns an error message, or "" when ready to run.
  std::string prepare(const std::string& variant, int threads) {
    for (size_t i = 0; i < inputs_.size(); ++i)
      node_.inputs.push_back(present_[i] ? graph_.add_value("in" + std::to_string(i)) : ir::kNoValue);
    node_.outputs.push_back(graph_.add_value("out"));
    in_types_.resize(inputs_.size());
    type_ptrs_.assign(inputs_.size(), nullptr);
    values_.assign(inputs_.size(), nullptr);
    consts_.assign(inputs_.size(), nullptr);
    for (size_t i = 0; i < inputs_.size(); ++i) {
      if (!present_[i]) continue;
      in_types_[i] = {inputs_[i].dtype(), inputs_[i].shape()};
      type_ptrs_[i] = &in_types_[i];
      values_[i] = &inputs_[i];
      if (constant_[i]) consts_[i] = &inputs_[i];
    }
    out_types_.assign(1, TensorType{});
    InferContext ic(graph_, node_, type_ptrs_, consts_, out_types_);
    Status st = op_info(node_.op).infer(ic);
    if (!st.is_ok()) return st.to_string();
    if (threads > 1) pool_ = std::make_unique<ThreadPool>(threads);
    eo_.pool = pool_.get();
    PrepareContext pc(graph_, node_, type_ptrs_, consts_, out_types_, eo_);
    if (variant.empty()) {
      kernel_ = op_info(node_.op).make_reference(node_);
    } else {
      for (const KernelVariant& v : kernel_variants())
        if (v.op == node_.op && variant == v.name && cpu_has(v.isa) && v.accepts(pc)) kernel_ = v.make(node_);
      if (!kernel_) return "variant " + variant + " not available or does not accept the case";
    }
    st = kernel_->prepare(pc);
    if (!st.is_ok()) return st.to_string();
    scratch_ = std::aligned_alloc(64, (pc.scratch_bytes() + 64) / 64 * 64);
    out_ = Tensor::allocate(out_types_[0].dtype, out_types_[0].shape).value();
    out_ptrs_ = {&out_};
    return "";
  }
  bool run() {
    RunContext rc{values_, out_ptrs_, scratch_, eo_.pool, &eo_};
    return kernel_->run(rc).is_ok();
  }
  const Tensor& output() const { return out_; }

 private:
  ir::Graph graph_;
  ir::Node node_;
  std::vector<Tensor> inputs_;
  std::vector<bool> constant_, present_;
  std::vector<TensorType> in_types_, out_types_;
  std::vector<const TensorType*> type_ptrs_;
  std::vector<const Tensor*> values_, consts_;
  std::unique_ptr<ThreadPool> pool_;
  ExecOptions eo_;
  std::unique_ptr<Kernel> kernel_;
  void* scratch_ = nullptr;
  Tensor out_;
  std::vector<Tensor*> out_ptrs_;
};

inline Tensor bench_tensor(Shape shape, unsigned seed = 1) {
  Tensor t = Tensor::allocate(DType::kFloat32, std::move(shape)).value();
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(rng);
  return t;
}

}  // namespace verge::bench
