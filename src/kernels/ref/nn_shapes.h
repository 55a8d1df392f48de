// Shape rules of the conv / matmul group that shape inference and kernels share (ConvTranspose window
// geometry, Einsum equation parsing). Conv and the pools use ir/conv_geometry.h instead.
#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "ir/graph.h"
#include "verge/tensor.h"

namespace verge {

// ConvTranspose geometry (ONNX ConvTranspose-11):
//   full[i]  = stride[i] * (in[i] - 1) + output_padding[i] + (kernel[i] - 1) * dilation[i] + 1
//   out[i]   = full[i] - pads_begin[i] - pads_end[i]            (explicit pads / VALID)
//            = output_shape[i] or in[i] * stride[i]              (output_shape / SAME_*), pads derived:
//   total[i] = max(0, full[i] - out[i]); SAME_UPPER: begin = total / 2, else begin = total - total / 2.
// Output position o receives input position x through kernel tap k when o = x * stride + k * dilation -
// pads_begin; positions no input reaches (out larger than full) hold only the bias.
struct ConvTransposeGeometry {
  std::vector<int64_t> kernel;
  std::vector<int64_t> strides;
  std::vector<int64_t> dilations;
  std::vector<int64_t> pads_begin;
  std::vector<int64_t> pads_end;
  std::vector<int64_t> output_padding;
  std::vector<int64_t> out;
  int spatial() const { return static_cast<int>(kernel.size()); }
};

// `in_spatial`: X's dims after N, C; `kernel`: W's dims after (C, M/group).
Result<ConvTransposeGeometry> conv_transpose_geometry(const ir::Node& node,
                                                      std::span<const int64_t> in_spatial,
                                                      std::span<const int64_t> kernel);

// A parsed Einsum equation bound to operand shapes. Every dimension of every operand and of the output
// is named by a label id; letters are labels 0..51 (a-z, A-Z), the dims an ellipsis stands for get
// labels 52, 53, ... (right-aligned across operands, numpy style). Dims of size 1 broadcast.
struct EinsumSpec {
  int num_labels = 0;
  std::vector<int64_t> label_size;               // per label id (0 for unused ids)
  std::vector<std::vector<int>> operand_labels;  // per operand: label id of each dim
  std::vector<int> output_labels;                // label id of each output dim
  Shape out_shape;
};

Result<EinsumSpec> parse_einsum(std::string_view equation, std::span<const Shape* const> shapes);

}  // namespace verge
