// Helpers shared by reference kernels. Plain, obviously-correct code; speed is not a goal here.
#pragma once

#include <algorithm>
#include <cmath>
#include <memory>
#include <span>
#include <vector>

#include "core/dispatch.h"
#include "kernels/kernel.h"

namespace verge::ref {

// Row-major strides of a shape (in elements).
std::vector<int64_t> strides_of(std::span<const int64_t> shape);

// Numpy broadcasting: maps each output element (row-major order) to an element offset in each input.
class Broadcaster {
 public:
  Broadcaster() = default;
  Broadcaster(const Shape& out, std::span<const Shape* const> inputs);
  int64_t numel() const { return numel_; }
  size_t num_inputs() const { return strides_.size(); }
  // Calls f(out_index, offsets) for every output element; offsets[k] indexes input k.
  // Uses buffers sized at construction: no allocation, not reentrant.
  template <class F>
  void for_each(F&& f) const {
    const size_t r = out_.size();
    const size_t n_in = strides_.size();
    std::vector<int64_t>& idx = idx_;
    std::vector<int64_t>& off = off_;
    std::fill(idx.begin(), idx.end(), 0);
    std::fill(off.begin(), off.end(), 0);
    for (int64_t o = 0; o < numel_; ++o) {
      f(o, std::span<const int64_t>(off));
      for (size_t d = r; d-- > 0;) {
        ++idx[d];
        for (size_t k = 0; k < n_in; ++k) off[k] += strides_[k][d];
        if (idx[d] < out_[d]) break;
        for (size_t k = 0; k < n_in; ++k) off[k] -= strides_[k][d] * out_[d];
        idx[d] = 0;
      }
    }
  }

 private:
  Shape out_;
  int64_t numel_ = 0;
  std::vector<std::vector<int64_t>> strides_;  // per input, aligned to the output rank, 0 where broadcast
  mutable std::vector<int64_t> idx_, off_;
};

// Kernel built from a lambda for simple ops: `prepare` may be omitted.
template <class RunFn>
class LambdaKernel final : public Kernel {
 public:
  explicit LambdaKernel(RunFn fn) : fn_(std::move(fn)) {}
  Status run(const RunContext& ctx) override { return fn_(ctx); }

 private:
  RunFn fn_;
};

// Temporary stand-in while a kernel is being written: prepare() fails with Unsupported.
std::unique_ptr<Kernel> not_written(const ir::Node& n);

}  // namespace verge::ref
