// CPU reference for the row-major GEMM of kernels/cuda/gemm.hpp, accumulated in double.
#pragma once

#include "kernels/cuda/gemm.hpp"

#include <vector>

namespace galore::kernels::cuda::reference {

// C[m x n] = alpha op(A) op(B) + beta C for row-major operands with leading dimensions.
void gemm(Op op_a, Op op_b, int m, int n, int k, double alpha, const std::vector<double>& a,
          int lda, const std::vector<double>& b, int ldb, double beta, std::vector<double>& c,
          int ldc);

}  // namespace galore::kernels::cuda::reference
