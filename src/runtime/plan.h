// Plan: a graph prepared for one set of concrete input types. Built once, run many times.
//
// build():
//   1. binds graph inputs (and, for subgraphs, outer-scope values) to concrete types;
//   2. walks nodes in order running each op's InferFn; nodes whose inputs are all known constants are
//      evaluated right away (constant folding: initializers, shape subgraphs), Shape/Size of a value of
//      known type are folded too; a node whose output shape depends on a value only known at run time
//      (and every node downstream of it) becomes "dynamic";
//   3. selects and prepares a kernel per static node (weights packed, scratch requested);
//   4. plans memory: every static intermediate value and every kernel's scratch gets an offset in one
//      arena, reusing memory between values whose lifetimes do not overlap (greedy by size);
//   5. wires tensor views so run() only binds input pointers and calls kernels.
// run(): no heap allocation unless the plan has dynamic nodes (their outputs are allocated per run).
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "ir/graph.h"
#include "ir/infer.h"
#include "kernels/kernel.h"
#include "runtime/exec_options.h"

namespace verge {

// A value supplied from outside the graph: a graph input, or an outer-scope value of a subgraph.
struct ValueBinding {
  ir::ValueId value = ir::kNoValue;
  TensorType type;
  const Tensor* constant = nullptr;  // set when the value is known at plan time
};

struct PlanStats {
  size_t arena_bytes = 0;
  size_t naive_bytes = 0;  // sum of all intermediate sizes (what no reuse would need)
  int static_nodes = 0;
  int dynamic_nodes = 0;
  int folded_nodes = 0;
  int in_place_nodes = 0;
  int threads_used = 0;  // after thread tuning: 1 or the pool's threads (0 = still tuning)
};

struct NodeProfile {
  std::string node, op, kernel;
  double seconds = 0;  // accumulated over runs since enable_profiling()
};

// One arena for several plans that never run at the same time (a session's plans for different input
// shapes): sized by the largest, so memory is the max of the plans' arenas, not their sum. Growing it
// frees the old buffer; a plan built earlier re-points its views at the start of its next run.
struct SharedArena {
  std::shared_ptr<void> buffer;
  size_t bytes = 0;
};

class Plan {
 public:
  ~Plan();
  // `graph` must outlive the plan. Bindings must cover every graph input and every outer-scope value the
  // graph reads. With `shared`, which must outlive the plan, intermediates live in that arena instead of
  // one of the plan's own; the plan's outputs then stay valid only until any plan sharing it runs or
  // another plan is built on it.
  static Result<std::unique_ptr<Plan>> build(const ir::Graph& graph, std::span<const ValueBinding> bindings,
                                             const ExecOptions& options, SharedArena* shared = nullptr);

  // With ExecOptions::infer_only the plan only infers types and folds constants (no kernels for other
  // nodes, no arena) and must not be run: for graph passes that need shapes.

  // Thread tuning (ExecOptions::thread_tuning_runs = T > 0, with a pool): runs 1..T alternate between
  // every step on the calling thread and every step on the pool; after run T the plan keeps the way whose
  // fastest run was faster.
  // Runs with tensors for the bindings, in the same order. Types must equal the planned ones (the caller
  // checks at its boundary). Output views stay valid until the next run() or the plan's destruction.
  [[nodiscard]] Status run(std::span<const Tensor* const> bound);
  std::span<const Tensor> outputs() const { return outputs_; }
  // Types of the graph outputs; dtype undefined / empty shape for outputs of dynamic nodes.
  const std::vector<TensorType>& output_types() const { return output_types_; }
  const PlanStats& stats() const { return stats_; }
  // Concrete type of a value of the planned graph; nullptr if unknown until run time (dynamic).
  const TensorType* value_type(ir::ValueId v) const;
  // Value known at plan time (initializer or folded), else nullptr.
  const Tensor* value_constant(ir::ValueId v) const;
  // Per-step wall time accumulated over subsequent runs (off by default: it costs two clock reads per
  // node).
  void enable_profiling();
  std::vector<NodeProfile> profile() const;
  // Names of the kernel chosen per static node ("ref", variant name), for inspect/debug.
  std::vector<std::pair<std::string, std::string>> kernel_choices() const;

 private:
  struct Slot;
  struct Step;
  Plan() = default;
  Status plan_nodes();
  Status plan_memory();
  Status run_dynamic(Step& step, ThreadPool* pool);
  void bind_arena(unsigned char* base);

  const ir::Graph* graph_ = nullptr;
  ExecOptions options_;
  std::vector<ValueBinding> bindings_;
  std::vector<Slot> slots_;
  std::vector<Step> steps_;
  std::vector<std::shared_ptr<const Tensor>> folded_;
  std::shared_ptr<void> arena_;    // own arena (no SharedArena)
  SharedArena* shared_ = nullptr;  // else this one
  unsigned char* base_ = nullptr;  // the arena the views point into
  std::vector<Tensor> outputs_;
  std::vector<TensorType> output_types_;
  std::vector<double> step_seconds_;
  double tune_best_[2] = {0, 0};  // fastest run seen on the calling thread [0] / on the pool [1]
  int tune_runs_ = 0;
  bool use_pool_ = true;
  PlanStats stats_;
};

}  // namespace verge
