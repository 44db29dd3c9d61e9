// Checks of the attention reference itself (no GPU): RoPE is a rotation undone by its inverse, a
// one-position sequence returns v, the mask is causal, and the backward pass matches central
// finite differences of the forward pass.
#include "catch.hpp"
#include "tests/cuda/reference/attention.hpp"
#include "tests/cuda/test_data.hpp"

#include <cmath>
#include <cstddef>
#include <vector>

using galore::kernels::cuda::AttentionShape;
namespace reference = galore::kernels::cuda::reference;
namespace testing = galore::kernels::cuda::testing;

namespace {

std::vector<double> random_activation(const AttentionShape& s, std::uint32_t seed) {
  const std::size_t n = static_cast<std::size_t>(s.batch) * s.seq * s.heads * s.head_dim;
  return testing::to_double(testing::random_floats(n, seed));
}

double weighted_output(const AttentionShape& s, const std::vector<double>& q,
                       const std::vector<double>& k, const std::vector<double>& v,
                       const std::vector<double>& weights) {
  std::vector<double> out;
  std::vector<double> lse;
  reference::attention_forward(s, q, k, v, out, lse);
  double sum = 0.0;
  for (std::size_t i = 0; i < out.size(); ++i) sum += weights[i] * out[i];
  return sum;
}

}  // namespace

TEST_CASE("reference RoPE preserves norms and is undone by its inverse", "[cuda][reference]") {
  const AttentionShape s{2, 5, 2, 8, 10000.0f};
  const std::vector<double> x = random_activation(s, 1);
  std::vector<double> y = x;
  reference::rope(s, y, false);
  const int half = s.head_dim / 2;
  for (int t = 0; t < s.batch * s.seq; ++t) {
    for (int c = 0; c < s.heads * s.head_dim; ++c) {
      if (c % s.head_dim >= half) continue;
      const std::size_t a = static_cast<std::size_t>(t) * s.heads * s.head_dim + c;
      const double before = std::hypot(x[a], x[a + half]);
      CHECK(std::hypot(y[a], y[a + half]) == Approx(before).epsilon(1e-12));
      if (t % s.seq == 0) CHECK(y[a] == x[a]);  // position 0 is not rotated
    }
  }
  reference::rope(s, y, true);
  for (std::size_t i = 0; i < x.size(); ++i) CHECK(y[i] == Approx(x[i]).margin(1e-12));
}

TEST_CASE("reference attention of one position returns v, lse = q.k / sqrt(d)",
          "[cuda][reference]") {
  const AttentionShape s{2, 1, 3, 8, 10000.0f};
  const std::vector<double> q = random_activation(s, 2);
  const std::vector<double> k = random_activation(s, 3);
  const std::vector<double> v = random_activation(s, 4);
  std::vector<double> out;
  std::vector<double> lse;
  reference::attention_forward(s, q, k, v, out, lse);
  for (std::size_t i = 0; i < v.size(); ++i) CHECK(out[i] == Approx(v[i]).epsilon(1e-12));
  for (int b = 0; b < s.batch; ++b) {
    for (int h = 0; h < s.heads; ++h) {
      double dot = 0.0;
      for (int c = 0; c < s.head_dim; ++c) {
        const std::size_t a =
            static_cast<std::size_t>(b) * s.heads * s.head_dim + h * s.head_dim + c;
        dot += q[a] * k[a];
      }
      CHECK(lse[static_cast<std::size_t>(b) * s.heads + h] ==
            Approx(dot / std::sqrt(8.0)).epsilon(1e-6));
    }
  }
}

TEST_CASE("reference attention is causal", "[cuda][reference]") {
  const AttentionShape s{1, 6, 2, 8, 10000.0f};
  const std::vector<double> q = random_activation(s, 5);
  const std::vector<double> k = random_activation(s, 6);
  std::vector<double> v = random_activation(s, 7);
  std::vector<double> out_a;
  std::vector<double> out_b;
  std::vector<double> lse;
  reference::attention_forward(s, q, k, v, out_a, lse);
  const std::size_t width = static_cast<std::size_t>(s.heads) * s.head_dim;
  for (std::size_t c = 0; c < width; ++c) v[5 * width + c] += 1.0;  // change the last position
  reference::attention_forward(s, q, k, v, out_b, lse);
  for (std::size_t i = 0; i < 5 * width; ++i) CHECK(out_a[i] == out_b[i]);
  bool last_changed = false;
  for (std::size_t c = 0; c < width; ++c)
    last_changed |= out_a[5 * width + c] != out_b[5 * width + c];
  CHECK(last_changed);
}

TEST_CASE("reference attention gradients match finite differences", "[cuda][reference]") {
  for (const float theta : {10000.0f, 0.0f}) {
    const AttentionShape s{2, 5, 2, 8, theta};
    std::vector<double> q = random_activation(s, 8);
    std::vector<double> k = random_activation(s, 9);
    std::vector<double> v = random_activation(s, 10);
    const std::vector<double> weights = random_activation(s, 11);
    std::vector<double> out;
    std::vector<double> lse;
    reference::attention_forward(s, q, k, v, out, lse);
    const reference::AttentionGradients g = reference::attention_backward(s, q, k, v, out, weights);
    constexpr double kStep = 1e-5;
    auto check = [&](std::vector<double>& x, const std::vector<double>& grad, const char* name) {
      for (std::size_t i = 0; i < x.size(); i += 7) {
        const double saved = x[i];
        x[i] = saved + kStep;
        const double plus = weighted_output(s, q, k, v, weights);
        x[i] = saved - kStep;
        const double minus = weighted_output(s, q, k, v, weights);
        x[i] = saved;
        INFO(name << "[" << i << "] theta " << theta);
        CHECK(grad[i] == Approx((plus - minus) / (2 * kStep)).margin(1e-8).epsilon(1e-6));
      }
    };
    check(q, g.dq, "dq");
    check(k, g.dk, "dk");
    check(v, g.dv, "dv");
  }
}
