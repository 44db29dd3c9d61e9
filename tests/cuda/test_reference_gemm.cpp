// Checks of the GEMM reference (no GPU) against a product worked out by hand, through every
// transpose combination and the alpha/beta epilogue.
#include "catch.hpp"
#include "tests/cuda/reference/gemm.hpp"

#include <limits>
#include <vector>

using galore::kernels::cuda::Op;
namespace reference = galore::kernels::cuda::reference;

TEST_CASE("reference GEMM reproduces a hand-computed product for every transpose",
          "[cuda][reference]") {
  // A [2 x 3], B [3 x 2]; A B = [[58, 64], [139, 154]].
  const std::vector<double> a{1, 2, 3, 4, 5, 6};
  const std::vector<double> a_t{1, 4, 2, 5, 3, 6};  // A^T stored [3 x 2]
  const std::vector<double> b{7, 8, 9, 10, 11, 12};
  const std::vector<double> b_t{7, 9, 11, 8, 10, 12};  // B^T stored [2 x 3]
  const std::vector<double> expected{58, 64, 139, 154};
  for (const Op op_a : {Op::N, Op::T}) {
    for (const Op op_b : {Op::N, Op::T}) {
      std::vector<double> c(4, 1.0);
      reference::gemm(op_a, op_b, 2, 2, 3, 2.0, op_a == Op::N ? a : a_t, op_a == Op::N ? 3 : 2,
                      op_b == Op::N ? b : b_t, op_b == Op::N ? 2 : 3, 0.5, c, 2);
      for (int i = 0; i < 4; ++i) CHECK(c[i] == 2.0 * expected[i] + 0.5);
    }
  }
}

TEST_CASE("reference GEMM honours leading dimensions and ignores C when beta is 0",
          "[cuda][reference]") {
  const std::vector<double> a{1, 2, 3, -1, 4, 5, 6, -1};         // [2 x 3] with ld 4
  const std::vector<double> b{7, 8, -1, 9, 10, -1, 11, 12, -1};  // [3 x 2] with ld 3
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> c{nan, nan, 7.0, nan, nan, 7.0};  // ld 3
  reference::gemm(Op::N, Op::N, 2, 2, 3, 1.0, a, 4, b, 3, 0.0, c, 3);
  CHECK(c[0] == 58);
  CHECK(c[1] == 64);
  CHECK(c[2] == 7);  // outside the 2 x 2 result
  CHECK(c[3] == 139);
  CHECK(c[4] == 154);
}
