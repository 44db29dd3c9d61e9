// Thin SVD, QR orthonormalisation and the randomized range finder (see linalg.hpp).
//
// LAPACK works in place on a contiguous row-major copy of the input. When the memory space is
// host-accessible that copy is the only one; otherwise it is mirrored to the host and back (on
// CUDA the projector refresh uses kernels/cuda's cuSOLVER refresher instead of these functions).
// The multiplies go through galore::gemm.
#include "galore/core/linalg.hpp"

#include "galore/core/error.hpp"
#include "galore/core/gemm.hpp"
#include "galore/core/rng.hpp"
#include "kernels/host/lapack.hpp"

#include <algorithm>
#include <cstddef>
#include <string>

namespace galore {

namespace {

namespace hk = kernels::host;

// NaN/Inf make LAPACK loop or report non-convergence far from the cause; name the cause instead.
void require_finite(const ExecSpace& space, const MatrixRef<const float>& a, const char* what) {
  const int rows = static_cast<int>(a.extent(0));
  const int cols = static_cast<int>(a.extent(1));
  std::size_t non_finite = 0;
  Kokkos::parallel_reduce(
      "galore::linalg::count_non_finite",
      Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>>(space, {0, 0}, {rows, cols}),
      KOKKOS_LAMBDA(const int i, const int j, std::size_t& count) {
        if (!is_finite(a(i, j))) ++count;
      },
      non_finite);
  if (non_finite > 0) {
    throw NumericError(std::string(what) + ": A" + shape_string(a) + " holds " +
                       std::to_string(non_finite) + " non-finite value(s) (NaN or Inf)");
  }
}

void require_success(const hk::LapackStatus& status, const char* what, const std::string& shape) {
  if (status.ok()) return;
  throw NumericError(std::string(what) + ": LAPACK " + status.routine + " failed with info " +
                     std::to_string(status.info) + " on A" + shape +
                     (status.info < 0 ? " (invalid argument)" : " (did not converge)"));
}

int leading_dim(int cols) { return std::max(cols, 1); }

Matrix<float> contiguous_copy(const ExecSpace& space, const MatrixRef<const float>& a,
                              const char* label) {
  Matrix<float> copy(Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string(label)),
                     a.extent(0), a.extent(1));
  Kokkos::deep_copy(space, copy, a);
  return copy;
}

// Replaces the columns of `a` (m >= n) by an orthonormal basis of their span.
void orthonormalize_in_place(const ExecSpace& space, const Matrix<float>& a, const char* what) {
  const int m = static_cast<int>(a.extent(0));
  const int n = static_cast<int>(a.extent(1));
  auto host = Kokkos::create_mirror_view_and_copy(HostSpace(), a);
  space.fence();  // LAPACK runs outside Kokkos: pending work on `a` must have finished
  require_success(hk::orthonormalize_columns(m, n, host.data(), leading_dim(n)), what,
                  shape_string(a));
  Kokkos::deep_copy(a, host);
}

// Thin SVD of `a`, which is destroyed.
ThinSvd svd_in_place(const ExecSpace& space, const Matrix<float>& a, const char* what) {
  const int m = static_cast<int>(a.extent(0));
  const int n = static_cast<int>(a.extent(1));
  const int k = std::min(m, n);
  const auto uninitialized = [](const char* label) {
    return Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string(label));
  };
  ThinSvd svd{Matrix<float>(uninitialized("galore::svd_thin::u"), m, k),
              Vector<float>(uninitialized("galore::svd_thin::s"), k),
              Matrix<float>(uninitialized("galore::svd_thin::vt"), k, n)};
  auto host_a = Kokkos::create_mirror_view_and_copy(HostSpace(), a);
  auto host_u = Kokkos::create_mirror_view(HostSpace(), svd.u);
  auto host_s = Kokkos::create_mirror_view(HostSpace(), svd.s);
  auto host_vt = Kokkos::create_mirror_view(HostSpace(), svd.vt);
  space.fence();  // LAPACK runs outside Kokkos
  require_success(hk::svd_thin(m, n, host_a.data(), leading_dim(n), host_s.data(), host_u.data(),
                               leading_dim(k), host_vt.data(), leading_dim(n)),
                  what, shape_string(a));
  Kokkos::deep_copy(svd.u, host_u);
  Kokkos::deep_copy(svd.s, host_s);
  Kokkos::deep_copy(svd.vt, host_vt);
  return svd;
}

}  // namespace

