// Thin SVD, QR orthonormalisation and the randomized range finder, checked in double precision on
// host copies against properties that hold exactly in exact arithmetic (reconstruction,
// orthonormality, a spectrum built into the matrix) with tolerances set by fp32 rounding.
#include "catch.hpp"

#include "galore/core/error.hpp"
#include "galore/core/gemm.hpp"
#include "galore/core/linalg.hpp"
#include "galore/core/rng.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace {

using galore::ExecSpace;
using galore::Matrix;

// Row-major dense double matrix for the reference arithmetic.
struct Dense {
  int rows = 0, cols = 0;
  std::vector<double> v;
  Dense(int r, int c) : rows(r), cols(c), v(static_cast<std::size_t>(r) * c, 0.0) {}
  double& operator()(int i, int j) { return v[static_cast<std::size_t>(i) * cols + j]; }
  double operator()(int i, int j) const { return v[static_cast<std::size_t>(i) * cols + j]; }
};

template <class View>
Dense to_dense(const View& view) {
  Kokkos::fence();
  Matrix<float> packed("packed", view.extent(0), view.extent(1));
  Kokkos::deep_copy(packed, view);
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), packed);
  Dense d(static_cast<int>(h.extent(0)), static_cast<int>(h.extent(1)));
  for (int i = 0; i < d.rows; ++i)
    for (int j = 0; j < d.cols; ++j) d(i, j) = h(i, j);
  return d;
}

Matrix<float> to_device(const Dense& d) {
  Matrix<float> m("m", d.rows, d.cols);
  auto h = Kokkos::create_mirror_view(Kokkos::HostSpace(), m);
  for (int i = 0; i < d.rows; ++i)
    for (int j = 0; j < d.cols; ++j) h(i, j) = static_cast<float>(d(i, j));
  Kokkos::deep_copy(m, h);
  return m;
}

Dense multiply(const Dense& a, const Dense& b, bool transpose_a = false) {
  const int m = transpose_a ? a.cols : a.rows;
  const int k = transpose_a ? a.rows : a.cols;
  Dense c(m, b.cols);
  for (int i = 0; i < m; ++i)
    for (int p = 0; p < k; ++p) {
      const double x = transpose_a ? a(p, i) : a(i, p);
      for (int j = 0; j < b.cols; ++j) c(i, j) += x * b(p, j);
    }
  return c;
}

Dense transpose(const Dense& a) {
  Dense t(a.cols, a.rows);
  for (int i = 0; i < a.rows; ++i)
    for (int j = 0; j < a.cols; ++j) t(j, i) = a(i, j);
  return t;
}

double frobenius(const Dense& a) {
  double sum = 0;
  for (double x : a.v) sum += x * x;
  return std::sqrt(sum);
}

Dense minus(const Dense& a, const Dense& b) {
  Dense d = a;
  for (std::size_t i = 0; i < d.v.size(); ++i) d.v[i] -= b.v[i];
  return d;
}

// max |Q^T Q - I|: how far the columns of Q are from orthonormal.
double orthonormality_error(const Dense& q) {
  const Dense gram = multiply(q, q, true);
  double worst = 0;
  for (int i = 0; i < gram.rows; ++i)
    for (int j = 0; j < gram.cols; ++j)
      worst = std::max(worst, std::abs(gram(i, j) - (i == j ? 1.0 : 0.0)));
  return worst;
}

// (I - Q Q^T) X: the part of X's columns outside range(Q).
Dense outside_range(const Dense& q, const Dense& x) {
  return minus(x, multiply(q, multiply(q, x, true)));
}

Matrix<float> gaussian(int rows, int cols, std::uint64_t stream) {
  Matrix<float> m("gaussian", rows, cols);
  galore::fill_normal(ExecSpace(), m, galore::CounterRng(7, stream), 0.0f, 1.0f);
  return m;
}

