// Session: load a model once, prepare it for concrete input shapes, run it many times.
//
//   auto s = verge::Session::load("model.onnx");            // Result<std::unique_ptr<Session>>
//   if (!s.is_ok()) { puts(s.status().to_string().c_str()); return 1; }
//   std::vector<float> pixels(1 * 3 * 224 * 224);
//   verge::Tensor x = verge::Tensor::wrap(verge::DType::kFloat32, {1, 3, 224, 224}, pixels.data());
//   auto out = (*s)->run({x});                                // Result<std::span<const Tensor>>
//
// Lifetimes and ownership:
//  - Input tensors are read in place (never copied) and only during run().
//  - The output tensors run() returns are views into memory the session owns; they stay valid until
//    the next run()/prepare() on the session or its destruction. Copy them (Tensor::clone) to keep.
//  - A plan (shape inference, kernel choice and weight packing, memory planned by liveness) is built per
//    distinct set of input shapes on first use and cached (up to plan_cache_size plans). The cached
//    plans share their packed weights and one arena sized for the largest of them, so a session serving
//    many batch sizes costs about the memory of its largest plan, not the sum.
//    For a cached plan, run() performs no heap allocation unless the model has data-dependent shapes
//    (NonZero, NonMaxSuppression, ...), whose outputs are allocated per run.
//  - A Session is not thread-safe: use one per thread, or serialize calls.
// Errors: load() reports corrupt/unsupported models; run() reports wrong input count, dtype or shape
// (naming the input and the expected type) and data-dependent errors (an index out of range).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "verge/status.h"
#include "verge/tensor.h"

namespace verge {

// Graph optimization applied when a session is created (see docs/optimizer.md):
//   kNone      run the model as imported
//   kBasic     standard-ONNX rewrites: Identity/Dropout removal, constant folding, BatchNorm folding, ...
//   kExtended  + fused ops (Conv + bias + residual + activation, Gemm + activation)
//   kAll       + blocked (NCHWc) layout for convolutional regions on AVX2/AVX-512 CPUs
enum class OptLevel : unsigned char { kNone, kBasic, kExtended, kAll };

struct SessionOptions {
  int threads = 1;                 // total threads for intra-op parallelism (1 = calling thread only)
  bool reference_kernels = false;  // force the reference kernels (the oracle) everywhere
  OptLevel optimization = OptLevel::kAll;
  size_t plan_cache_size = 8;      // distinct input-shape sets kept prepared
  // With threads > 1, `threads` is an upper bound: the first runs of each prepared plan (this many;
  // 0 = off, always use every thread) alternate between the calling thread alone and all threads, and
  // the plan keeps the faster (the fastest run of each way decides). Small models can run slower on two
  // cores that share no cache than on one; results are identical either way (kernels are bit-exact
  // across thread counts). PlanInfo::threads_used tells the choice.
  int thread_tuning_runs = 4;
};

// A model input or output as declared in the model file.
struct IoInfo {
  std::string name;
  DType dtype = DType::kUndefined;
  std::vector<int64_t> shape;           // -1 for symbolic or unknown dims
  std::vector<std::string> dim_names;   // symbol per dim ("" if none)
  bool has_shape = false;               // false: rank unknown
};

struct PlanInfo {
  size_t arena_bytes = 0;  // intermediate memory of the current plan
  size_t naive_bytes = 0;  // what it would take without reuse
  int static_nodes = 0, dynamic_nodes = 0, folded_nodes = 0, in_place_nodes = 0;
  int threads_used = 0;  // once thread tuning ended (SessionOptions::thread_tuning_runs), else 0
};

class Session {
 public:
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  static Result<std::unique_ptr<Session>> load(const std::string& path, const SessionOptions& options = {});
  static Result<std::unique_ptr<Session>> load_from_memory(std::string_view onnx_bytes,
                                                           const SessionOptions& options = {});

  const std::vector<IoInfo>& inputs() const;
  const std::vector<IoInfo>& outputs() const;

  // Builds (or fetches from the cache) the plan for these input shapes, in inputs() order.
  [[nodiscard]] Status prepare(const std::vector<Shape>& input_shapes);
  // Runs on inputs given in inputs() order. See the header comment for the lifetime of the result.
  Result<std::span<const Tensor>> run(std::span<const Tensor> inputs);
  // Convenience for a braced list; copies the Tensor handles (not the data), so it allocates.
  Result<std::span<const Tensor>> run(std::initializer_list<Tensor> inputs) {
    return run(std::span<const Tensor>(inputs.begin(), inputs.size()));
  }
  // Statistics of the most recently used plan.
  PlanInfo plan_info() const;

  // Per-node timing of the current plan: enable, run, then read (node, op, kernel, seconds summed).
  struct NodeTime {
    std::string node, op, kernel;
    double seconds = 0;
  };
  void enable_profiling();
  std::vector<NodeTime> profile() const;

  struct Impl;

 private:
  explicit Session(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace verge
