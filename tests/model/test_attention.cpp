// Tests for the tiled causal attention and RoPE kernels: against the naive kernel and against a
// double-precision reference written here straight from the formulas, central finite
// differences, causality, the RoPE inverse and adjoint, and bf16 accuracy.
#include "galore/model/attention.hpp"

#include "catch.hpp"
#include "galore/core/error.hpp"
#include "galore/core/rng.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <vector>

namespace {

using galore::AttentionShape;
using galore::bf16;
using galore::ExecSpace;
using galore::Matrix;
using galore::Tensor3;

using HostValues = std::vector<double>;  // a row-major host copy of a view, widened to double

// Shapes that cover one position, several tiles with a short last one (tiles are 32 rows), batch
// and head offsets, and the paper's head_dim of 64.
const std::vector<AttentionShape> kShapes = {{1, 1, 1, 4},  {2, 5, 3, 8},   {1, 32, 2, 16},
                                             {2, 45, 2, 8}, {1, 70, 1, 64}, {3, 33, 4, 12}};

std::size_t index_of(const AttentionShape& s, int b, int pos, int h, int c) {
  return (static_cast<std::size_t>(b) * s.seq + pos) * s.width() + h * s.head_dim + c;
}

Matrix<float> random_activations(const AttentionShape& s, std::uint64_t stream, float std = 1.0f) {
  Matrix<float> x("x", s.tokens(), s.width());
  galore::fill_normal(ExecSpace(), x, galore::CounterRng(2024, stream), 0.0f, std);
  ExecSpace().fence();
  return x;
}

template <class View>
HostValues to_host(const View& x) {
  const auto mirror = Kokkos::create_mirror_view_and_copy(galore::HostSpace(), x);
  HostValues values(mirror.size());
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = galore::to_float(mirror.data()[i]);
  return values;
}

template <class T>
Matrix<T> converted(const Matrix<float>& x) {
  Matrix<T> y("converted", x.extent(0), x.extent(1));
  Kokkos::parallel_for(
      Kokkos::RangePolicy<ExecSpace>(0, x.size()),
      KOKKOS_LAMBDA(const int i) { y.data()[i] = galore::from_float<T>(x.data()[i]); });
  ExecSpace().fence();
  return y;
}

template <class T>
Matrix<T> copy_of(const Matrix<T>& x) {
  Matrix<T> y("copy", x.extent(0), x.extent(1));
  Kokkos::deep_copy(y, x);
  return y;
}

double max_abs(const HostValues& a) {
  double m = 0.0;
  for (double x : a) m = std::max(m, std::abs(x));
  return m;
}

// max |a - b| / max |reference|: the error normalised by the tensor's scale.
double relative_error(const HostValues& a, const HostValues& reference) {
  REQUIRE(a.size() == reference.size());
  double diff = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) diff = std::max(diff, std::abs(a[i] - reference[i]));
  return diff / std::max(max_abs(reference), 1e-30);
}

double dot(const HostValues& a, const HostValues& b) {
  double sum = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) sum += a[i] * b[i];
  return sum;
}

// --- double-precision reference, from the formulas --------------------------------------------

// P[i * seq + j] = softmax_j(q_i . k_j / sqrt(d)) over j <= i, for one (batch, head); also the
// row log-sum-exp of the scaled scores.
HostValues reference_probabilities(const AttentionShape& s, const HostValues& q,
                                   const HostValues& k, int b, int h, HostValues& lse) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(s.head_dim));
  HostValues p(static_cast<std::size_t>(s.seq) * s.seq, 0.0);
  lse.assign(s.seq, 0.0);
  for (int i = 0; i < s.seq; ++i) {
    double max_score = -1e300;
    for (int j = 0; j <= i; ++j) {
      double score = 0.0;
      for (int c = 0; c < s.head_dim; ++c) {
        score += q[index_of(s, b, i, h, c)] * k[index_of(s, b, j, h, c)];
      }
      p[i * s.seq + j] = scale * score;
      max_score = std::max(max_score, scale * score);
    }
    double sum = 0.0;
    for (int j = 0; j <= i; ++j) sum += std::exp(p[i * s.seq + j] - max_score);
    for (int j = 0; j <= i; ++j) p[i * s.seq + j] = std::exp(p[i * s.seq + j] - max_score) / sum;
    lse[i] = max_score + std::log(sum);
  }
  return p;
}

