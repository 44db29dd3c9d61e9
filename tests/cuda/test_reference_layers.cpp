// Checks of the RMSNorm, SwiGLU and LM-head cross-entropy references (no GPU): closed forms and
// central finite differences of each forward pass.
#include "catch.hpp"
#include "kernels/cuda/cross_entropy.hpp"
#include "tests/cuda/reference/cross_entropy.hpp"
#include "tests/cuda/reference/rms_norm.hpp"
#include "tests/cuda/reference/swiglu.hpp"
#include "tests/cuda/test_data.hpp"

#include <cmath>
#include <cstddef>
#include <functional>
#include <vector>

namespace reference = galore::kernels::cuda::reference;
namespace testing = galore::kernels::cuda::testing;
using galore::kernels::cuda::kIgnoreIndex;

namespace {

constexpr double kStep = 1e-6;

// Central difference of f with respect to x[i].
double finite_difference(std::vector<double>& x, std::size_t i, const std::function<double()>& f) {
  const double saved = x[i];
  x[i] = saved + kStep;
  const double plus = f();
  x[i] = saved - kStep;
  const double minus = f();
  x[i] = saved;
  return (plus - minus) / (2 * kStep);
}

double weighted_sum(const std::vector<double>& w, const std::vector<double>& y) {
  double sum = 0.0;
  for (std::size_t i = 0; i < y.size(); ++i) sum += w[i] * y[i];
  return sum;
}

}  // namespace

TEST_CASE("reference RMSNorm: unit rows stay unit, gradients match finite differences",
          "[cuda][reference]") {
  const int rows = 3;
  const int n = 10;
  std::vector<double> x = testing::to_double(testing::random_floats(rows * n, 21));
  std::vector<double> weight = testing::to_double(testing::random_floats(n, 22, 0.5f, 1.5f));
  const std::vector<double> w_out = testing::to_double(testing::random_floats(rows * n, 23));
  std::vector<double> y;
  std::vector<double> rstd;

  const std::vector<double> ones(n, 1.0);
  std::vector<double> constant(n, 2.0);
  reference::rms_norm_forward(1, n, 0.0, constant, ones, y, rstd);
  for (double value : y) CHECK(value == Approx(1.0));

  auto loss = [&] {
    std::vector<double> out;
    std::vector<double> r;
    reference::rms_norm_forward(rows, n, 1e-5, x, weight, out, r);
    return weighted_sum(w_out, out);
  };
  reference::rms_norm_forward(rows, n, 1e-5, x, weight, y, rstd);
  std::vector<double> dx(x.size(), 0.5);  // the backward pass adds to what is there
  std::vector<double> dw(n, 0.25);
  reference::rms_norm_backward(rows, n, x, weight, rstd, w_out, dx, dw);
  for (std::size_t i = 0; i < x.size(); ++i) {
    CHECK(dx[i] - 0.5 == Approx(finite_difference(x, i, loss)).margin(1e-8).epsilon(1e-6));
  }
  for (std::size_t j = 0; j < weight.size(); ++j) {
    CHECK(dw[j] - 0.25 == Approx(finite_difference(weight, j, loss)).margin(1e-8).epsilon(1e-6));
  }
}

TEST_CASE("reference SwiGLU: closed form and finite differences", "[cuda][reference]") {
  std::vector<double> gate = testing::to_double(testing::random_floats(12, 31, -4.0f, 4.0f));
  std::vector<double> up = testing::to_double(testing::random_floats(12, 32));
  const std::vector<double> w_out = testing::to_double(testing::random_floats(12, 33));
  const std::vector<double> out = reference::swiglu_forward(gate, up);
  for (std::size_t i = 0; i < gate.size(); ++i) {
    CHECK(out[i] == Approx(gate[i] / (1.0 + std::exp(-gate[i])) * up[i]));
  }
  std::vector<double> d_gate;
  std::vector<double> d_up;
  reference::swiglu_backward(gate, up, w_out, d_gate, d_up);
  auto loss = [&] { return weighted_sum(w_out, reference::swiglu_forward(gate, up)); };
  for (std::size_t i = 0; i < gate.size(); ++i) {
    CHECK(d_gate[i] == Approx(finite_difference(gate, i, loss)).margin(1e-8).epsilon(1e-6));
    CHECK(d_up[i] == Approx(finite_difference(up, i, loss)).margin(1e-8).epsilon(1e-6));
  }
}

TEST_CASE("reference cross-entropy: log(vocab) for zero logits, finite differences",
          "[cuda][reference]") {
  const int tokens = 5;
  const int h = 4;
  const int vocab = 7;
  const std::vector<std::int32_t> targets{3, kIgnoreIndex, 0, 6, 2};
  std::vector<double> hidden = testing::to_double(testing::random_floats(tokens * h, 41));
  std::vector<double> weight = testing::to_double(testing::random_floats(vocab * h, 42));

  const std::vector<double> zeros(vocab * h, 0.0);
  CHECK(reference::lm_head_cross_entropy(tokens, h, vocab, hidden, zeros, targets, 1.0).loss ==
        Approx(std::log(7.0)));
  const std::vector<std::int32_t> ignored(tokens, kIgnoreIndex);
  CHECK(reference::lm_head_cross_entropy(tokens, h, vocab, hidden, weight, ignored, 1.0).loss ==
        0.0);
  const std::vector<std::int32_t> invalid{3, 7, 0, 6, 2};
  CHECK(std::isnan(
      reference::lm_head_cross_entropy(tokens, h, vocab, hidden, weight, invalid, 1.0).loss));

  const double grad_scale = 2.5;
  const reference::CrossEntropyResult r =
      reference::lm_head_cross_entropy(tokens, h, vocab, hidden, weight, targets, grad_scale);
  auto loss = [&] {
    return grad_scale *
           reference::lm_head_cross_entropy(tokens, h, vocab, hidden, weight, targets, 1.0).loss;
  };
  for (std::size_t i = 0; i < hidden.size(); ++i) {
    CHECK(r.d_hidden[i] == Approx(finite_difference(hidden, i, loss)).margin(1e-8).epsilon(1e-6));
  }
  for (std::size_t i = 0; i < weight.size(); ++i) {
    CHECK(r.d_head_weight[i] ==
          Approx(finite_difference(weight, i, loss)).margin(1e-8).epsilon(1e-6));
  }
}
