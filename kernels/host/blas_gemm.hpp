// Host GEMM through CBLAS, plain pointer API (no Kokkos): row-major operands with leading
// dimensions, fp32 accumulation. bf16 operands are 16-bit words holding the upper half of an fp32.
#pragma once

#include <cstdint>

namespace galore::kernels::host {

enum class Transpose { No, Yes };

// C[m x n] = alpha * op(A) * op(B) + beta * C, fp32.
void sgemm(Transpose trans_a, Transpose trans_b, int m, int n, int k, float alpha, const float* a,
           int lda, const float* b, int ldb, float beta, float* c, int ldc);

// Same with bf16 A and B and an fp32 C. Uses OpenBLAS's cblas_sbgemm when the library has it,
// otherwise widens the operands to fp32 panels and calls sgemm (identical results: every bf16
// product is exact in fp32).
void bf16_gemm(Transpose trans_a, Transpose trans_b, int m, int n, int k, float alpha,
               const std::uint16_t* a, int lda, const std::uint16_t* b, int ldb, float beta,
               float* c, int ldc);

// True when bf16_gemm runs natively in the BLAS library (reported by benchmarks).
bool has_native_bf16_gemm();

}  // namespace galore::kernels::host
