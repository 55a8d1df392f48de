// Optimized kernels against their reference kernel.
//
//   KernelCase kc("BlockedConv", "verge");
//   kc.attr_ints("kernel_shape", {3, 3}).attr_int("block", 16)
//     .input(random_blocked(...)).constant(weights).constant(bias);
//   int ran = check_variants(kc, "conv_nchw16c_direct_avx512");   // gtest failures on mismatch
//   EXPECT_GT(ran, 0);  // the variant accepted the case on this CPU (skip when the ISA is missing)
//
// check_variants runs the node with the op's reference kernel and with the named registered variant (or
// every variant of the op when the name is empty), single-threaded and with 2 threads, twice each after
// one run on other 8-bit inputs (no state carried between runs), and compares every output elementwise
// within the case's tolerance.
// Blocked outputs are compared on their real channels only (`blocked_channels`).
#pragma once

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "verge/tensor.h"

namespace verge::test {

class KernelCase {
 public:
  KernelCase(std::string op_type, std::string domain = "");
  KernelCase& input(Tensor t);     // runtime input
  KernelCase& constant(Tensor t);  // known at prepare (weights)
  KernelCase& omitted();
  KernelCase& attr_int(const std::string& name, int64_t v);
  KernelCase& attr_float(const std::string& name, float v);
  KernelCase& attr_string(const std::string& name, const std::string& v);
  KernelCase& attr_ints(const std::string& name, std::vector<int64_t> v);
  KernelCase& attr_floats(const std::string& name, std::vector<float> v);
  KernelCase& tolerance(double rtol, double atol);
  // Output k is blocked with this many real channels: compare only those.
  KernelCase& blocked_channels(size_t output, int64_t channels);

  ir::Node node;
  std::vector<Tensor> inputs;
  std::vector<bool> is_constant, present;
  std::vector<int64_t> out_channels;  // -1 = plain output
  double rtol = 1e-4, atol = 1e-5;
};

// Returns how many (variant, thread-count) runs happened. 0 when the CPU lacks the variant's ISA or the
// variant does not accept the case.
int check_variants(const KernelCase& kc, const std::string& variant_name = "");

// Random tensors with a fixed-seed generator.
Tensor random_tensor(std::mt19937& rng, Shape shape, float lo = -1.f, float hi = 1.f);
// A blocked [N, ceil(C/b), H, W, b] tensor whose padding lanes hold `pad_value` (finite junk by default:
// kernels must not read them as channels).
Tensor random_blocked(std::mt19937& rng, int64_t n, int64_t c, int64_t h, int64_t w, int64_t b, float pad_value = 7.25f);

}  // namespace verge::test
