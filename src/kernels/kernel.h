// Kernel lifecycle (after TFLite Micro / XNNPACK / ORT PrePack):
//
//   make (factory from the op table or the optimized-variant registry)
//   prepare(PrepareContext&)  once per plan: input/output dtypes and shapes are final and validated by
//                             the op's InferFn; parse attributes, validate what shape inference did not,
//                             precompute, pack constant weights, request scratch bytes. May allocate.
//   run(RunContext&)          many times: only computes. No heap allocation, no re-validation. Returns
//                             an error only for data-dependent problems (an index out of range in a
//                             runtime tensor), never for things prepare could have checked.
#pragma once

#include <fmt/format.h>

#include <memory>
#include <span>
#include <string>

#include "ir/graph.h"
#include "ir/infer.h"
#include "kernels/pack_cache.h"
#include "verge/tensor.h"

namespace verge {

class ThreadPool;
struct ExecOptions;

class PrepareContext {
 public:
  PrepareContext(const ir::Graph& graph, const ir::Node& node, std::span<const TensorType* const> inputs,
                 std::span<const Tensor* const> constants, std::span<const TensorType> outputs,
                 const ExecOptions& options)
      : graph_(graph),
        node_(node),
        inputs_(inputs),
        constants_(constants),
        outputs_(outputs),
        options_(options) {}

  const ir::Node& node() const { return node_; }
  const ir::Graph& graph() const { return graph_; }
  const ExecOptions& options() const { return options_; }
  size_t num_inputs() const { return inputs_.size(); }
  bool has_input(size_t i) const { return i < inputs_.size() && inputs_[i] != nullptr; }
  DType dtype(size_t i) const { return inputs_[i]->dtype; }
  const Shape& shape(size_t i) const { return inputs_[i]->shape; }
  const TensorType& input(size_t i) const { return *inputs_[i]; }
  // Value of input i when it is constant for the life of the plan (initializer / folded), else nullptr.
  const Tensor* constant(size_t i) const { return i < constants_.size() ? constants_[i] : nullptr; }
  size_t num_outputs() const { return outputs_.size(); }
  bool has_output(size_t i) const { return i < outputs_.size() && outputs_[i].dtype != DType::kUndefined; }
  const TensorType& output(size_t i) const { return outputs_[i]; }
  std::span<const TensorType* const> input_types() const { return inputs_; }
  std::span<const Tensor* const> constants() const { return constants_; }
  std::span<const TensorType> output_types() const { return outputs_; }

  // Bytes of 64-byte aligned scratch memory run() will get in RunContext::scratch.
  void request_scratch(size_t bytes) { scratch_bytes_ = bytes; }
  size_t scratch_bytes() const { return scratch_bytes_; }
  // Declares that run() is correct when output 0 shares memory with input `i` (same byte size), e.g. an
  // elementwise kernel that reads element k before writing element k. The planner then may run the
  // node in place when input i is not needed afterwards.
  void allow_in_place(size_t i) { in_place_input_ = static_cast<int>(i); }
  int in_place_input() const { return in_place_input_; }

  // Constant data derived from constant inputs (packed weights), shared with the other plans of the
  // session (kernels/pack_cache.h): build() — returning a T — runs only when no live plan holds the data
  // for this node, kernel and `layout` yet. `layout` must name every choice the data depends on besides
  // the inputs listed in `from` (block size, mode, tile grouping, ...). Shared only when every input in
  // `from` is a graph initializer (the same tensor in every plan; a folded constant may differ per
  // plan), else built for this plan alone.
  template <class T, class Build>
  std::shared_ptr<const T> shared_constant(const char* kernel, std::string layout,
                                           std::initializer_list<size_t> from, Build&& build) const {
    auto make = [&] { return std::shared_ptr<const void>(std::make_shared<const T>(build())); };
    bool shareable = options_packs() != nullptr;
    for (size_t i : from) shareable = shareable && is_initializer(i);
    if (!shareable) return std::static_pointer_cast<const T>(make());
    return std::static_pointer_cast<const T>(
        options_packs()->get_or_build({&node_, kernel, std::move(layout)}, make));
  }
  // Input i is an initializer of the node's graph (not a folded or bound value).
  bool is_initializer(size_t i) const;

  template <class... Args>
  Status invalid(fmt::format_string<Args...> f, Args&&... args) const {
    return Status::invalid_model(fmt::format(f, std::forward<Args>(args)...));
  }
  // "Conv does not support dtype int32" style error.
  Status unsupported_dtype(DType t) const;

 private:
  PackCache* options_packs() const;

  const ir::Graph& graph_;
  const ir::Node& node_;
  std::span<const TensorType* const> inputs_;
  std::span<const Tensor* const> constants_;
  std::span<const TensorType> outputs_;
  const ExecOptions& options_;
  size_t scratch_bytes_ = 0;
  int in_place_input_ = -1;
};

// Allocates outputs of kernels whose output shapes are only known after computing (see
// InferContext::outputs_known_after_run). Only such kernels may call it.
class OutputAllocator {
 public:
  virtual ~OutputAllocator() = default;
  virtual Result<Tensor*> allocate(size_t output, DType dtype, const Shape& shape) = 0;
};

struct RunContext {
  std::span<const Tensor* const> inputs;  // nullptr for omitted optional inputs; implicit inputs follow
  std::span<Tensor* const> outputs;       // nullptr for omitted optional outputs
  void* scratch = nullptr;
  ThreadPool* pool = nullptr;  // nullptr = run on the calling thread
  const ExecOptions* options = nullptr;
  OutputAllocator* allocator = nullptr;

  bool has_input(size_t i) const { return i < inputs.size() && inputs[i] != nullptr; }
  const Tensor& input(size_t i) const { return *inputs[i]; }
  bool has_output(size_t i) const { return i < outputs.size() && outputs[i] != nullptr; }
  Tensor& output(size_t i) const { return *outputs[i]; }
  Result<Tensor*> allocate_output(size_t i, DType dtype, const Shape& shape) const {
    if (!allocator) return Status::internal("allocate_output called by a kernel with planned outputs");
    return allocator->allocate(i, dtype, shape);
  }
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  [[nodiscard]] virtual Status prepare(PrepareContext&) { return Status::ok(); }
  [[nodiscard]] virtual Status run(const RunContext& ctx) = 0;
  // Short name of the implementation for logs/inspect ("ref", "avx512_f32_gemm", ...).
  virtual const char* name() const { return "ref"; }
};

}  // namespace verge
