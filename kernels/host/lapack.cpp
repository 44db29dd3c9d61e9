// LAPACKE calls behind the pointer API of lapack.hpp (row-major, so LAPACKE transposes internally).
#include "kernels/host/lapack.hpp"

#include <lapacke.h>

#include <algorithm>
#include <vector>

namespace galore::kernels::host {

LapackStatus svd_thin(int m, int n, float* a, int lda, float* s, float* u, int ldu, float* vt,
                      int ldvt) {
  if (m == 0 || n == 0) return {"sgesdd", 0};
  const lapack_int info = LAPACKE_sgesdd(LAPACK_ROW_MAJOR, 'S', m, n, a, lda, s, u, ldu, vt, ldvt);
  return {"sgesdd", static_cast<int>(info)};
}

LapackStatus orthonormalize_columns(int m, int n, float* a, int lda) {
  if (m == 0 || n == 0) return {"sgeqrf", 0};
  std::vector<float> tau(static_cast<std::size_t>(std::min(m, n)));
  const lapack_int qr_info = LAPACKE_sgeqrf(LAPACK_ROW_MAJOR, m, n, a, lda, tau.data());
  if (qr_info != 0) return {"sgeqrf", static_cast<int>(qr_info)};
  const lapack_int q_info = LAPACKE_sorgqr(LAPACK_ROW_MAJOR, m, n, n, a, lda, tau.data());
  return {"sorgqr", static_cast<int>(q_info)};
}

}  // namespace galore::kernels::host
