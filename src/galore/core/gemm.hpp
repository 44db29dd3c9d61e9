// Matrix multiply for the shapes a transformer needs, dispatched to the best backend.
//
//   C = alpha * op(A) * op(B) + beta * C        (row-major, fp32 accumulation)
//
// Operand types: fp32 x fp32 -> fp32, bf16 x bf16 -> fp32, bf16 x bf16 -> bf16 (rounded once, at
// the end, from the fp32 accumulator). Dispatch: host memory -> CBLAS (OpenBLAS); CUDA -> the
// cuBLAS/cuBLASLt kernels in kernels/cuda when they are built; any other backend -> the portable
// tiled Kokkos kernel, which is also callable directly for comparison.
//
// Operands may be strided sub-blocks (a head's columns), but the last index must be contiguous.
// Mismatched shapes throw galore::ShapeError naming every shape.
#pragma once

#include "galore/core/tensor.hpp"

namespace galore {

enum class Op { N, T };  // use op(X) = X or X^T

void gemm(const ExecSpace& space, Op op_a, Op op_b, float alpha, MatrixRef<const float> a,
          MatrixRef<const float> b, float beta, MatrixRef<float> c);
void gemm(const ExecSpace& space, Op op_a, Op op_b, float alpha, MatrixRef<const bf16> a,
          MatrixRef<const bf16> b, float beta, MatrixRef<float> c);
void gemm(const ExecSpace& space, Op op_a, Op op_b, float alpha, MatrixRef<const bf16> a,
          MatrixRef<const bf16> b, float beta, MatrixRef<bf16> c);

// Strided-batched form: C[i] = alpha * op(A[i]) * op(B[i]) + beta * C[i] for every i of the
// leading extent (attention heads, micro-batch rows).
void gemm_batched(const ExecSpace& space, Op op_a, Op op_b, float alpha, Tensor3Ref<const float> a,
                  Tensor3Ref<const float> b, float beta, Tensor3Ref<float> c);
void gemm_batched(const ExecSpace& space, Op op_a, Op op_b, float alpha, Tensor3Ref<const bf16> a,
                  Tensor3Ref<const bf16> b, float beta, Tensor3Ref<float> c);
void gemm_batched(const ExecSpace& space, Op op_a, Op op_b, float alpha, Tensor3Ref<const bf16> a,
                  Tensor3Ref<const bf16> b, float beta, Tensor3Ref<bf16> c);

// The portable tiled Kokkos kernel, whatever backend is active (benchmarks and tests compare it).
void gemm_portable(const ExecSpace& space, Op op_a, Op op_b, float alpha, MatrixRef<const float> a,
                   MatrixRef<const float> b, float beta, MatrixRef<float> c);
void gemm_portable(const ExecSpace& space, Op op_a, Op op_b, float alpha, MatrixRef<const bf16> a,
                   MatrixRef<const bf16> b, float beta, MatrixRef<float> c);

}  // namespace galore