// A = Q1 diag(s) Q2^T with random orthonormal Q1 [m x k], Q2 [n x k], k = s.size(): a matrix whose
// singular values are s and whose singular vectors are Q1's and Q2's columns.
struct KnownSpectrum {
  Dense a, left;
};
KnownSpectrum with_spectrum(int m, int n, const std::vector<double>& s, std::uint64_t stream) {
  const int k = static_cast<int>(s.size());
  const Dense q1 = to_dense(galore::orthonormal_columns(ExecSpace(), gaussian(m, k, stream)));
  Dense q2s =
      transpose(to_dense(galore::orthonormal_columns(ExecSpace(), gaussian(n, k, stream + 1))));
  for (int i = 0; i < k; ++i)
    for (int j = 0; j < n; ++j) q2s(i, j) *= s[i];
  return {multiply(q1, q2s), q1};
}

Dense first_columns(const Dense& a, int count) {
  Dense d(a.rows, count);
  for (int i = 0; i < a.rows; ++i)
    for (int j = 0; j < count; ++j) d(i, j) = a(i, j);
  return d;
}

// ||A - Q Q^T A||_2, the spectral norm of what the basis misses (largest singular value).
double spectral_residual(const Dense& a, const Dense& q) {
  const galore::ThinSvd svd = galore::svd_thin(ExecSpace(), to_device(outside_range(q, a)));
  auto s = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), svd.s);
  return s(0);
}

std::vector<double> geometric_spectrum(int count, double ratio) {
  std::vector<double> s(count);
  for (int i = 0; i < count; ++i) s[i] = std::pow(ratio, i);
  return s;
}

}  // namespace

TEST_CASE("svd_thin reconstructs tall, wide and square matrices", "[linalg]") {
  const std::vector<std::pair<int, int>> shapes = {{40, 25}, {25, 40}, {30, 30}};
  for (const auto& [m, n] : shapes) {
    INFO("A[" << m << "x" << n << "]");
    const int k = std::min(m, n);
    const auto a = gaussian(m, n, 10);
    const galore::ThinSvd svd = galore::svd_thin(ExecSpace(), a);
    REQUIRE(svd.u.extent(0) == std::size_t(m));
    REQUIRE(svd.u.extent(1) == std::size_t(k));
    REQUIRE(svd.s.extent(0) == std::size_t(k));
    REQUIRE(svd.vt.extent(0) == std::size_t(k));
    REQUIRE(svd.vt.extent(1) == std::size_t(n));
    const Dense u = to_dense(svd.u), vt = to_dense(svd.vt), ad = to_dense(a);
    auto s = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), svd.s);
    Dense us = u;
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < k; ++j) us(i, j) *= s(j);
    CHECK(frobenius(minus(ad, multiply(us, vt))) / frobenius(ad) < 1e-5);
    CHECK(orthonormality_error(u) < 1e-5);
    CHECK(orthonormality_error(transpose(vt)) < 1e-5);
    for (int j = 0; j + 1 < k; ++j) CHECK(s(j) >= s(j + 1));
    CHECK(s(k - 1) > 0.0f);
  }
}

TEST_CASE("svd_thin accepts a strided column block", "[linalg]") {
  const auto wide = gaussian(20, 50, 11);
  const auto block = Kokkos::subview(wide, Kokkos::ALL, Kokkos::make_pair(10, 22));
  const galore::ThinSvd svd = galore::svd_thin(ExecSpace(), block);
  const Dense u = to_dense(svd.u), vt = to_dense(svd.vt), ad = to_dense(block);
  auto s = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), svd.s);
  Dense us = u;
  for (int i = 0; i < us.rows; ++i)
    for (int j = 0; j < us.cols; ++j) us(i, j) *= s(j);
  CHECK(frobenius(minus(ad, multiply(us, vt))) / frobenius(ad) < 1e-5);
}

