// Layer kernels in fp32 against central finite differences of their own forward pass and against
// formulas evaluated here in double: embedding, RMSNorm, SwiGLU, and the chunked LM head +
// cross-entropy (which must not depend on the chunk size).
#include "catch.hpp"
#include "galore/core/error.hpp"
#include "galore/model/cross_entropy.hpp"
#include "galore/model/embedding.hpp"
#include "galore/model/rms_norm.hpp"
#include "galore/model/swiglu.hpp"
#include "model_testing.hpp"

#include <cmath>
#include <cstdint>
#include <vector>

namespace {

using galore::ExecSpace;
using galore::Matrix;
using galore::Vector;
using model_testing::central_difference;
using model_testing::dot;
using model_testing::make_tokens;
using model_testing::random_matrix;
using model_testing::relative_error;
using model_testing::to_host;

Vector<float> row(const Matrix<float>& m) { return Kokkos::subview(m, 0, Kokkos::ALL); }

// Central differences of `objective` for every entry of v (row-major), flattened.
std::vector<double> finite_differences(const Matrix<float>& v, double step,
                                       const std::function<double()>& objective) {
  std::vector<double> out;
  for (int i = 0; i < static_cast<int>(v.extent(0)); ++i)
    for (int j = 0; j < static_cast<int>(v.extent(1)); ++j)
      out.push_back(central_difference(v, i, j, step, objective));
  return out;
}

std::vector<double> minus(std::vector<double> a, const std::vector<double>& b) {
  for (std::size_t k = 0; k < a.size(); ++k) a[k] -= b[k];
  return a;
}

}  // namespace

TEST_CASE("embedding gathers rows and scatter-adds repeated tokens' gradients", "[layers]") {
  const int vocab = 7, hidden = 40, batch = 2, seq = 5;  // 40 columns: two column blocks
  const auto tokens = make_tokens(batch, seq, {3, 1, 3, 0, 6, 1, 1, 2, 3, 5});
  const auto table = random_matrix<float>(vocab, hidden, 1);
  Matrix<float> out("out", batch * seq, hidden);
  galore::embedding_forward<float>(ExecSpace(), tokens, table, out);
  const auto h_table = to_host(table), h_out = to_host(out);
  const std::vector<int> ids = {3, 1, 3, 0, 6, 1, 1, 2, 3, 5};
  for (int t = 0; t < batch * seq; ++t)
    for (int j = 0; j < hidden; ++j) CHECK(h_out[t * hidden + j] == h_table[ids[t] * hidden + j]);

  // L = sum(out * R): dL/dtable is the scatter-add of R, added to what d_table held.
  const auto weights = random_matrix<float>(batch * seq, hidden, 2);
  const auto d_table = random_matrix<float>(vocab, hidden, 3);
  const auto before = to_host(d_table);
  galore::embedding_backward<float>(ExecSpace(), tokens, weights, d_table);
  const auto added = minus(to_host(d_table), before);
  const auto h_weights = to_host(weights);
  const auto objective = [&] {
    galore::embedding_forward<float>(ExecSpace(), tokens, table, out);
    return dot(to_host(out), h_weights);
  };
  CHECK(relative_error(added, finite_differences(table, 1e-2, objective)) < 1e-5);
  for (int j = 0; j < hidden; ++j) CHECK(added[4 * hidden + j] == 0.0);  // token 4 never occurs

  const auto bad = make_tokens(1, 2, {2, 7});
  CHECK_THROWS_AS(
      galore::embedding_forward<float>(ExecSpace(), bad, table, Matrix<float>("o", 2, hidden)),
      galore::ShapeError);
}

