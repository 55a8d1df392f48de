// Reference kernels of elementwise ops against hand-computed values.
#include <cmath>

#include "op_test.h"

namespace verge::test {

TEST(Elementwise, AddBroadcast) {
  OpTest("Add")
      .input("A", F({2, 3}, {1, 2, 3, 4, 5, 6}))
      .input("B", F({3}, {10, 20, 30}))
      .output("C", F({2, 3}, {11, 22, 33, 14, 25, 36}))
      .run();
}

TEST(Elementwise, AddInt32WrapsWithoutUB) {
  OpTest("Add")
      .input("A", I32({2}, {2147483647, -5}))
      .input("B", I32({2}, {1, 7}))
      .output("C", I32({2}, {-2147483647 - 1, 2}))
      .run();
}

TEST(Elementwise, Relu) { OpTest("Relu").input("X", F({4}, {-1, 0, 2, -3.5f})).output("Y", F({4}, {0, 0, 2, 0})).run(); }

TEST(Elementwise, DivIntegerByZeroIsAnError) {
  Status st = OpTest("Div").input("A", I32({2}, {4, 5})).input("B", I32({2}, {2, 0})).output("C", I32({2}, {2, 0})).run_expect_error();
  EXPECT_NE(st.message().find("division by zero"), std::string::npos) << st.message();
}

TEST(Elementwise, ClipOpset6AttributesBecomeInputs) {
  OpTest("Clip", 6).input("X", F({4}, {-2, 0.5f, 3, 7})).attr("min", 0.f).attr("max", 5.f).output("Y", F({4}, {0, 0.5f, 3, 5})).run();
}

TEST(Elementwise, CastFloatToInt8Saturates) {
  OpTest("Cast").input("X", F({4}, {1.7f, -300.f, 300.f, NAN})).attr("to", int64_t{3}).output("Y", I8({4}, {1, -128, 127, 0})).run();
}

TEST(Elementwise, ModFollowsDivisorSign) {
  OpTest("Mod").input("A", I32({4}, {-4, 7, 5, -3})).input("B", I32({4}, {3, -3, 8, -2})).output("C", I32({4}, {2, -2, 5, -1})).run();
}

TEST(Elementwise, WhereBroadcast) {
  OpTest("Where")
      .input("C", B({2}, {true, false}))
      .input("X", F({2, 2}, {1, 2, 3, 4}))
      .input("Y", F({1}, {9}))
      .output("Z", F({2, 2}, {1, 9, 3, 9}))
      .run();
}

TEST(Elementwise, Float16Sigmoid) {
  OpTest("Sigmoid").input("X", H({3}, {0, 2, -2})).output("Y", H({3}, {0.5f, 0.880797f, 0.119203f})).tolerance(1e-3, 1e-3).run();
}

}  // namespace verge::test
