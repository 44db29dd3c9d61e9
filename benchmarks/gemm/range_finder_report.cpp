// The range-finder table of gemm_benchmark (see range_finder_report.hpp).
#include "benchmarks/gemm/range_finder_report.hpp"

#include "benchmarks/gemm/fenced_timing.hpp"
#include "galore/core/gemm.hpp"
#include "galore/core/linalg.hpp"
#include "galore/core/math.hpp"
#include "galore/core/rng.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <string>
#include <vector>

namespace galore::bench {

namespace {

Matrix<float> gaussian(int rows, int cols, std::uint64_t stream) {
  Matrix<float> m(Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string("gaussian")), rows,
                  cols);
  fill_normal(ExecSpace(), m, CounterRng(3, stream), 0.0f, 1.0f);
  return m;
}

// A = Q1 diag(s) Q2^T with random orthonormal Q1 [m x k], Q2 [n x k]: singular values exactly s.
Matrix<float> with_spectrum(const ExecSpace& space, int m, int n, const Vector<float>& s) {
  const int k = static_cast<int>(s.extent(0));
  const Matrix<float> left = orthonormal_columns(space, gaussian(m, k, 1));
  const Matrix<float> right = orthonormal_columns(space, gaussian(n, k, 2));
  Kokkos::parallel_for(
      "scale_columns", Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>>(space, {0, 0}, {m, k}),
      KOKKOS_LAMBDA(const int i, const int j) { left(i, j) *= s(j); });
  Matrix<float> a("a", m, n);
  gemm(space, Op::N, Op::T, 1.0f, left, right, 0.0f, a);
  return a;
}

double squared_norm(const ExecSpace& space, const Matrix<float>& x) {
  const float* data = x.data();
  double sum = 0;
  Kokkos::parallel_reduce(
      "squared_norm", Kokkos::RangePolicy<ExecSpace>(space, 0, x.span()),
      KOKKOS_LAMBDA(const std::size_t i, double& acc) { acc += double(data[i]) * data[i]; }, sum);
  return sum;
}

// ||Q^T A||_F^2 / ||A||_F^2: the fraction of A's energy inside range(Q).
double captured_energy(const ExecSpace& space, const MatrixRef<const float>& q,
                       const Matrix<float>& a) {
  Matrix<float> projected("projected", q.extent(1), a.extent(1));
  gemm(space, Op::T, Op::N, 1.0f, q, a, 0.0f, projected);
  return squared_norm(space, projected) / squared_norm(space, a);
}

}  // namespace

std::string print_range_finder_report(bool quick) {
  const ExecSpace space;
  // A LLaMA-60M MLP weight gradient's shape and the paper's rank for it; a slowly decaying
  // spectrum (s_i = (1+i)^-1/2), where a plain sketch is visibly worse than the optimum.
  const int m = quick ? 256 : 512;
  const int n = quick ? 512 : 1376;
  const int rank = quick ? 32 : 128;
  const int k = m < n ? m : n;
  Vector<float> s("s", k);
  auto host_s = Kokkos::create_mirror_view(HostSpace(), s);
  double total = 0, best = 0;
  for (int i = 0; i < k; ++i) {
    host_s(i) = 1.0f / math::sqrt(1.0f + i);
    total += double(host_s(i)) * host_s(i);
    if (i < rank) best += double(host_s(i)) * host_s(i);
  }
  Kokkos::deep_copy(s, host_s);
  const Matrix<float> a = with_spectrum(space, m, n, s);

  std::printf(
      "Randomized range finder (GaLore projector) on A[%dx%d] with s_i = (1+i)^-1/2, "
      "rank %d; optimum = top-%d energy = %.4f\n",
      m, n, rank, rank, best / total);
  std::printf("%-34s %16s %12s %12s\n", "basis", "captured energy", "/ optimum", "time (ms)");
  Matrix<float> exact;
  const double svd_seconds = median_seconds(3, [&] { exact = svd_thin(space, a).u; });
  const double svd_energy =
      captured_energy(space, Kokkos::subview(exact, Kokkos::ALL, Kokkos::make_pair(0, rank)), a);
  std::printf("%-34s %16.4f %12.4f %12.1f\n", "exact SVD (sgesdd), first r of U", svd_energy,
              svd_energy * total / best, svd_seconds * 1e3);
  std::vector<double> ratios, milliseconds;
  for (int q : {0, 1, 2}) {
    RangeFinderOptions options;
    options.power_iterations = q;
    Matrix<float> basis;
    const double seconds =
        median_seconds(3, [&] { basis = randomized_range_finder(space, a, rank, options); });
    const double energy = captured_energy(space, basis, a);
    const std::string label = "range finder, p = 8, q = " + std::to_string(q);
    std::printf("%-34s %16.4f %12.4f %12.1f\n", label.c_str(), energy, energy * total / best,
                seconds * 1e3);
    ratios.push_back(energy * total / best);
    milliseconds.push_back(seconds * 1e3);
  }
  return fmt::format(
      "Randomized range finder (same run, A[{}x{}] with singular values (1+i)^-1/2, rank {}, "
      "oversampling 8): captured energy / optimum is {:.3f} with q = 0 power iterations, {:.3f} "
      "with q = 1, {:.3f} with q = 2 (the default), in {:.0f}, {:.0f} and {:.0f} ms, against "
      "{:.0f} "
      "ms for the exact sgesdd.",
      m, n, rank, ratios[0], ratios[1], ratios[2], milliseconds[0], milliseconds[1],
      milliseconds[2], svd_seconds * 1e3);
}

}  // namespace galore::bench