ThinSvd svd_thin(const ExecSpace& space, MatrixRef<const float> a) {
  require_finite(space, a, "svd_thin");
  return svd_in_place(space, contiguous_copy(space, a, "galore::svd_thin::work"), "svd_thin");
}

Matrix<float> orthonormal_columns(const ExecSpace& space, MatrixRef<const float> a) {
  if (a.extent(0) < a.extent(1)) {
    throw ShapeError("orthonormal_columns: A" + shape_string(a) +
                     " has more columns than rows; n orthonormal columns need m >= n");
  }
  require_finite(space, a, "orthonormal_columns");
  Matrix<float> q = contiguous_copy(space, a, "galore::orthonormal_columns::q");
  orthonormalize_in_place(space, q, "orthonormal_columns");
  return q;
}

// Halko, Martinsson, Tropp (2011): Alg. 4.4 (randomized subspace iteration) for the sketch, then
// Alg. 5.1's small SVD of B = Q^T A to rotate the best rank-r directions into the first columns.
Matrix<float> randomized_range_finder(const ExecSpace& space, MatrixRef<const float> a, int rank,
                                      const RangeFinderOptions& options) {
  constexpr const char* what = "randomized_range_finder";
  const int m = static_cast<int>(a.extent(0));
  const int n = static_cast<int>(a.extent(1));
  const int min_mn = std::min(m, n);
  if (rank < 1 || rank > min_mn) {
    throw ShapeError(std::string(what) + ": rank " + std::to_string(rank) +
                     " is outside [1, min(m, n)] = [1, " + std::to_string(min_mn) + "] for A" +
                     shape_string(a));
  }
  if (options.oversampling < 0 || options.power_iterations < 0) {
    throw ConfigError(std::string(what) + ": RangeFinderOptions oversampling = " +
                      std::to_string(options.oversampling) + " and power_iterations = " +
                      std::to_string(options.power_iterations) + " must both be >= 0");
  }
  require_finite(space, a, what);

  // Sketch columns beyond min(m, n) add nothing, and QR of the sketch needs at most that many.
  const int width = std::min(rank + options.oversampling, min_mn);
  Matrix<float> omega(Kokkos::view_alloc(Kokkos::WithoutInitializing, "galore::rrf::omega"), n,
                      width);
  fill_normal(space, omega, CounterRng(options.seed, 0), 0.0f, 1.0f);
  Matrix<float> q(Kokkos::view_alloc(Kokkos::WithoutInitializing, "galore::rrf::q"), m, width);
  gemm(space, Op::N, Op::N, 1.0f, a, omega, 0.0f, q);
  orthonormalize_in_place(space, q, what);

  // Each pass multiplies by A A^T, which raises the spectrum to the power 2q+1 and so suppresses
  // the tail; orthonormalising after every multiply keeps the small directions from being lost to
  // rounding (HMT Sec. 4.5).
  Matrix<float> z(Kokkos::view_alloc(Kokkos::WithoutInitializing, "galore::rrf::z"), n, width);
  for (int pass = 0; pass < options.power_iterations; ++pass) {
    gemm(space, Op::T, Op::N, 1.0f, a, q, 0.0f, z);
    orthonormalize_in_place(space, z, what);
    gemm(space, Op::N, Op::N, 1.0f, a, z, 0.0f, q);
    orthonormalize_in_place(space, q, what);
  }

  // range(Q) has `width` directions; the rank-r subspace of it closest to A's top-r subspace is
  // spanned by Q U_B[:, :r], where B = Q^T A = U_B S_B V_B^T.
  Matrix<float> b(Kokkos::view_alloc(Kokkos::WithoutInitializing, "galore::rrf::b"), width, n);
  gemm(space, Op::T, Op::N, 1.0f, q, a, 0.0f, b);
  const ThinSvd small = svd_in_place(space, b, what);
  Matrix<float> basis(Kokkos::view_alloc(Kokkos::WithoutInitializing, "galore::rrf::basis"), m,
                      rank);
  gemm(space, Op::N, Op::N, 1.0f, q,
       Kokkos::subview(small.u, Kokkos::ALL, Kokkos::make_pair(0, rank)), 0.0f, basis);
  return basis;
}

}  // namespace galore
