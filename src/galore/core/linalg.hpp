// Dense linear algebra for the GaLore projector: thin SVD, QR orthonormalisation and the randomized
// range finder (Halko, Martinsson, Tropp 2011, Alg. 4.4). All in fp32.
//
// LAPACKE (sgesdd, sgeqrf/sorgqr) on a host copy, whatever the backend; on CUDA the GaLore
// projector refreshes with cuSOLVER instead (kernels/cuda, see GaLoreProjector::refresh).
// Non-finite input throws NumericError before LAPACK sees it (the reference's "SVD failed to
// converge" reports come from NaN gradients); bad shapes or ranks throw ShapeError.
#pragma once

#include "galore/core/tensor.hpp"

#include <cstdint>

namespace galore {

// A = U diag(S) Vt with k = min(m, n): U [m x k], S [k] descending, Vt [k x n].
struct ThinSvd {
  Matrix<float> u;
  Vector<float> s;
  Matrix<float> vt;
};
ThinSvd svd_thin(const ExecSpace& space, MatrixRef<const float> a);

// Q [m x n] with orthonormal columns spanning the columns of A [m x n], m >= n (Householder QR;
// m < n is a ShapeError). For a rank-deficient A, range(Q) still contains every column of A.
Matrix<float> orthonormal_columns(const ExecSpace& space, MatrixRef<const float> a);

struct RangeFinderOptions {
  int oversampling = 8;      // extra sketch columns p: the sketch has r + p columns
  int power_iterations = 2;  // q: each pass multiplies by A A^T, re-orthonormalising in between
  std::uint64_t seed = 0;    // Gaussian sketch drawn from CounterRng(seed, stream 0)
};

// Q [m x rank], orthonormal columns approximating the top-`rank` left singular subspace of A.
// Requires 1 <= rank <= min(m, n) (else ShapeError) and non-negative options (else ConfigError).
// The sketch has min(rank + oversampling, min(m, n)) columns; the result is the best rank-`rank`
// part of its range (Q U_B[:, :rank] with B = Q^T A), so it is exact when rank(A) <= rank.
Matrix<float> randomized_range_finder(const ExecSpace& space, MatrixRef<const float> a, int rank,
                                      const RangeFinderOptions& options);

}  // namespace galore
