// RMSNorm reference (see rms_norm.hpp):
//   y_j = w_j x_j r,  r = (mean_k x_k^2 + eps)^(-1/2)
//   dx_k = r dy_k w_k - (r^3 / n) x_k sum_j dy_j w_j x_j,   dw_j = sum_rows dy_j x_j r
#include "tests/cuda/reference/rms_norm.hpp"

#include <cmath>
#include <cstddef>

namespace galore::kernels::cuda::reference {

void rms_norm_forward(int rows, int n, double eps, const std::vector<double>& x,
                      const std::vector<double>& weight, std::vector<double>& y,
                      std::vector<double>& rstd) {
  y.assign(x.size(), 0.0);
  rstd.assign(rows, 0.0);
  for (int i = 0; i < rows; ++i) {
    const double* row = x.data() + static_cast<std::size_t>(i) * n;
    double sum_sq = 0.0;
    for (int j = 0; j < n; ++j) sum_sq += row[j] * row[j];
    const double r = 1.0 / std::sqrt(sum_sq / n + eps);
    rstd[i] = r;
    for (int j = 0; j < n; ++j) y[static_cast<std::size_t>(i) * n + j] = row[j] * r * weight[j];
  }
}

void rms_norm_backward(int rows, int n, const std::vector<double>& x,
                       const std::vector<double>& weight, const std::vector<double>& rstd,
                       const std::vector<double>& dy, std::vector<double>& dx,
                       std::vector<double>& d_weight) {
  for (int i = 0; i < rows; ++i) {
    const std::size_t row0 = static_cast<std::size_t>(i) * n;
    const double r = rstd[i];
    double dot = 0.0;
    for (int j = 0; j < n; ++j) dot += dy[row0 + j] * weight[j] * x[row0 + j];
    const double coef = r * r * r * dot / n;
    for (int j = 0; j < n; ++j) {
      dx[row0 + j] += r * dy[row0 + j] * weight[j] - coef * x[row0 + j];
      d_weight[j] += dy[row0 + j] * x[row0 + j] * r;
    }
  }
}

}  // namespace galore::kernels::cuda::reference