TEST_CASE("svd_thin recovers a spectrum built into the matrix", "[linalg]") {
  const int m = 50, n = 30;
  std::vector<double> spectrum = geometric_spectrum(n, 0.8);
  for (double& x : spectrum) x *= 10.0;
  const KnownSpectrum known = with_spectrum(m, n, spectrum, 20);
  const galore::ThinSvd svd = galore::svd_thin(ExecSpace(), to_device(known.a));
  auto s = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), svd.s);
  const Dense u = to_dense(svd.u);
  // A backward-stable fp32 SVD moves each singular value by O(eps * ||A||_2), eps = 6e-8; 1e-5
  // of sigma_1 allows a dimension factor of ~150 over that.
  for (int i = 0; i < n; ++i) {
    INFO("sigma_" << i);
    CHECK(std::abs(s(i) - spectrum[i]) < 1e-5 * spectrum[0]);
  }
  // The leading singular vectors are separated by gaps of 20% of their value, so each must match
  // the built-in one up to sign (Davis-Kahan: angle ~ eps * ||A|| / gap).
  for (int i = 0; i < 10; ++i) {
    double dot = 0;
    for (int r = 0; r < m; ++r) dot += u(r, i) * known.left(r, i);
    INFO("u_" << i);
    CHECK(std::abs(dot) > 1.0 - 1e-4);
  }
}

TEST_CASE("orthonormal_columns returns an orthonormal basis of the input's columns", "[linalg]") {
  const std::vector<std::pair<int, int>> shapes = {{60, 12}, {16, 16}};
  for (const auto& [m, n] : shapes) {
    INFO("A[" << m << "x" << n << "]");
    const auto a = gaussian(m, n, 30);
    const Matrix<float> q = galore::orthonormal_columns(ExecSpace(), a);
    REQUIRE(q.extent(0) == std::size_t(m));
    REQUIRE(q.extent(1) == std::size_t(n));
    const Dense qd = to_dense(q), ad = to_dense(a);
    CHECK(orthonormality_error(qd) < 1e-5);
    // Spanning: projecting A onto range(Q) loses nothing.
    CHECK(frobenius(outside_range(qd, ad)) / frobenius(ad) < 1e-5);
  }
}

TEST_CASE("randomized_range_finder captures the top-r subspace of a decaying spectrum",
          "[linalg]") {
  const int m = 120, n = 80, rank = 8;
  const std::vector<double> spectrum = geometric_spectrum(n, 0.5);
  const KnownSpectrum known = with_spectrum(m, n, spectrum, 40);
  galore::RangeFinderOptions options;  // oversampling 8, 2 power iterations
  const Matrix<float> q =
      galore::randomized_range_finder(ExecSpace(), to_device(known.a), rank, options);
  REQUIRE(q.extent(0) == std::size_t(m));
  REQUIRE(q.extent(1) == std::size_t(rank));
  const Dense qd = to_dense(q);
  CHECK(orthonormality_error(qd) < 1e-5);

  // sin of the largest principal angle between range(Q) and the top-r left singular subspace U_r
  // is at most ||(I - Q Q^T) U_r||_F. The randomized part contributes ~ C (s_{l+1}/s_r)^(2q+1)
  // with l = r + p = 16 and q = 2 (Gu 2015, Thm. 5.8), i.e. C * 2^-40: nothing. What remains is
  // fp32 rounding amplified by the gap (Wedin): eps ||A|| / (s_r - s_{r+1}) = 6e-8 * 2^8 ~ 1.5e-5
  // times a modest dimension factor, hence the bound 1e-3.
  const Dense u_r = first_columns(known.left, rank);
  CHECK(frobenius(outside_range(qd, u_r)) < 1e-3);

  // Eckart-Young: no rank-r basis does better than sigma_{r+1} in the spectral norm; truncating the
  // l-column basis to r columns costs at most the l-column error, ~ s_{l+1} = 2^-16 << s_{r+1}.
  const double optimal = spectrum[rank];
  CHECK(spectral_residual(known.a, qd) < 1.05 * optimal);
}

