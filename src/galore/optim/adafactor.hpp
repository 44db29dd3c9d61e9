// Adafactor (Shazeer & Stern 2018) as galore_torch's Adafactor applies it, with an external
// learning rate (scale_parameter off; relative_step optional, off by default):
//   beta2_t = 1 - t^decay_rate ;  S = g^2 + eps1
//   factored (2-D weights):  r <- beta2_t r + (1 - beta2_t) mean_cols(S)   [rows]
//                            c <- beta2_t c + (1 - beta2_t) mean_rows(S)   [cols]
//                            U = g / sqrt(r_i / mean(r)) / sqrt(c_j)
//   otherwise:               v <- beta2_t v + (1 - beta2_t) S ;  U = g / sqrt(v)
//   U <- U / max(1, RMS(U) / clip_threshold) * lr_t
//   with a first moment (beta1 > 0):  m <- beta1 m + (1 - beta1) U ;  U = m
//   W <- W (1 - wd lr_t) - scale * U                         (decay before the update)
// lr_t = lr, or min(1e-2, 1/sqrt(t)) with relative_step. Statistics are fp32.
#pragma once

#include "galore/optim/moment_rule.hpp"

namespace galore {

class AdafactorRule final : public MomentRule {
 public:
  AdafactorRule(const OptimizerConfig& config, int rows, int cols, bool factored);

  void compute_direction(const ExecSpace& space, const Matrix<float>& buffer, std::int64_t t,
                         float lr, const int* skip) override;
  UpdateCoefficients coefficients(std::int64_t t, float lr) const override;
  void rotate_subspace(const ExecSpace& space, const Matrix<float>& left,
                       const Matrix<float>& right) override;
  void visit_state(const std::string& prefix, const StateVisitor& visitor) override;

 private:
  float step_lr(std::int64_t t, float lr) const;

  float beta1_, eps1_, clip_threshold_, decay_rate_, weight_decay_;
  bool relative_step_, factored_;
  Matrix<float> row_;                        // [rows x 1] factored running average
  Matrix<float> col_;                        // [1 x cols] factored running average
  Matrix<float> exp_avg_sq_;                 // [rows x cols] when not factored
  Matrix<float> exp_avg_;                    // [rows x cols] when beta1 > 0
  Kokkos::View<float, MemSpace> row_mean_;   // per-step scalars kept on the device so the update
  Kokkos::View<float, MemSpace> update_ss_;  // needs no host synchronisation
};

}  // namespace galore
