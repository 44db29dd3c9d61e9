// GEMM on the GPU with row-major semantics (the project's layout):
//
//   D[i] = alpha * op(A[i]) * op(B[i]) + beta * C[i]      for i < batch
//
// op(A) is m x k, op(B) is k x n, C and D are m x n. cuBLAS is column-major; a row-major matrix is
// its column-major transpose, so D^T = op(B)^T op(A)^T is computed with the operands swapped and
// the same transpose flags. Everything runs asynchronously on the context's stream.
//
//   bf16 x bf16 -> fp32 or bf16  cuBLASLt, fp32 accumulation on tensor cores; the bf16 result is
//                                rounded once from the fp32 value. C may differ from D (a
//                                residual add), or be D itself (in place).
//   fp32 x fp32 -> fp32          cublasSgemm / cublasSgemmStridedBatched, no TF32; in place.
//
// Leading dimensions are in elements between rows; batch strides in elements between matrices
// (0 repeats one matrix for every batch entry). C is not read when beta == 0.
#pragma once

#include "kernels/cuda/bf16_bits.hpp"
#include "kernels/cuda/blas_context.hpp"

#include <cstdint>

namespace galore::kernels::cuda {

enum class Op { N, T };

struct GemmShape {
  Op op_a = Op::N;
  Op op_b = Op::N;
  int m = 0;
  int n = 0;
  int k = 0;
  int batch = 1;
};

// A row-major operand: `ld` elements between rows, `stride` elements between batch entries.
template <class T>
struct MatrixOperand {
  T* data = nullptr;
  int ld = 0;
  std::int64_t stride = 0;
};

void gemm(BlasContext& ctx, const GemmShape& shape, float alpha, MatrixOperand<const Bf16Word> a,
          MatrixOperand<const Bf16Word> b, float beta, MatrixOperand<const float> c,
          MatrixOperand<float> d);
void gemm(BlasContext& ctx, const GemmShape& shape, float alpha, MatrixOperand<const Bf16Word> a,
          MatrixOperand<const Bf16Word> b, float beta, MatrixOperand<const Bf16Word> c,
          MatrixOperand<Bf16Word> d);

// fp32: C is updated in place (C = alpha op(A) op(B) + beta C).
void gemm(BlasContext& ctx, const GemmShape& shape, float alpha, MatrixOperand<const float> a,
          MatrixOperand<const float> b, float beta, MatrixOperand<float> c);

// The common single-matrix case with C updated in place, for the three type combinations above:
// C[m x n] = alpha op(A) op(B) + beta C.
void gemm(BlasContext& ctx, Op op_a, Op op_b, int m, int n, int k, float alpha, const float* a,
          int lda, const float* b, int ldb, float beta, float* c, int ldc);
void gemm(BlasContext& ctx, Op op_a, Op op_b, int m, int n, int k, float alpha, const Bf16Word* a,
          int lda, const Bf16Word* b, int ldb, float beta, float* c, int ldc);
void gemm(BlasContext& ctx, Op op_a, Op op_b, int m, int n, int k, float alpha, const Bf16Word* a,
          int lda, const Bf16Word* b, int ldb, float beta, Bf16Word* c, int ldc);

// cuBLASLt with alpha = scalars[0] and beta = scalars[1] read from device memory when the GEMM
// runs, so a kernel enqueued before it can decide them without a host round trip (the fused
// optimizer's skip decision). A, B, C and D all have type T (float or Bf16Word), fp32 compute.
template <class T>
void gemm_device_scalars(BlasContext& ctx, const GemmShape& shape, const float* scalars,
                         MatrixOperand<const T> a, MatrixOperand<const T> b,
                         MatrixOperand<const T> c, MatrixOperand<T> d);

}  // namespace galore::kernels::cuda
