// Lorenz-96 right-hand side and the RK4 step.
#include "io/data/lorenz96.hpp"

#include "galore/core/error.hpp"

#include <string>

namespace galore::data {

Lorenz96::Lorenz96(int variables, double forcing) : variables_(variables), forcing_(forcing) {
  if (variables < 4) {
    throw ConfigError("Lorenz-96: " + std::to_string(variables) +
                      " variables; the system needs at least 4");
  }
  for (auto* buffer : {&k1_, &k2_, &k3_, &k4_, &stage_}) buffer->resize(variables);
}

void Lorenz96::derivative(const double* x, double* dxdt) const {
  const int n = variables_;
  auto at = [&](int i) {  // cyclic index, only needed at the two ends
    return x[(i + n) % n];
  };
  dxdt[0] = (x[1] - at(-2)) * at(-1) - x[0] + forcing_;
  dxdt[1] = (x[2] - at(-1)) * x[0] - x[1] + forcing_;
  for (int i = 2; i < n - 1; ++i) {
    dxdt[i] = (x[i + 1] - x[i - 2]) * x[i - 1] - x[i] + forcing_;
  }
  dxdt[n - 1] = (x[0] - x[n - 3]) * x[n - 2] - x[n - 1] + forcing_;
}

void Lorenz96::rk4_step(std::vector<double>& x, double dt) {
  const int n = variables_;
  derivative(x.data(), k1_.data());
  for (int i = 0; i < n; ++i) stage_[i] = x[i] + 0.5 * dt * k1_[i];
  derivative(stage_.data(), k2_.data());
  for (int i = 0; i < n; ++i) stage_[i] = x[i] + 0.5 * dt * k2_[i];
  derivative(stage_.data(), k3_.data());
  for (int i = 0; i < n; ++i) stage_[i] = x[i] + dt * k3_[i];
  derivative(stage_.data(), k4_.data());
  for (int i = 0; i < n; ++i) x[i] += dt / 6.0 * (k1_[i] + 2.0 * k2_[i] + 2.0 * k3_[i] + k4_[i]);
}

}  // namespace galore::data
