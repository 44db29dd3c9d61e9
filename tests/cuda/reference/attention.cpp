// Naive attention reference (see attention.hpp).
#include "tests/cuda/reference/attention.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

namespace galore::kernels::cuda::reference {

namespace {

double score_scale(int head_dim) {
  return static_cast<double>(1.0f / std::sqrt(static_cast<float>(head_dim)));
}

// Element (token t, head h, column c) of a dense activation.
std::size_t at(const AttentionShape& s, std::size_t t, int h, int c) {
  return t * static_cast<std::size_t>(s.heads * s.head_dim) +
         static_cast<std::size_t>(h * s.head_dim + c);
}

double dot(const AttentionShape& s, const std::vector<double>& x, std::size_t tx,
           const std::vector<double>& y, std::size_t ty, int h) {
  double sum = 0.0;
  for (int c = 0; c < s.head_dim; ++c) sum += x[at(s, tx, h, c)] * y[at(s, ty, h, c)];
  return sum;
}

// Probabilities P[i][j] (j <= i) of one (batch, head) from rotated q and k, and each row's lse.
void probabilities(const AttentionShape& s, const std::vector<double>& qr,
                   const std::vector<double>& kr, int b, int h, std::vector<double>& p,
                   std::vector<double>& lse) {
  const double scale = score_scale(s.head_dim);
  const std::size_t row0 = static_cast<std::size_t>(b) * s.seq;
  p.assign(static_cast<std::size_t>(s.seq) * s.seq, 0.0);
  lse.assign(s.seq, 0.0);
  for (int i = 0; i < s.seq; ++i) {
    double max_score = -std::numeric_limits<double>::infinity();
    for (int j = 0; j <= i; ++j) {
      const double score = scale * dot(s, qr, row0 + i, kr, row0 + j, h);
      p[static_cast<std::size_t>(i) * s.seq + j] = score;
      max_score = std::max(max_score, score);
    }
    double sum = 0.0;
    for (int j = 0; j <= i; ++j)
      sum += std::exp(p[static_cast<std::size_t>(i) * s.seq + j] - max_score);
    lse[i] = max_score + std::log(sum);
    for (int j = 0; j <= i; ++j) {
      double& value = p[static_cast<std::size_t>(i) * s.seq + j];
      value = std::exp(value - lse[i]);
    }
  }
}

}  // namespace

void rope(const AttentionShape& s, std::vector<double>& x, bool inverse) {
  if (s.rope_theta == 0.0f) return;
  const int half = s.head_dim / 2;
  const std::size_t tokens = static_cast<std::size_t>(s.batch) * s.seq;
  for (std::size_t t = 0; t < tokens; ++t) {
    const int pos = static_cast<int>(t % static_cast<std::size_t>(s.seq));
    for (int h = 0; h < s.heads; ++h) {
      for (int i = 0; i < half; ++i) {
        const float inv_freq = 1.0f / std::pow(s.rope_theta, static_cast<float>(2 * i) /
                                                                 static_cast<float>(s.head_dim));
        const double angle = static_cast<double>(static_cast<float>(pos) * inv_freq);
        const double cos_a = std::cos(angle);
        const double sin_a = inverse ? -std::sin(angle) : std::sin(angle);
        double& x1 = x[at(s, t, h, i)];
        double& x2 = x[at(s, t, h, i + half)];
        const double rotated = x1 * cos_a - x2 * sin_a;
        x2 = x2 * cos_a + x1 * sin_a;
        x1 = rotated;
      }
    }
  }
}

void attention_forward(const AttentionShape& s, const std::vector<double>& q,
                       const std::vector<double>& k, const std::vector<double>& v,
                       std::vector<double>& out, std::vector<double>& lse) {
  std::vector<double> qr = q;
  std::vector<double> kr = k;
  rope(s, qr, false);
  rope(s, kr, false);
  out.assign(q.size(), 0.0);
  lse.assign(static_cast<std::size_t>(s.batch) * s.heads * s.seq, 0.0);
  std::vector<double> p;
  std::vector<double> row_lse;
  for (int b = 0; b < s.batch; ++b) {
    const std::size_t row0 = static_cast<std::size_t>(b) * s.seq;
    for (int h = 0; h < s.heads; ++h) {
      probabilities(s, qr, kr, b, h, p, row_lse);
      for (int i = 0; i < s.seq; ++i) {
        lse[(static_cast<std::size_t>(b) * s.heads + h) * s.seq + i] = row_lse[i];
        for (int c = 0; c < s.head_dim; ++c) {
          double sum = 0.0;
          for (int j = 0; j <= i; ++j) {
            sum += p[static_cast<std::size_t>(i) * s.seq + j] * v[at(s, row0 + j, h, c)];
          }
          out[at(s, row0 + i, h, c)] = sum;
        }
      }
    }
  }
}

AttentionGradients attention_backward(const AttentionShape& s, const std::vector<double>& q,
                                      const std::vector<double>& k, const std::vector<double>& v,
                                      const std::vector<double>& out,
                                      const std::vector<double>& d_out) {
  const double scale = score_scale(s.head_dim);
  std::vector<double> qr = q;
  std::vector<double> kr = k;
  rope(s, qr, false);
  rope(s, kr, false);
  AttentionGradients g{std::vector<double>(q.size(), 0.0), std::vector<double>(q.size(), 0.0),
                       std::vector<double>(q.size(), 0.0)};
  std::vector<double> p;
  std::vector<double> row_lse;
  for (int b = 0; b < s.batch; ++b) {
    const std::size_t row0 = static_cast<std::size_t>(b) * s.seq;
    for (int h = 0; h < s.heads; ++h) {
      probabilities(s, qr, kr, b, h, p, row_lse);
      for (int i = 0; i < s.seq; ++i) {
        const double row_term = dot(s, d_out, row0 + i, out, row0 + i, h);
        for (int j = 0; j <= i; ++j) {
          const double pij = p[static_cast<std::size_t>(i) * s.seq + j];
          const double ds = pij * (dot(s, d_out, row0 + i, v, row0 + j, h) - row_term);
          for (int c = 0; c < s.head_dim; ++c) {
            g.dv[at(s, row0 + j, h, c)] += pij * d_out[at(s, row0 + i, h, c)];
            g.dq[at(s, row0 + i, h, c)] += scale * ds * kr[at(s, row0 + j, h, c)];
            g.dk[at(s, row0 + j, h, c)] += scale * ds * qr[at(s, row0 + i, h, c)];
          }
        }
      }
    }
  }
  rope(s, g.dq, true);
  rope(s, g.dk, true);
  return g;
}

}  // namespace galore::kernels::cuda::reference
