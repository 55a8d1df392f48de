// Builds small multi-node ONNX models for tests.
//
//   GraphBuilder b;
//   std::string x = b.input("x", {1, 3, 8, 8});
//   std::string y = b.node("Relu", {x});
//   b.output(y);
//   auto session = verge::Session::load_from_memory(b.bytes(), options);
#pragma once

#include <onnx/onnx_pb.h>

#include <string>
#include <variant>
#include <vector>

#include "verge/tensor.h"

namespace verge::test {

using AttrValue = std::variant<int64_t, float, std::string, std::vector<int64_t>, std::vector<float>>;

class GraphBuilder {
 public:
  explicit GraphBuilder(int opset = 13);
  // A float32 (by default) graph input; negative dims become the symbol "batch", "d1", ...
  std::string input(const std::string& name, const std::vector<int64_t>& dims, DType dtype = DType::kFloat32);
  std::string constant(const std::string& name, const Tensor& t);
  // Adds a node; returns the name of its first output (all outputs named <out>_<k> for k > 0).
  std::string node(const std::string& op, const std::vector<std::string>& inputs,
                   const std::vector<std::pair<std::string, AttrValue>>& attrs = {}, int n_outputs = 1);
  // Declares a graph output; negative dims are symbolic.
  void output(const std::string& name, const std::vector<int64_t>& dims, DType dtype = DType::kFloat32);
  std::string bytes() const;

 private:
  onnx::ModelProto m_;
  int counter_ = 0;
};

}  // namespace verge::test
