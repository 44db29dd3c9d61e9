#include "catch.hpp"

#include "galore/core/error.hpp"
#include "galore/core/gemm.hpp"
#include "galore/core/rng.hpp"

#include <cmath>
#include <string>
#include <vector>

using galore::bf16;
using galore::Op;

namespace {

template <class T>
galore::Matrix<T> random_matrix(int rows, int cols, std::uint64_t stream) {
  galore::Matrix<T> m("m", rows, cols);
  galore::fill_uniform(galore::ExecSpace(), m, galore::CounterRng(2024, stream), -1.0f, 1.0f);
  return m;
}

template <class View>
std::vector<double> to_host(const View& v) {
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), v);
  std::vector<double> out;
  for (std::size_t i = 0; i < h.extent(0); ++i)
    for (std::size_t j = 0; j < h.extent(1); ++j) out.push_back(galore::to_float(h(i, j)));
  return out;
}

// Naive double-precision C = alpha op(A) op(B) + beta C on host copies; also returns, per entry,
// sum |a||b| to scale the tolerance.
struct Reference {
  std::vector<double> c, magnitude;
};
template <class TA, class TC>
Reference naive(Op op_a, Op op_b, float alpha, const galore::Matrix<TA>& a,
                const galore::Matrix<TA>& b, float beta, const galore::Matrix<TC>& c) {
  const auto ha = to_host(a), hb = to_host(b), hc = to_host(c);
  const int m = c.extent(0), n = c.extent(1);
  const int k = op_a == Op::N ? a.extent(1) : a.extent(0);
  const int lda = a.extent(1), ldb = b.extent(1);
  Reference r{std::vector<double>(m * n), std::vector<double>(m * n)};
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double sum = 0, mag = 0;
      for (int p = 0; p < k; ++p) {
        const double x = op_a == Op::N ? ha[i * lda + p] : ha[p * lda + i];
        const double y = op_b == Op::N ? hb[p * ldb + j] : hb[j * ldb + p];
        sum += x * y;
        mag += std::abs(x * y);
      }
      r.c[i * n + j] = alpha * sum + beta * hc[i * n + j];
      r.magnitude[i * n + j] = std::abs(alpha) * mag + std::abs(beta * hc[i * n + j]);
    }
  return r;
}

double max_scaled_error(const std::vector<double>& got, const Reference& ref) {
  double worst = 0;
  for (std::size_t i = 0; i < got.size(); ++i)
    worst = std::max(worst, std::abs(got[i] - ref.c[i]) / (ref.magnitude[i] + 1e-30));
  return worst;
}

template <class TA, class TC>
double run_case(Op op_a, Op op_b, bool portable) {
  const int m = 37, n = 53, k = 29;
  const auto a = op_a == Op::N ? random_matrix<TA>(m, k, 1) : random_matrix<TA>(k, m, 1);
  const auto b = op_b == Op::N ? random_matrix<TA>(k, n, 2) : random_matrix<TA>(n, k, 2);
  const auto c = random_matrix<TC>(m, n, 3);
  const float alpha = 0.75f, beta = -0.5f;
  const Reference ref = naive(op_a, op_b, alpha, a, b, beta, c);
  if constexpr (std::is_same_v<TC, float>) {
    if (portable) {
      galore::gemm_portable(galore::ExecSpace(), op_a, op_b, alpha, a, b, beta, c);
    } else {
      galore::gemm(galore::ExecSpace(), op_a, op_b, alpha, a, b, beta, c);
    }
  } else {
    galore::gemm(galore::ExecSpace(), op_a, op_b, alpha, a, b, beta, c);
  }
  Kokkos::fence();
  return max_scaled_error(to_host(c), ref);
}

const std::vector<std::pair<Op, Op>> all_ops = {
    {Op::N, Op::N}, {Op::N, Op::T}, {Op::T, Op::N}, {Op::T, Op::T}};

std::string label(Op a, Op b) {
  return std::string(a == Op::N ? "N" : "T") + (b == Op::N ? "N" : "T");
}

}  // namespace

