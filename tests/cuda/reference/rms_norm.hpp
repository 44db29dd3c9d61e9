// CPU reference for kernels/cuda/rms_norm.hpp, in double. Matrices are dense [rows, n].
#pragma once

#include <vector>

namespace galore::kernels::cuda::reference {

void rms_norm_forward(int rows, int n, double eps, const std::vector<double>& x,
                      const std::vector<double>& weight, std::vector<double>& y,
                      std::vector<double>& rstd);

// dx += dL/dx, d_weight += dL/dweight, using the forward's rstd.
void rms_norm_backward(int rows, int n, const std::vector<double>& x,
                       const std::vector<double>& weight, const std::vector<double>& rstd,
                       const std::vector<double>& dy, std::vector<double>& dx,
                       std::vector<double>& d_weight);

}  // namespace galore::kernels::cuda::reference
