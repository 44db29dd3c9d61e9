// SwiGLU reference (see swiglu.hpp): out = g sigmoid(g) u.
#include "tests/cuda/reference/swiglu.hpp"

#include <cmath>
#include <cstddef>

namespace galore::kernels::cuda::reference {

namespace {
double sigmoid(double g) { return 1.0 / (1.0 + std::exp(-g)); }
}  // namespace

std::vector<double> swiglu_forward(const std::vector<double>& gate, const std::vector<double>& up) {
  std::vector<double> out(gate.size());
  for (std::size_t i = 0; i < gate.size(); ++i) out[i] = gate[i] * sigmoid(gate[i]) * up[i];
  return out;
}

void swiglu_backward(const std::vector<double>& gate, const std::vector<double>& up,
                     const std::vector<double>& d_out, std::vector<double>& d_gate,
                     std::vector<double>& d_up) {
  d_gate.assign(gate.size(), 0.0);
  d_up.assign(gate.size(), 0.0);
  for (std::size_t i = 0; i < gate.size(); ++i) {
    const double g = gate[i];
    const double s = sigmoid(g);
    d_gate[i] = d_out[i] * up[i] * s * (1.0 + g * (1.0 - s));
    d_up[i] = d_out[i] * g * s;
  }
}

}  // namespace galore::kernels::cuda::reference
