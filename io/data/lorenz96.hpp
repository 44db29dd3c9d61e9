// The Lorenz-96 system (Lorenz 1996), the chaotic toy atmosphere behind the built-in corpus:
//   dx_i/dt = (x_{i+1} - x_{i-2}) x_{i-1} - x_i + F,   i = 0..N-1, indices cyclic,
// integrated with the classical fourth-order Runge-Kutta scheme.
#pragma once

#include <vector>

namespace galore::data {

class Lorenz96 {
 public:
  // ConfigError when variables < 4 (the stencil reaches i-2..i+1 and must not alias).
  Lorenz96(int variables, double forcing);

  int variables() const { return variables_; }
  double forcing() const { return forcing_; }

  // dxdt = f(x); both arrays hold variables() values.
  void derivative(const double* x, double* dxdt) const;
  // One RK4 step of size dt, in place: x += dt/6 (k1 + 2 k2 + 2 k3 + k4).
  void rk4_step(std::vector<double>& x, double dt);

 private:
  int variables_;
  double forcing_;
  std::vector<double> k1_, k2_, k3_, k4_, stage_;  // scratch reused across steps
};

}  // namespace galore::data