TEST_CASE("rms_norm matches its formula and finite differences", "[layers]") {
  const int rows = 5, n = 40;
  const float eps = 1e-6f;
  const auto x = random_matrix<float>(rows, n, 10);
  const auto weight = random_matrix<float>(1, n, 11, 0.3f, 1.0f);
  Matrix<float> y("y", rows, n);
  Vector<float> rstd("rstd", rows);
  galore::rms_norm_forward<float>(ExecSpace(), eps, x, row(weight), y, rstd);

  const auto hx = to_host(x), hw = to_host(weight), hy = to_host(y);
  for (int r = 0; r < rows; ++r) {
    double ms = 0;
    for (int j = 0; j < n; ++j) ms += hx[r * n + j] * hx[r * n + j] / n;
    const double expected_rstd = 1.0 / std::sqrt(ms + eps);
    CHECK(to_host(rstd)[r] == Approx(expected_rstd).epsilon(1e-6));
    for (int j = 0; j < n; ++j)
      CHECK(hy[r * n + j] == Approx(hx[r * n + j] * expected_rstd * hw[j]).epsilon(1e-5));
  }

  const auto weights = random_matrix<float>(rows, n, 12);
  const auto dx = random_matrix<float>(rows, n, 13);  // backward adds into both gradients
  const auto dw = random_matrix<float>(1, n, 14);
  const auto dx_before = to_host(dx), dw_before = to_host(dw);
  galore::rms_norm_backward<float>(ExecSpace(), x, row(weight), rstd, weights, dx, row(dw));
  const auto h_weights = to_host(weights);
  const auto objective = [&] {
    galore::rms_norm_forward<float>(ExecSpace(), eps, x, row(weight), y, rstd);
    return dot(to_host(y), h_weights);
  };
  const double dx_error =
      relative_error(minus(to_host(dx), dx_before), finite_differences(x, 1e-2, objective));
  const double dw_error =
      relative_error(minus(to_host(dw), dw_before), finite_differences(weight, 1e-2, objective));
  INFO("dx " << dx_error << ", dw " << dw_error);
  CHECK(dx_error < 1e-3);
  CHECK(dw_error < 1e-3);
}

TEST_CASE("swiglu matches its formula and finite differences, also in place", "[layers]") {
  const int rows = 4, cols = 6;
  const auto gate = random_matrix<float>(rows, cols, 20, 2.0f);
  const auto up = random_matrix<float>(rows, cols, 21);
  Matrix<float> out("out", rows, cols);
  galore::swiglu_forward<float>(ExecSpace(), gate, up, out);
  const auto hg = to_host(gate), hu = to_host(up), ho = to_host(out);
  for (std::size_t k = 0; k < ho.size(); ++k)
    CHECK(ho[k] == Approx(hg[k] / (1 + std::exp(-hg[k])) * hu[k]).epsilon(1e-5));

  const auto weights = random_matrix<float>(rows, cols, 22);
  Matrix<float> d_gate("d_gate", rows, cols), d_up("d_up", rows, cols);
  galore::swiglu_backward<float>(ExecSpace(), gate, up, weights, d_gate, d_up);
  const auto h_weights = to_host(weights);
  const auto objective = [&] {
    galore::swiglu_forward<float>(ExecSpace(), gate, up, out);
    return dot(to_host(out), h_weights);
  };
  CHECK(relative_error(to_host(d_gate), finite_differences(gate, 1e-2, objective)) < 1e-3);
  CHECK(relative_error(to_host(d_up), finite_differences(up, 1e-2, objective)) < 1e-3);

  // The model writes d_up over d_out.
  Matrix<float> in_place("in_place", rows, cols);
  Kokkos::deep_copy(in_place, weights);
  galore::swiglu_backward<float>(ExecSpace(), gate, up, in_place, d_gate, in_place);
  CHECK(to_host(in_place) == to_host(d_up));
}

namespace {

// The unfused computation in double: full logits, log-softmax, mean over counted targets, and the
// gradients of scale * loss.
struct CrossEntropyReference {
  double loss = 0;
  std::vector<double> d_hidden, d_weight;
};

CrossEntropyReference cross_entropy_reference(const std::vector<double>& hidden,
                                              const std::vector<double>& weight,
                                              const std::vector<int>& targets, int h, int vocab,
                                              double scale) {
  const int n = static_cast<int>(targets.size());
  CrossEntropyReference r{0, std::vector<double>(n * h), std::vector<double>(vocab * h)};
  int counted = 0;
  for (int t : targets) counted += t != -100;
  for (int t = 0; t < n; ++t) {
    if (targets[t] == -100) continue;
    std::vector<double> logits(vocab);
    double max_logit = -1e300;
    for (int v = 0; v < vocab; ++v) {
      for (int k = 0; k < h; ++k) logits[v] += hidden[t * h + k] * weight[v * h + k];
      max_logit = std::max(max_logit, logits[v]);
    }
    double sum = 0;
    for (double l : logits) sum += std::exp(l - max_logit);
    const double lse = max_logit + std::log(sum);
    r.loss += (lse - logits[targets[t]]) / counted;
    for (int v = 0; v < vocab; ++v) {
      const double d = scale * (std::exp(logits[v] - lse) - (v == targets[t])) / counted;
      for (int k = 0; k < h; ++k) {
        r.d_hidden[t * h + k] += d * weight[v * h + k];
        r.d_weight[v * h + k] += d * hidden[t * h + k];
      }
    }
  }
  return r;
}

}  // namespace

