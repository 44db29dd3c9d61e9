// AdamW moment update and direction (see adamw.hpp for the rule).
#include "galore/optim/adamw.hpp"

#include "galore/core/math.hpp"

#include <cmath>

namespace galore {

AdamWRule::AdamWRule(const OptimizerConfig& config, int rows, int cols)
    : beta1_(config.beta1),
      beta2_(config.beta2),
      eps_(config.eps),
      weight_decay_(config.weight_decay),
      exp_avg_("galore::adamw::exp_avg", rows, cols),
      exp_avg_sq_("galore::adamw::exp_avg_sq", rows, cols) {}

void AdamWRule::compute_direction(const ExecSpace& space, const Matrix<float>& buffer,
                                  std::int64_t t, float /*lr*/, const int* skip) {
  // Bias corrections folded into one step factor, as galore_torch does (computed in double on the
  // host so every backend uses the same value).
  const double td = static_cast<double>(t);
  const float step_factor = static_cast<float>(std::sqrt(1.0 - std::pow(double(beta2_), td)) /
                                               (1.0 - std::pow(double(beta1_), td)));
  const float b1 = beta1_, b2 = beta2_, eps = eps_;
  float* g = buffer.data();
  float* m = exp_avg_.data();
  float* v = exp_avg_sq_.data();
  Kokkos::parallel_for(
      "galore::adamw_direction", Kokkos::RangePolicy<ExecSpace>(space, 0, buffer.span()),
      KOKKOS_LAMBDA(const std::size_t i) {
        if (*skip) return;
        const float gi = g[i];
        const float mi = b1 * m[i] + (1.0f - b1) * gi;
        const float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        g[i] = step_factor * (mi / (math::sqrt(vi) + eps));
      });
}

UpdateCoefficients AdamWRule::coefficients(std::int64_t /*t*/, float lr) const {
  return {0.0f, lr, lr * weight_decay_};
}

void AdamWRule::rotate_subspace(const ExecSpace& space, const Matrix<float>& left,
                                const Matrix<float>& right) {
  rotate_state(space, exp_avg_, left, right, false);
  rotate_state(space, exp_avg_sq_, left, right, true);
}

void AdamWRule::visit_state(const std::string& prefix, const StateVisitor& visitor) {
  visitor(describe_state(prefix + ".exp_avg", exp_avg_));
  visitor(describe_state(prefix + ".exp_avg_sq", exp_avg_sq_));
}

}  // namespace galore