struct ReferenceForward {
  HostValues out;
  HostValues lse;  // [batch, heads, seq]
};

ReferenceForward reference_forward(const AttentionShape& s, const HostValues& q,
                                   const HostValues& k, const HostValues& v) {
  ReferenceForward r{HostValues(q.size(), 0.0),
                     HostValues(static_cast<std::size_t>(s.batch) * s.heads * s.seq, 0.0)};
  for (int b = 0; b < s.batch; ++b) {
    for (int h = 0; h < s.heads; ++h) {
      HostValues lse;
      const HostValues p = reference_probabilities(s, q, k, b, h, lse);
      for (int i = 0; i < s.seq; ++i) {
        r.lse[(static_cast<std::size_t>(b) * s.heads + h) * s.seq + i] = lse[i];
        for (int c = 0; c < s.head_dim; ++c) {
          double acc = 0.0;
          for (int j = 0; j <= i; ++j) acc += p[i * s.seq + j] * v[index_of(s, b, j, h, c)];
          r.out[index_of(s, b, i, h, c)] = acc;
        }
      }
    }
  }
  return r;
}

struct Gradients {
  HostValues dq, dk, dv;
};

// dV = P^T dO; dP = dO V^T; dS = P * (dP - rowsum(P * dP)); dQ = dS K / sqrt(d); dK = dS^T Q /
// sqrt(d).
Gradients reference_backward(const AttentionShape& s, const HostValues& q, const HostValues& k,
                             const HostValues& v, const HostValues& d_out) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(s.head_dim));
  Gradients g{HostValues(q.size(), 0.0), HostValues(q.size(), 0.0), HostValues(q.size(), 0.0)};
  for (int b = 0; b < s.batch; ++b) {
    for (int h = 0; h < s.heads; ++h) {
      HostValues lse;
      const HostValues p = reference_probabilities(s, q, k, b, h, lse);
      HostValues ds(p.size(), 0.0);
      for (int i = 0; i < s.seq; ++i) {
        double row_term = 0.0;
        for (int j = 0; j <= i; ++j) {
          double dp = 0.0;
          for (int c = 0; c < s.head_dim; ++c) {
            dp += d_out[index_of(s, b, i, h, c)] * v[index_of(s, b, j, h, c)];
          }
          ds[i * s.seq + j] = dp;
          row_term += p[i * s.seq + j] * dp;
        }
        for (int j = 0; j <= i; ++j)
          ds[i * s.seq + j] = p[i * s.seq + j] * (ds[i * s.seq + j] - row_term);
      }
      for (int i = 0; i < s.seq; ++i) {
        for (int j = 0; j <= i; ++j) {
          for (int c = 0; c < s.head_dim; ++c) {
            const double pij = p[i * s.seq + j];
            const double dsij = ds[i * s.seq + j];
            g.dv[index_of(s, b, j, h, c)] += pij * d_out[index_of(s, b, i, h, c)];
            g.dq[index_of(s, b, i, h, c)] += scale * dsij * k[index_of(s, b, j, h, c)];
            g.dk[index_of(s, b, j, h, c)] += scale * dsij * q[index_of(s, b, i, h, c)];
          }
        }
      }
    }
  }
  return g;
}

// --- library calls -------------------------------------------------------------------------

template <class T>
struct Forward {
  Matrix<T> out;
  Tensor3<float> lse;
};

