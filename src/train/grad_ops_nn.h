// Internal to src/train: forward/backward functions of the normalization, regularization, pooling,
// activation and tensor-manipulation ops (grad_ops_nn.cpp) that grad_ops.def lists next to the core
// ops of grad_ops.cpp. Same contract as grad_ops.h; explicitly instantiated for float and double.
#pragma once

#include "train/grad_ops.h"

// X(forward, backward) for every pair defined in grad_ops_nn.cpp.
#define VERGE_GRAD_NN_FUNCTIONS(X)                   \
  X(batchnorm_forward, batchnorm_backward)           \
  X(dropout_forward, dropout_backward)               \
  X(global_avgpool_forward, global_avgpool_backward) \
  X(avgpool_forward, avgpool_backward)               \
  X(unary_forward, unary_backward)                   \
  X(sub_div_forward, sub_div_backward)               \
  X(matmul_forward, matmul_backward)                 \
  X(concat_forward, concat_backward)                 \
  X(split_forward, split_backward)                   \
  X(transpose_forward, transpose_backward)           \
  X(conv_transpose_forward, conv_transpose_backward)

namespace verge::train {

#define VERGE_DECLARE_GRAD(Fwd, Bwd) \
  template <class T>                 \
  Status Fwd(OpCtx<T>& c);           \
  template <class T>                 \
  void Bwd(OpCtx<T>& c);
VERGE_GRAD_NN_FUNCTIONS(VERGE_DECLARE_GRAD)
#undef VERGE_DECLARE_GRAD

}  // namespace verge::train