TEST_CASE("gemm matches a naive reference for every transpose and precision", "[gemm]") {
  for (const auto& [op_a, op_b] : all_ops) {
    INFO("ops " << label(op_a, op_b));
    CHECK(run_case<float, float>(op_a, op_b, false) < 1e-6);
    // bf16 products are exact in fp32, so bf16 -> fp32 is as accurate as fp32 GEMM.
    CHECK(run_case<bf16, float>(op_a, op_b, false) < 1e-6);
    // bf16 output: one rounding of the result, at most the unit roundoff 2^-8 of its magnitude.
    CHECK(run_case<bf16, bf16>(op_a, op_b, false) < 1.0 / 256 + 1e-6);
  }
}

TEST_CASE("the portable tiled kernel matches the naive reference", "[gemm]") {
  for (const auto& [op_a, op_b] : all_ops) {
    INFO("ops " << label(op_a, op_b));
    CHECK(run_case<float, float>(op_a, op_b, true) < 1e-6);
    CHECK(run_case<bf16, float>(op_a, op_b, true) < 1e-6);
  }
}

TEST_CASE("gemm works on strided sub-blocks (attention head columns)", "[gemm]") {
  // x: [tokens, heads*dim]; the product of head 1's columns with a [dim, dim] matrix.
  const int tokens = 19, heads = 3, dim = 8;
  const auto x = random_matrix<float>(tokens, heads * dim, 4);
  const auto w = random_matrix<float>(dim, dim, 5);
  galore::Matrix<float> y("y", tokens, heads * dim);
  const auto cols = Kokkos::make_pair(dim, 2 * dim);
  galore::gemm(galore::ExecSpace(), Op::N, Op::T, 1.0f, Kokkos::subview(x, Kokkos::ALL, cols), w,
               0.0f, Kokkos::subview(y, Kokkos::ALL, cols));
  Kokkos::fence();
  auto hx = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), x);
  auto hw = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), w);
  auto hy = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), y);
  double worst = 0, untouched = 0;
  for (int t = 0; t < tokens; ++t)
    for (int j = 0; j < heads * dim; ++j) {
      if (j < dim || j >= 2 * dim) {
        untouched += std::abs(hy(t, j));
        continue;
      }
      double ref = 0;
      for (int p = 0; p < dim; ++p) ref += double(hx(t, dim + p)) * hw(j - dim, p);
      worst = std::max(worst, std::abs(ref - hy(t, j)));
    }
  CHECK(worst < 1e-5);
  CHECK(untouched == 0.0);
}

TEST_CASE("gemm_batched multiplies every batch entry", "[gemm]") {
  const int batch = 4, m = 9, n = 7, k = 5;
  galore::Tensor3<bf16> a("a", batch, k, m), b("b", batch, n, k);
  galore::Tensor3<float> c("c", batch, m, n);
  galore::fill_uniform(galore::ExecSpace(), a, galore::CounterRng(1, 1), -1.0f, 1.0f);
  galore::fill_uniform(galore::ExecSpace(), b, galore::CounterRng(1, 2), -1.0f, 1.0f);
  galore::gemm_batched(galore::ExecSpace(), Op::T, Op::T, 2.0f, a, b, 0.0f, c);
  Kokkos::fence();
  auto ha = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), a);
  auto hb = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), b);
  auto hc = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), c);
  double worst = 0;
  for (int s = 0; s < batch; ++s)
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) {
        double ref = 0;
        for (int p = 0; p < k; ++p)
          ref += double(static_cast<float>(ha(s, p, i))) * static_cast<float>(hb(s, j, p));
        worst = std::max(worst, std::abs(2 * ref - hc(s, i, j)));
      }
  CHECK(worst < 1e-5);
}

TEST_CASE("gemm rejects mismatched shapes with every shape in the message", "[gemm]") {
  galore::Matrix<float> a("a", 4, 5), b("b", 6, 7), c("c", 4, 7);
  try {
    galore::gemm(galore::ExecSpace(), Op::N, Op::N, 1.0f, a, b, 0.0f, c);
    FAIL("no exception");
  } catch (const galore::ShapeError& e) {
    const std::string msg = e.what();
    CHECK(msg.find("[4x5]") != std::string::npos);
    CHECK(msg.find("[6x7]") != std::string::npos);
    CHECK(msg.find("[4x7]") != std::string::npos);
  }
  galore::Matrix<float> wrong_c("c", 5, 7);
  CHECK_THROWS_AS(galore::gemm(galore::ExecSpace(), Op::T, Op::N, 1.0f, a, b, 0.0f, wrong_c),
                  galore::ShapeError);
}