template <class T>
Forward<T> flash_forward(const AttentionShape& s, const Matrix<T>& q, const Matrix<T>& k,
                         const Matrix<T>& v) {
  Forward<T> f{Matrix<T>("out", s.tokens(), s.width()),
               Tensor3<float>("lse", s.batch, s.heads, s.seq)};
  galore::attention_forward<T>(ExecSpace(), s, q, k, v, f.out, f.lse);
  ExecSpace().fence();
  return f;
}

template <class T>
struct DeviceGradients {
  Matrix<T> dq, dk, dv;
};

// Backward with gradient buffers pre-filled with junk, so that "overwrite" is checked too.
template <class T>
DeviceGradients<T> flash_backward(const AttentionShape& s, const Matrix<T>& q, const Matrix<T>& k,
                                  const Matrix<T>& v, const Forward<T>& f, const Matrix<T>& d_out) {
  DeviceGradients<T> g{Matrix<T>("dq", s.tokens(), s.width()),
                       Matrix<T>("dk", s.tokens(), s.width()),
                       Matrix<T>("dv", s.tokens(), s.width())};
  // A named array: nvcc's host code turns a braced list in a range-for of a template into a comma
  // expression.
  const Matrix<T> buffers[] = {g.dq, g.dk, g.dv};
  for (const auto& x : buffers) Kokkos::deep_copy(x, galore::from_float<T>(7.0f));
  galore::attention_backward<T>(ExecSpace(), s, q, k, v, f.out, f.lse, d_out, g.dq, g.dk, g.dv);
  ExecSpace().fence();
  return g;
}

// L = sum(out * weights), summed in double from an fp32 forward pass.
double weighted_output(const AttentionShape& s, const Matrix<float>& q, const Matrix<float>& k,
                       const Matrix<float>& v, const HostValues& weights) {
  return dot(to_host(flash_forward(s, q, k, v).out), weights);
}

// Central differences of `loss` with respect to sampled entries of `x` (restored afterwards),
// against `analytic`; returns ||fd - analytic|| / ||analytic|| over the sample. The divisor is
// the step actually taken after rounding x +- eps to fp32.
double finite_difference_error(const Matrix<float>& x, const HostValues& analytic,
                               const std::function<double()>& loss) {
  const float eps = 1e-2f;
  const auto host = Kokkos::create_mirror_view_and_copy(galore::HostSpace(), x);
  float* values = host.data();
  double diff2 = 0.0;
  double norm2 = 0.0;
  for (std::size_t n = 0; n < 24; ++n) {
    const std::size_t e = (7919 * n + 13) % host.size();
    const float original = values[e];
    values[e] = original + eps;
    const double step = static_cast<double>(values[e]);
    Kokkos::deep_copy(x, host);
    const double plus = loss();
    values[e] = original - eps;
    const double width = step - static_cast<double>(values[e]);
    Kokkos::deep_copy(x, host);
    const double minus = loss();
    values[e] = original;
    Kokkos::deep_copy(x, host);
    const double fd = (plus - minus) / width;
    INFO("entry " << e << ": finite difference " << fd << ", analytic " << analytic[e]);
    CHECK(std::abs(fd - analytic[e]) <= 2e-3 * std::max(std::abs(analytic[e]), 0.05));
    diff2 += (fd - analytic[e]) * (fd - analytic[e]);
    norm2 += analytic[e] * analytic[e];
  }
  return std::sqrt(diff2 / norm2);
}

// A direct evaluation of HF's rotate-half RoPE in double: for i < d/2 the pair
// (x_i, x_{i+d/2}) at position s turns by s * theta^(-2i/d).
HostValues reference_rope(const AttentionShape& s, double theta, const HostValues& x) {
  HostValues y(x.size());
  const int half = s.head_dim / 2;
  for (int b = 0; b < s.batch; ++b) {
    for (int pos = 0; pos < s.seq; ++pos) {
      for (int h = 0; h < s.heads; ++h) {
        for (int i = 0; i < half; ++i) {
          const double angle = pos * std::pow(theta, -2.0 * i / s.head_dim);
          const double x1 = x[index_of(s, b, pos, h, i)];
          const double x2 = x[index_of(s, b, pos, h, i + half)];
          y[index_of(s, b, pos, h, i)] = x1 * std::cos(angle) - x2 * std::sin(angle);
          y[index_of(s, b, pos, h, i + half)] = x2 * std::cos(angle) + x1 * std::sin(angle);
        }
      }
    }
  }
  return y;
}

}  // namespace

