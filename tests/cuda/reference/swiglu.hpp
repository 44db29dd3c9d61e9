// CPU reference for kernels/cuda/swiglu.hpp, in double, element-wise on dense vectors.
#pragma once

#include <vector>

namespace galore::kernels::cuda::reference {

std::vector<double> swiglu_forward(const std::vector<double>& gate, const std::vector<double>& up);

void swiglu_backward(const std::vector<double>& gate, const std::vector<double>& up,
                     const std::vector<double>& d_out, std::vector<double>& d_gate,
                     std::vector<double>& d_up);

}  // namespace galore::kernels::cuda::reference
