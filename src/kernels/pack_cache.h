// Constant data that kernels derive at prepare from a node's constant inputs (packed or transformed
// weights), shared by every plan of one session.
//
// Why: a session builds one plan per distinct set of input shapes — a served model with dynamic batching
// holds one per batch size — and each plan prepares its own kernels. Packed weights depend on the weights
// and on the kernel's layout choices, not on the batch, so without sharing every plan repeated them
// (resnet18: ~45 MB of weights, Winograd-transformed ~4x; 8 batch sizes x 2 instances peaked at 2.7 GB
// RSS, docs/performance.md "Serving").
//
// Kernels ask through PrepareContext::shared_constant (kernels/kernel.h), never directly. An entry is
// keyed by (node, kernel name, layout string) and held weakly: it lives as long as some plan uses it, so
// a plan evicted from the session's cache frees what no other plan shares. Thread-safe (one mutex;
// prepare is not a hot path).
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>

#include "core/function_ref.h"

namespace verge {

class PackCache {
 public:
  struct Key {
    const void* node;    // the ir::Node (plans of a session share its graph)
    std::string kernel;  // Kernel::name()
    std::string layout;  // every layout choice the data depends on besides the node's constant inputs
    bool operator<(const Key& o) const {
      return std::tie(node, kernel, layout) < std::tie(o.node, o.kernel, o.layout);
    }
  };
  // The live entry for `key`, or the result of build() (then stored).
  std::shared_ptr<const void> get_or_build(const Key& key, FunctionRef<std::shared_ptr<const void>()> build);

  // For tests and diagnostics: entries built, and requests answered with an existing entry.
  size_t builds() const;
  size_t reuses() const;

 private:
  mutable std::mutex mu_;
  std::map<Key, std::weak_ptr<const void>> entries_;
  size_t builds_ = 0, reuses_ = 0;
};

}  // namespace verge