TEST_CASE("power iterations sharpen the range finder on a slowly decaying spectrum", "[linalg]") {
  const int m = 100, n = 80, rank = 10;
  std::vector<double> spectrum(n);
  for (int i = 0; i < n; ++i) spectrum[i] = 1.0 / (1 + i);
  const KnownSpectrum known = with_spectrum(m, n, spectrum, 50);
  const auto a = to_device(known.a);
  galore::RangeFinderOptions plain;
  plain.oversampling = 2;
  plain.power_iterations = 0;
  galore::RangeFinderOptions powered = plain;
  powered.power_iterations = 3;
  const double optimal = spectrum[rank];
  const double plain_error = spectral_residual(
      known.a, to_dense(galore::randomized_range_finder(ExecSpace(), a, rank, plain)));
  const double powered_error = spectral_residual(
      known.a, to_dense(galore::randomized_range_finder(ExecSpace(), a, rank, powered)));
  INFO("error / sigma_{r+1}: q=0 " << plain_error / optimal << ", q=3 " << powered_error / optimal);
  // A slow tail makes the plain sketch noticeably worse than optimal; HMT Cor. 10.10 bounds the
  // l-column error with q = 3 by ~1.4 sigma_{r+1} in expectation for this spectrum, and the rank-r
  // truncation adds at most sigma_{r+1} more.
  CHECK(powered_error < plain_error);
  CHECK(powered_error < 2.4 * optimal);
  CHECK(powered_error >= optimal * (1 - 1e-4));  // nothing beats Eckart-Young
}

TEST_CASE("randomized_range_finder is exact on a matrix of rank <= r", "[linalg]") {
  const KnownSpectrum known = with_spectrum(30, 20, {3.0, 2.0, 1.0}, 55);
  const Dense q = to_dense(galore::randomized_range_finder(ExecSpace(), to_device(known.a), 3,
                                                           galore::RangeFinderOptions{}));
  CHECK(frobenius(outside_range(q, known.a)) / frobenius(known.a) < 1e-5);
}

TEST_CASE("randomized_range_finder is a pure function of its seed", "[linalg]") {
  const auto a = gaussian(40, 30, 60);
  galore::RangeFinderOptions options;
  options.seed = 99;
  const Dense first = to_dense(galore::randomized_range_finder(ExecSpace(), a, 5, options));
  const Dense again = to_dense(galore::randomized_range_finder(ExecSpace(), a, 5, options));
  CHECK(first.v == again.v);
}

TEST_CASE("linalg rejects bad ranks, bad shapes and non-finite input", "[linalg]") {
  const ExecSpace space;
  const galore::RangeFinderOptions options;
  const auto a = gaussian(6, 5, 70);
  CHECK_THROWS_AS(galore::randomized_range_finder(space, a, 0, options), galore::ShapeError);
  CHECK_THROWS_AS(galore::randomized_range_finder(space, a, 6, options), galore::ShapeError);
  try {
    galore::randomized_range_finder(space, a, 6, options);
    FAIL("no exception");
  } catch (const galore::ShapeError& e) {
    const std::string msg = e.what();
    CHECK(msg.find("rank 6") != std::string::npos);
    CHECK(msg.find("[6x5]") != std::string::npos);
  }
  galore::RangeFinderOptions negative;
  negative.oversampling = -1;
  CHECK_THROWS_AS(galore::randomized_range_finder(space, a, 2, negative), galore::ConfigError);

  CHECK_THROWS_AS(galore::orthonormal_columns(space, gaussian(4, 7, 71)), galore::ShapeError);

  const auto poisoned = gaussian(6, 5, 72);
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), poisoned);
  h(1, 2) = std::numeric_limits<float>::quiet_NaN();
  h(4, 0) = std::numeric_limits<float>::quiet_NaN();
  Kokkos::deep_copy(poisoned, h);
  const auto inf_only = gaussian(6, 5, 73);
  auto hi = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), inf_only);
  hi(0, 0) = -std::numeric_limits<float>::infinity();
  Kokkos::deep_copy(inf_only, hi);
  CHECK_THROWS_AS(galore::svd_thin(space, poisoned), galore::NumericError);
  CHECK_THROWS_AS(galore::svd_thin(space, inf_only), galore::NumericError);
  CHECK_THROWS_AS(galore::orthonormal_columns(space, poisoned), galore::NumericError);
  CHECK_THROWS_AS(galore::randomized_range_finder(space, inf_only, 2, options),
                  galore::NumericError);
  try {
    galore::svd_thin(space, poisoned);
    FAIL("no exception");
  } catch (const galore::NumericError& e) {
    const std::string msg = e.what();
    CHECK(msg.find("2 non-finite") != std::string::npos);
    CHECK(msg.find("[6x5]") != std::string::npos);
  }
}