TEST_CASE("tiled attention forward equals the naive kernel and the double reference",
          "[attention]") {
  for (const AttentionShape& s : kShapes) {
    INFO("batch " << s.batch << " seq " << s.seq << " heads " << s.heads << " head_dim "
                  << s.head_dim);
    const Matrix<float> q = random_activations(s, 1);
    const Matrix<float> k = random_activations(s, 2);
    const Matrix<float> v = random_activations(s, 3);
    const Forward<float> flash = flash_forward(s, q, k, v);
    Matrix<float> naive("naive", s.tokens(), s.width());
    galore::attention_forward_naive<float>(ExecSpace(), s, q, k, v, naive);
    ExecSpace().fence();
    const ReferenceForward reference = reference_forward(s, to_host(q), to_host(k), to_host(v));

    const HostValues out = to_host(flash.out);
    CHECK(relative_error(out, to_host(naive)) < 1e-5);
    CHECK(relative_error(out, reference.out) < 1e-5);
    CHECK(relative_error(to_host(naive), reference.out) < 1e-5);
    CHECK(relative_error(to_host(flash.lse), reference.lse) < 1e-5);
  }
}

TEST_CASE("attention outputs do not depend on later keys or values", "[attention]") {
  const AttentionShape s{2, 50, 2, 8};
  const Matrix<float> q = random_activations(s, 4);
  const Matrix<float> k = random_activations(s, 5);
  const Matrix<float> v = random_activations(s, 6);
  const HostValues before = to_host(flash_forward(s, q, k, v).out);
  const HostValues other_k = to_host(random_activations(s, 7, 10.0f));
  const HostValues other_v = to_host(random_activations(s, 8, 10.0f));
  for (const int cut : {0, 20, 31, 37}) {
    INFO("keys and values replaced after position " << cut);
    const auto k_host = Kokkos::create_mirror(k);  // a copy even where k is host memory
    const auto v_host = Kokkos::create_mirror(v);
    Kokkos::deep_copy(k_host, k);
    Kokkos::deep_copy(v_host, v);
    for (int b = 0; b < s.batch; ++b) {
      for (int pos = cut + 1; pos < s.seq; ++pos) {
        for (int col = 0; col < s.width(); ++col) {
          const std::size_t e = index_of(s, b, pos, 0, col);
          k_host(b * s.seq + pos, col) = static_cast<float>(other_k[e]);
          v_host(b * s.seq + pos, col) = static_cast<float>(other_v[e]);
        }
      }
    }
    const Matrix<float> k2("k2", s.tokens(), s.width());
    const Matrix<float> v2("v2", s.tokens(), s.width());
    Kokkos::deep_copy(k2, k_host);
    Kokkos::deep_copy(v2, v_host);
    const HostValues after = to_host(flash_forward(s, q, k2, v2).out);
    bool later_rows_changed = false;
    for (int b = 0; b < s.batch; ++b) {
      for (int pos = 0; pos < s.seq; ++pos) {
        for (int col = 0; col < s.width(); ++col) {
          const std::size_t e = index_of(s, b, pos, 0, col);
          if (pos <= cut) {
            REQUIRE(after[e] == before[e]);  // masked terms contribute exact zeros
          } else if (after[e] != before[e]) {
            later_rows_changed = true;
          }
        }
      }
    }
    CHECK(later_rows_changed);
  }
}

