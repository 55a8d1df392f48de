// OpTest: builds a one-node ONNX model (through the real importer, so opset upgrades and the checker
// run), executes it with the reference kernels, the best kernels, 2 threads, and after an
// export -> import round trip, and compares every output with the expected tensor.
//
//   OpTest("Add").input("A", T<float>({2}, {1, 2})).input("B", T<float>({2}, {3, 4}))
//       .output("C", T<float>({2}, {4, 6})).run();
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <variant>
#include <vector>

#include "verge/tensor.h"

namespace verge::test {

template <class T>
Tensor T_(Shape shape, std::vector<T> values) {
  return Tensor::from_vector<T>(std::move(shape), values);
}
// Shorthands: F({2,2}, {...}) float32, I64, I32, B (bool), U8, I8.
inline Tensor F(Shape s, std::vector<float> v) { return T_<float>(std::move(s), std::move(v)); }
inline Tensor D(Shape s, std::vector<double> v) { return T_<double>(std::move(s), std::move(v)); }
inline Tensor I64(Shape s, std::vector<int64_t> v) { return T_<int64_t>(std::move(s), std::move(v)); }
inline Tensor I32(Shape s, std::vector<int32_t> v) { return T_<int32_t>(std::move(s), std::move(v)); }
inline Tensor U8(Shape s, std::vector<uint8_t> v) { return T_<uint8_t>(std::move(s), std::move(v)); }
inline Tensor I8(Shape s, std::vector<int8_t> v) { return T_<int8_t>(std::move(s), std::move(v)); }
inline Tensor B(Shape s, std::vector<bool> v) {
  Tensor t = Tensor::allocate(DType::kBool, std::move(s)).value();
  for (size_t i = 0; i < v.size(); ++i) t.data<bool>()[i] = v[i];
  return t;
}
Tensor H(Shape s, std::vector<float> v);  // float16 from float values

class OpTest {
 public:
  explicit OpTest(std::string op_type, int opset = 17, std::string domain = "");

  OpTest& input(std::string name, Tensor t);           // a graph input, fed at run time
  OpTest& constant_input(std::string name, Tensor t);  // an initializer (known at plan time)
  OpTest& omitted_input();                             // "" in the node's input list
  OpTest& attr(std::string name, int64_t v);
  OpTest& attr(std::string name, int v) { return attr(std::move(name), static_cast<int64_t>(v)); }
  OpTest& attr(std::string name, float v);
  OpTest& attr(std::string name, std::string v);
  OpTest& attr(std::string name, const char* v) { return attr(std::move(name), std::string(v)); }
  OpTest& attr(std::string name, std::vector<int64_t> v);
  OpTest& attr(std::string name, std::vector<float> v);
  OpTest& attr(std::string name, Tensor v);
  OpTest& output(std::string name, Tensor expected);
  OpTest& omitted_output();
  OpTest& tolerance(double rtol, double atol);
  OpTest& skip_checker();  // for models the ONNX checker rejects on purpose (error tests)

  // Runs all configurations; reports failures through gtest.
  void run();
  // Expects loading or running to fail; returns the error (its message is checked by the caller).
  Status run_expect_error();
  // The serialized one-node model (for tests that drive the session themselves).
  std::string model_bytes() const;

 private:
  struct Attr {
    std::string name;
    std::variant<int64_t, float, std::string, std::vector<int64_t>, std::vector<float>, Tensor> value;
  };
  struct Io {
    std::string name;
    Tensor tensor;
    bool constant = false;
  };
  std::string op_type_, domain_;
  int opset_;
  std::vector<Io> inputs_;  // name "" = omitted
  std::vector<Io> outputs_;
  std::vector<Attr> attrs_;
  double rtol_ = 1e-5, atol_ = 1e-6;
  bool checker_ = true;
};

// Path of a file under tests/data.
std::string test_data(const std::string& relative);

}  // namespace verge::test
