#include "kernels/host/blas_gemm.hpp"

#include <cblas.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace galore::kernels::host {

namespace {

CBLAS_TRANSPOSE to_cblas(Transpose t) { return t == Transpose::Yes ? CblasTrans : CblasNoTrans; }

// Widens a rows x cols row-major bf16 block (leading dimension ld) into a dense fp32 buffer.
std::vector<float> widen(const std::uint16_t* src, int rows, int cols, int ld) {
  std::vector<float> out(static_cast<std::size_t>(rows) * cols);
#pragma omp parallel for schedule(static)
  for (int i = 0; i < rows; ++i) {
    for (int j = 0; j < cols; ++j) {
      const std::uint32_t u = static_cast<std::uint32_t>(src[static_cast<std::size_t>(i) * ld + j])
                              << 16;
      std::memcpy(&out[static_cast<std::size_t>(i) * cols + j], &u, sizeof(float));
    }
  }
  return out;
}

}  // namespace

void sgemm(Transpose trans_a, Transpose trans_b, int m, int n, int k, float alpha, const float* a,
           int lda, const float* b, int ldb, float beta, float* c, int ldc) {
  if (m == 0 || n == 0) return;
  cblas_sgemm(CblasRowMajor, to_cblas(trans_a), to_cblas(trans_b), m, n, k, alpha, a, lda, b, ldb,
              beta, c, ldc);
}

void bf16_gemm(Transpose trans_a, Transpose trans_b, int m, int n, int k, float alpha,
               const std::uint16_t* a, int lda, const std::uint16_t* b, int ldb, float beta,
               float* c, int ldc) {
  if (m == 0 || n == 0) return;
#ifdef GALORE_HAVE_CBLAS_SBGEMM
  cblas_sbgemm(CblasRowMajor, to_cblas(trans_a), to_cblas(trans_b), m, n, k, alpha,
               reinterpret_cast<const bfloat16*>(a), lda, reinterpret_cast<const bfloat16*>(b), ldb,
               beta, c, ldc);
#else
  const int a_rows = trans_a == Transpose::Yes ? k : m;
  const int a_cols = trans_a == Transpose::Yes ? m : k;
  const int b_rows = trans_b == Transpose::Yes ? n : k;
  const int b_cols = trans_b == Transpose::Yes ? k : n;
  const std::vector<float> wa = widen(a, a_rows, a_cols, lda);
  const std::vector<float> wb = widen(b, b_rows, b_cols, ldb);
  sgemm(trans_a, trans_b, m, n, k, alpha, wa.data(), std::max(1, a_cols), wb.data(),
        std::max(1, b_cols), beta, c, ldc);
#endif
}

bool has_native_bf16_gemm() {
#ifdef GALORE_HAVE_CBLAS_SBGEMM
  return true;
#else
  return false;
#endif
}

}  // namespace galore::kernels::host
