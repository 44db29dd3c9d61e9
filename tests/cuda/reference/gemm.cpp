// Triple-loop GEMM reference (see gemm.hpp).
#include "tests/cuda/reference/gemm.hpp"

#include <cstddef>

namespace galore::kernels::cuda::reference {

void gemm(Op op_a, Op op_b, int m, int n, int k, double alpha, const std::vector<double>& a,
          int lda, const std::vector<double>& b, int ldb, double beta, std::vector<double>& c,
          int ldc) {
  auto a_at = [&](int i, int p) {
    return op_a == Op::N ? a[static_cast<std::size_t>(i) * lda + p]
                         : a[static_cast<std::size_t>(p) * lda + i];
  };
  auto b_at = [&](int p, int j) {
    return op_b == Op::N ? b[static_cast<std::size_t>(p) * ldb + j]
                         : b[static_cast<std::size_t>(j) * ldb + p];
  };
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      double sum = 0.0;
      for (int p = 0; p < k; ++p) sum += a_at(i, p) * b_at(p, j);
      double& out = c[static_cast<std::size_t>(i) * ldc + j];
      out = alpha * sum + (beta == 0.0 ? 0.0 : beta * out);
    }
  }
}

}  // namespace galore::kernels::cuda::reference
