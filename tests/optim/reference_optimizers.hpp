// Closed-form optimizer references in double precision on host vectors, written from the update
// rules in the papers / galore_torch (not from our kernels), for element-wise comparisons.
#pragma once

#include <cmath>
#include <cstddef>
#include <vector>

namespace optim_test {

struct AdamMoments {
  std::vector<double> m, v;
  explicit AdamMoments(std::size_t n = 0) : m(n, 0.0), v(n, 0.0) {}
};

// galore_torch AdamW direction: sqrt(1-b2^t)/(1-b1^t) * m / (sqrt(v) + eps). Updates `s`.
inline std::vector<double> adamw_direction(const std::vector<double>& g, AdamMoments& s, int t,
                                           double b1, double b2, double eps) {
  std::vector<double> d(g.size());
  const double factor = std::sqrt(1 - std::pow(b2, t)) / (1 - std::pow(b1, t));
  for (std::size_t i = 0; i < g.size(); ++i) {
    s.m[i] = b1 * s.m[i] + (1 - b1) * g[i];
    s.v[i] = b2 * s.v[i] + (1 - b2) * g[i] * g[i];
    d[i] = factor * s.m[i] / (std::sqrt(s.v[i]) + eps);
  }
  return d;
}

// W <- (W - lr * scale * D) (1 - lr * wd)
inline void apply_adamw(std::vector<double>& w, const std::vector<double>& d, double lr,
                        double scale, double wd) {
  for (std::size_t i = 0; i < w.size(); ++i) {
    w[i] -= lr * scale * d[i];
    w[i] -= lr * wd * w[i];
  }
}

// Row-major products: C [m x n] = op(A) op(B).
inline std::vector<double> matmul(const std::vector<double>& a, bool ta, int a_rows, int a_cols,
                                  const std::vector<double>& b, bool tb, int b_rows, int b_cols) {
  const int m = ta ? a_cols : a_rows, k = ta ? a_rows : a_cols, n = tb ? b_rows : b_cols;
  std::vector<double> c(static_cast<std::size_t>(m) * n, 0.0);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double s = 0;
      for (int p = 0; p < k; ++p) {
        const double x = ta ? a[p * a_cols + i] : a[i * a_cols + p];
        const double y = tb ? b[j * b_cols + p] : b[p * b_cols + j];
        s += x * y;
      }
      c[i * n + j] = s;
    }
  return c;
}

// Adafactor (galore_torch / transformers, external lr, scale_parameter off) on a rows x cols
// tensor.
struct AdafactorState {
  std::vector<double> row, col, v, m;
};
inline std::vector<double> adafactor_direction(const std::vector<double>& g, int rows, int cols,
                                               bool factored, AdafactorState& s, int t, double lr,
                                               double beta1, double eps1, double clip,
                                               double decay_rate) {
  const double beta2t = 1 - std::pow(double(t), decay_rate);
  std::vector<double> u(g.size());
  if (factored) {
    if (s.row.empty()) s.row.assign(rows, 0.0), s.col.assign(cols, 0.0);
    for (int i = 0; i < rows; ++i) {
      double mean = 0;
      for (int j = 0; j < cols; ++j) mean += (g[i * cols + j] * g[i * cols + j] + eps1) / cols;
      s.row[i] = beta2t * s.row[i] + (1 - beta2t) * mean;
    }
    for (int j = 0; j < cols; ++j) {
      double mean = 0;
      for (int i = 0; i < rows; ++i) mean += (g[i * cols + j] * g[i * cols + j] + eps1) / rows;
      s.col[j] = beta2t * s.col[j] + (1 - beta2t) * mean;
    }
    double row_mean = 0;
    for (double r : s.row) row_mean += r / rows;
    for (int i = 0; i < rows; ++i)
      for (int j = 0; j < cols; ++j)
        u[i * cols + j] = g[i * cols + j] / std::sqrt(s.row[i] / row_mean) / std::sqrt(s.col[j]);
  } else {
    if (s.v.empty()) s.v.assign(g.size(), 0.0);
    for (std::size_t i = 0; i < g.size(); ++i) {
      s.v[i] = beta2t * s.v[i] + (1 - beta2t) * (g[i] * g[i] + eps1);
      u[i] = g[i] / std::sqrt(s.v[i]);
    }
  }
  double ss = 0;
  for (double x : u) ss += x * x;
  const double rms = std::sqrt(ss / u.size());
  const double divisor = std::max(1.0, rms / clip);
  for (double& x : u) x = x / divisor * lr;
  if (beta1 > 0) {
    if (s.m.empty()) s.m.assign(g.size(), 0.0);
    for (std::size_t i = 0; i < u.size(); ++i) {
      s.m[i] = beta1 * s.m[i] + (1 - beta1) * u[i];
      u[i] = s.m[i];
    }
  }
  return u;
}

}  // namespace optim_test