TEST_CASE("attention backward matches central finite differences", "[attention]") {
  const AttentionShape s{2, 37, 2, 8};  // two query and key tiles, the second one short
  const Matrix<float> q = random_activations(s, 9);
  const Matrix<float> k = random_activations(s, 10);
  const Matrix<float> v = random_activations(s, 11);
  const Matrix<float> weights = random_activations(s, 12);
  const HostValues w = to_host(weights);
  const DeviceGradients<float> g = flash_backward(s, q, k, v, flash_forward(s, q, k, v), weights);
  const auto loss = [&] { return weighted_output(s, q, k, v, w); };
  CHECK(finite_difference_error(q, to_host(g.dq), loss) < 1e-3);
  CHECK(finite_difference_error(k, to_host(g.dk), loss) < 1e-3);
  CHECK(finite_difference_error(v, to_host(g.dv), loss) < 1e-3);
}

TEST_CASE("tiled attention backward equals the gradient of the naive formula", "[attention]") {
  for (const AttentionShape& s : kShapes) {
    INFO("batch " << s.batch << " seq " << s.seq << " heads " << s.heads << " head_dim "
                  << s.head_dim);
    const Matrix<float> q = random_activations(s, 13);
    const Matrix<float> k = random_activations(s, 14);
    const Matrix<float> v = random_activations(s, 15);
    const Matrix<float> d_out = random_activations(s, 16);
    const DeviceGradients<float> g = flash_backward(s, q, k, v, flash_forward(s, q, k, v), d_out);
    const Gradients reference =
        reference_backward(s, to_host(q), to_host(k), to_host(v), to_host(d_out));
    CHECK(relative_error(to_host(g.dq), reference.dq) < 1e-5);
    CHECK(relative_error(to_host(g.dk), reference.dk) < 1e-5);
    CHECK(relative_error(to_host(g.dv), reference.dv) < 1e-5);
  }
}

TEST_CASE("RoPE rotates pairs as HF's rotate-half does, and backward is its transpose",
          "[attention][rope]") {
  const AttentionShape s{2, 40, 3, 8};
  for (const float theta : {10000.0f, 500.0f}) {
    INFO("theta " << theta);
    const Matrix<float> x = random_activations(s, 17);
    const Matrix<float> rotated = copy_of(x);
    galore::rope_forward<float>(ExecSpace(), s, theta, rotated);
    ExecSpace().fence();
    const HostValues rx = to_host(rotated);
    // fp32 angles and products, as HF computes them, against the double evaluation.
    CHECK(relative_error(rx, reference_rope(s, theta, to_host(x))) < 2e-6);

    const Matrix<float> back = copy_of(rotated);
    galore::rope_backward<float>(ExecSpace(), s, theta, back);
    ExecSpace().fence();
    CHECK(relative_error(to_host(back), to_host(x)) < 1e-6);

    // <R x, y> == <x, R^T y>
    const Matrix<float> y = random_activations(s, 18);
    const Matrix<float> rty = copy_of(y);
    galore::rope_backward<float>(ExecSpace(), s, theta, rty);
    ExecSpace().fence();
    const double lhs = dot(rx, to_host(y));
    const double rhs = dot(to_host(x), to_host(rty));
    const double norms = std::sqrt(dot(to_host(x), to_host(x)) * dot(to_host(y), to_host(y)));
    CHECK(std::abs(lhs - rhs) < 1e-6 * norms);
  }
  Matrix<float> odd("odd", 4, 6);
  CHECK_THROWS_AS(galore::rope_forward<float>(ExecSpace(), {1, 4, 2, 3}, 10000.0f, odd),
                  galore::ShapeError);
  Matrix<float> even("even", 4, 8);
  CHECK_THROWS_AS(galore::rope_forward<float>(ExecSpace(), {1, 4, 2, 4}, 0.0f, even),
                  galore::ConfigError);
}

