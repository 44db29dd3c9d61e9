// Host dense factorizations through LAPACKE, plain pointer API (no Kokkos): the thin SVD and the
// Householder QR that the GaLore projector needs. Row-major operands with leading dimensions, fp32.
//
// Nothing here throws: every call returns the LAPACK status (routine name and info), and the
// portable layer in src/galore/core/linalg.cpp turns a failure into a galore::NumericError.
#pragma once

namespace galore::kernels::host {

// Outcome of a LAPACK call: info == 0 is success, info < 0 names a bad argument (its position),
// info > 0 means the algorithm did not converge (sgesdd) or the routine reported a failure.
struct LapackStatus {
  const char* routine;
  int info;
  bool ok() const { return info == 0; }
};

// Thin SVD A = U diag(S) Vt of A [m x n] with k = min(m, n), by divide and conquer (sgesdd,
// jobz = 'S'). A is overwritten. Outputs: u [m x k] (ldu >= k), s [k] descending, vt [k x n]
// (ldvt >= n).
LapackStatus svd_thin(int m, int n, float* a, int lda, float* s, float* u, int ldu, float* vt,
                      int ldvt);

// Overwrites A [m x n], m >= n, with the n orthonormal columns Q of its Householder QR A = Q R
// (sgeqrf, then sorgqr to form Q explicitly).
LapackStatus orthonormalize_columns(int m, int n, float* a, int lda);

}  // namespace galore::kernels::host
