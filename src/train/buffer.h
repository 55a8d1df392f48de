// Dense row-major buffers the training engine computes on, and the small GEMM it is built from.
//
// Buf<T> owns its elements (std::vector); T is float for training and double for gradient checks.
// matmul_acc accumulates C += op(A) * op(B) for row-major A, B, C; it splits rows of C over `pool`
// (nullptr = inline) and is not reentrant on the same C.
#pragma once

#include <cstdint>
#include <vector>

#include "verge/tensor.h"

namespace verge {
class ThreadPool;
}

namespace verge::train {

template <class T>
struct Buf {
  Shape shape;
  std::vector<T> v;

  void resize(Shape s) {
    v.assign(static_cast<size_t>(shape_numel(s)), T(0));
    shape = std::move(s);
  }
  // Like resize, but the contents are unspecified: for outputs the caller overwrites completely (saves
  // zeroing a buffer that keeps its size from step to step).
  void resize_for_overwrite(Shape s) {
    v.resize(static_cast<size_t>(shape_numel(s)));
    shape = std::move(s);
  }
  int64_t numel() const { return static_cast<int64_t>(v.size()); }
  T* data() { return v.data(); }
  const T* data() const { return v.data(); }
};

// C[M,N] += op(A)[M,K] * op(B)[K,N]; op transposes when the flag is set (A stored [K,M], B stored [N,K]).
template <class T>
void matmul_acc(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const T* a, const T* b, T* c,
                ThreadPool* pool);

}  // namespace verge::train