TEST_CASE("RoPE followed by attention matches central finite differences", "[attention][rope]") {
  const AttentionShape s{1, 35, 2, 8};
  const float theta = 10000.0f;
  const Matrix<float> q = random_activations(s, 19);
  const Matrix<float> k = random_activations(s, 20);
  const Matrix<float> v = random_activations(s, 21);
  const Matrix<float> weights = random_activations(s, 22);
  const HostValues w = to_host(weights);
  const auto rotated = [&](const Matrix<float>& x) {
    const Matrix<float> r = copy_of(x);
    galore::rope_forward<float>(ExecSpace(), s, theta, r);
    return r;
  };
  const auto loss = [&] { return weighted_output(s, rotated(q), rotated(k), v, w); };

  const Matrix<float> qr = rotated(q);
  const Matrix<float> kr = rotated(k);
  const DeviceGradients<float> g =
      flash_backward(s, qr, kr, v, flash_forward(s, qr, kr, v), weights);
  galore::rope_backward<float>(ExecSpace(), s, theta, g.dq);
  galore::rope_backward<float>(ExecSpace(), s, theta, g.dk);
  ExecSpace().fence();
  CHECK(finite_difference_error(q, to_host(g.dq), loss) < 1e-3);
  CHECK(finite_difference_error(k, to_host(g.dk), loss) < 1e-3);
}

TEST_CASE("bf16 attention and RoPE stay close to fp32", "[attention][bf16]") {
  const AttentionShape s{2, 45, 2, 16};
  const Matrix<float> q = random_activations(s, 23);
  const Matrix<float> k = random_activations(s, 24);
  const Matrix<float> v = random_activations(s, 25);
  const Matrix<float> d_out = random_activations(s, 26);
  const Forward<float> f32 = flash_forward(s, q, k, v);
  const Forward<bf16> f16 =
      flash_forward(s, converted<bf16>(q), converted<bf16>(k), converted<bf16>(v));
  // Inputs and output each carry bf16's 2^-9 relative rounding.
  CHECK(relative_error(to_host(f16.out), to_host(f32.out)) < 2e-2);
  CHECK(relative_error(to_host(f16.lse), to_host(f32.lse)) < 2e-2);

  const DeviceGradients<float> g32 = flash_backward(s, q, k, v, f32, d_out);
  const DeviceGradients<bf16> g16 = flash_backward(s, converted<bf16>(q), converted<bf16>(k),
                                                   converted<bf16>(v), f16, converted<bf16>(d_out));
  CHECK(relative_error(to_host(g16.dq), to_host(g32.dq)) < 2e-2);
  CHECK(relative_error(to_host(g16.dk), to_host(g32.dk)) < 2e-2);
  CHECK(relative_error(to_host(g16.dv), to_host(g32.dv)) < 2e-2);

  const Matrix<float> r32 = copy_of(q);
  const Matrix<bf16> r16 = converted<bf16>(q);
  galore::rope_forward<float>(ExecSpace(), s, 10000.0f, r32);
  galore::rope_forward<bf16>(ExecSpace(), s, 10000.0f, r16);
  ExecSpace().fence();
  CHECK(relative_error(to_host(r16), to_host(r32)) < 1e-2);
}

TEST_CASE("attention refuses mismatched shapes", "[attention]") {
  const AttentionShape s{2, 6, 2, 4};
  const Matrix<float> q = random_activations(s, 27);
  Matrix<float> out("out", s.tokens(), s.width());
  Matrix<float> short_k("k", s.tokens() - 1, s.width());
  Tensor3<float> lse("lse", s.batch, s.heads, s.seq);
  Tensor3<float> bad_lse("lse", s.batch, s.seq, s.heads);
  CHECK_THROWS_AS(galore::attention_forward<float>(ExecSpace(), s, q, short_k, q, out, lse),
                  galore::ShapeError);
  CHECK_THROWS_AS(galore::attention_forward<float>(ExecSpace(), s, q, q, q, out, bad_lse),
                  galore::ShapeError);
  CHECK_THROWS_AS(galore::attention_forward<float>(ExecSpace(), {2, 6, 2, 0}, q, q, q, out, lse),
                  galore::ShapeError);
}