TEST_CASE("chunked LM head + cross-entropy equals the unfused reference for any chunk size",
          "[layers][cross_entropy]") {
  const int batch = 2, seq = 5, h = 6, vocab = 11, n = batch * seq;
  const std::vector<int> target_ids = {3, 10, -100, 0, 7, 7, 1, -100, 2, 9};
  const auto targets = make_tokens(batch, seq, target_ids);
  const auto hidden = random_matrix<float>(n, h, 30);
  const auto weight = random_matrix<float>(vocab, h, 31, 0.7f);
  const float scale = 0.75f;
  const auto ref =
      cross_entropy_reference(to_host(hidden), to_host(weight), target_ids, h, vocab, scale);

  for (int chunk : {1, 3, 4, n, 64}) {
    INFO("chunk " << chunk);
    Matrix<float> logits("logits", std::min(chunk, n), vocab);
    Matrix<float> d_hidden("d_hidden", n, h);
    const auto d_weight = random_matrix<float>(vocab, h, 32);  // gradients are added to
    const auto d_weight_before = to_host(d_weight);
    const float loss = galore::lm_head_cross_entropy_forward_backward<float>(
        ExecSpace(), hidden, weight, targets, logits, logits, scale, d_hidden, d_weight);
    CHECK(loss == Approx(ref.loss).epsilon(1e-6));
    CHECK(galore::lm_head_cross_entropy_forward<float>(ExecSpace(), hidden, weight, targets,
                                                       logits) == Approx(ref.loss).epsilon(1e-6));
    CHECK(relative_error(to_host(d_hidden), ref.d_hidden) < 1e-5);
    CHECK(relative_error(minus(to_host(d_weight), d_weight_before), ref.d_weight) < 1e-5);
  }
}

TEST_CASE("LM head + cross-entropy gradients match finite differences", "[layers][cross_entropy]") {
  const int batch = 1, seq = 6, h = 5, vocab = 9, n = batch * seq;
  const auto targets = make_tokens(batch, seq, {4, 0, 8, -100, 2, 2});
  const auto hidden = random_matrix<float>(n, h, 40);
  const auto weight = random_matrix<float>(vocab, h, 41, 0.7f);
  Matrix<float> logits("logits", 4, vocab);  // two chunks, the last one short
  Matrix<float> d_hidden("d_hidden", n, h), d_weight("d_weight", vocab, h);
  const float scale = 2.0f;
  galore::lm_head_cross_entropy_forward_backward<float>(ExecSpace(), hidden, weight, targets,
                                                        logits, logits, scale, d_hidden, d_weight);
  const auto objective = [&] {
    return scale * galore::lm_head_cross_entropy_forward<float>(ExecSpace(), hidden, weight,
                                                                targets, logits);
  };
  const double dh_error =
      relative_error(to_host(d_hidden), finite_differences(hidden, 1e-2, objective));
  const double dw_error =
      relative_error(to_host(d_weight), finite_differences(weight, 1e-2, objective));
  INFO("d_hidden " << dh_error << ", d_weight " << dw_error);
  CHECK(dh_error < 1e-3);
  CHECK(dw_error < 1e-3);
}

TEST_CASE("cross-entropy ignores -100 targets and refuses ids outside the vocabulary",
          "[layers][cross_entropy]") {
  const int h = 4, vocab = 5;
  const auto hidden = random_matrix<float>(3, h, 50);
  const auto weight = random_matrix<float>(vocab, h, 51);
  Matrix<float> logits("logits", 2, vocab);
  Matrix<float> d_hidden("d_hidden", 3, h), d_weight("d_weight", vocab, h);
  Kokkos::deep_copy(d_hidden, 1.0f);
  const auto none = make_tokens(1, 3, {-100, -100, -100});
  CHECK(galore::lm_head_cross_entropy_forward_backward<float>(
            ExecSpace(), hidden, weight, none, logits, logits, 1.0f, d_hidden, d_weight) == 0.0f);
  for (double d : to_host(d_hidden)) CHECK(d == 0.0);
  for (double d : to_host(d_weight)) CHECK(d == 0.0);

  const auto bad = make_tokens(1, 3, {1, 5, 0});
  CHECK_THROWS_AS(
      galore::lm_head_cross_entropy_forward<float>(ExecSpace(), hidden, weight, bad, logits),
      galore::ShapeError);
  CHECK_THROWS_AS(galore::lm_head_cross_entropy_forward<float>(ExecSpace(), hidden, weight, none,
                                                               Matrix<float>("l", 2, vocab + 1)),
                  galore::ShapeError);
}
