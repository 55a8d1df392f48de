#pragma once

namespace verge {

class ThreadPool;
class PackCache;

enum class KernelPolicy : unsigned char {
  kBest,       // the fastest registered variant the CPU supports, else the reference kernel
  kReference,  // always the reference kernels (the oracle)
};

struct ExecOptions {
  KernelPolicy kernels = KernelPolicy::kBest;
  ThreadPool* pool = nullptr;  // not owned; nullptr = single-threaded
  bool fold_constants = true;  // evaluate nodes whose inputs are all known at plan time
  bool fold_shapes = true;     // fold Shape/Size of values whose type is known (false: only true constants)
  bool infer_only = false;     // types only: no kernels for non-folded nodes, no memory plan (optimizer)
  PackCache* packs = nullptr;  // not owned; a session's plans share packed weights through it (pack_cache.h)
  int thread_tuning_runs = 0;  // with a pool: first runs that decide whether a plan uses it (plan.h)
};

}  // namespace verge
