// AdamW (Loshchilov & Hutter 2019) exactly as galore_torch's AdamW applies it:
//   m <- b1 m + (1 - b1) g ;  v <- b2 v + (1 - b2) g^2
//   D  = sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)     (eps on the uncorrected sqrt(v))
//   W <- W - lr * scale * D ;  W <- W - lr * wd * W            (decay after the update, no alpha)
// Moments are fp32 whatever the weight dtype (docs/precision.md).
#pragma once

#include "galore/optim/moment_rule.hpp"

namespace galore {

class AdamWRule final : public MomentRule {
 public:
  AdamWRule(const OptimizerConfig& config, int rows, int cols);

  void compute_direction(const ExecSpace& space, const Matrix<float>& buffer, std::int64_t t,
                         float lr, const int* skip) override;
  UpdateCoefficients coefficients(std::int64_t t, float lr) const override;
  void rotate_subspace(const ExecSpace& space, const Matrix<float>& left,
                       const Matrix<float>& right) override;
  void visit_state(const std::string& prefix, const StateVisitor& visitor) override;

 private:
  float beta1_, beta2_, eps_, weight_decay_;
  Matrix<float> exp_avg_;
  Matrix<float> exp_avg_sq_;
};

}  // namespace galore
