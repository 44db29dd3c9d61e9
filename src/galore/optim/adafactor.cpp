// Adafactor statistics, update clipping and first moment (see adafactor.hpp for the rule).
#include "galore/optim/adafactor.hpp"

#include "galore/core/math.hpp"

#include <algorithm>
#include <cmath>

namespace galore {

using TeamMember = Kokkos::TeamPolicy<ExecSpace>::member_type;

AdafactorRule::AdafactorRule(const OptimizerConfig& config, int rows, int cols, bool factored)
    : beta1_(config.beta1),
      eps1_(config.adafactor_eps1),
      clip_threshold_(config.adafactor_clip_threshold),
      decay_rate_(config.adafactor_decay_rate),
      weight_decay_(config.weight_decay),
      relative_step_(config.adafactor_relative_step),
      factored_(factored),
      row_mean_("galore::adafactor::row_mean"),
      update_ss_("galore::adafactor::update_sum_squares") {
  if (factored_) {
    row_ = Matrix<float>("galore::adafactor::exp_avg_sq_row", rows, 1);
    col_ = Matrix<float>("galore::adafactor::exp_avg_sq_col", 1, cols);
  } else {
    exp_avg_sq_ = Matrix<float>("galore::adafactor::exp_avg_sq", rows, cols);
  }
  if (beta1_ > 0.0f) exp_avg_ = Matrix<float>("galore::adafactor::exp_avg", rows, cols);
}

float AdafactorRule::step_lr(std::int64_t t, float lr) const {
  if (!relative_step_) return lr;
  return static_cast<float>(std::min(1e-2, 1.0 / std::sqrt(static_cast<double>(t))));
}

void AdafactorRule::compute_direction(const ExecSpace& space, const Matrix<float>& buffer,
                                      std::int64_t t, float lr, const int* skip) {
  const int rows = static_cast<int>(buffer.extent(0));
  const int cols = static_cast<int>(buffer.extent(1));
  const float beta2t =
      static_cast<float>(1.0 - std::pow(static_cast<double>(t), double(decay_rate_)));
  const float eps1 = eps1_;
  const Matrix<float> g = buffer;

  if (factored_) {
    const Matrix<float> row = row_, col = col_;
    Kokkos::parallel_for(
        "galore::adafactor_rows", Kokkos::TeamPolicy<ExecSpace>(space, rows, Kokkos::AUTO),
        KOKKOS_LAMBDA(const TeamMember& team) {
          if (*skip) return;
          const int i = team.league_rank();
          float sum = 0.0f;
          Kokkos::parallel_reduce(
              Kokkos::TeamThreadRange(team, cols),
              [&](const int j, float& s) { s += g(i, j) * g(i, j) + eps1; }, sum);
          Kokkos::single(Kokkos::PerTeam(team), [&]() {
            row(i, 0) = beta2t * row(i, 0) + (1.0f - beta2t) * (sum / cols);
          });
        });
    Kokkos::parallel_for(
        "galore::adafactor_cols", Kokkos::TeamPolicy<ExecSpace>(space, cols, Kokkos::AUTO),
        KOKKOS_LAMBDA(const TeamMember& team) {
          if (*skip) return;
          const int j = team.league_rank();
          float sum = 0.0f;
          Kokkos::parallel_reduce(
              Kokkos::TeamThreadRange(team, rows),
              [&](const int i, float& s) { s += g(i, j) * g(i, j) + eps1; }, sum);
          Kokkos::single(Kokkos::PerTeam(team), [&]() {
            col(0, j) = beta2t * col(0, j) + (1.0f - beta2t) * (sum / rows);
          });
        });
    Kokkos::parallel_reduce(
        "galore::adafactor_row_mean", Kokkos::RangePolicy<ExecSpace>(space, 0, rows),
        KOKKOS_LAMBDA(const int i, float& s) { s += row(i, 0); }, row_mean_);
    const auto row_mean = row_mean_;
    Kokkos::parallel_reduce(
        "galore::adafactor_factored_update",
        Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>>(space, {0, 0}, {rows, cols}),
        KOKKOS_LAMBDA(const int i, const int j, float& ss) {
          const float mean = row_mean() / rows;
          const float u = g(i, j) / math::sqrt(row(i, 0) / mean) / math::sqrt(col(0, j));
          g(i, j) = u;
          ss += u * u;
        },
        update_ss_);
  } else {
    const Matrix<float> v = exp_avg_sq_;
    Kokkos::parallel_reduce(
        "galore::adafactor_unfactored_update",
        Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>>(space, {0, 0}, {rows, cols}),
        KOKKOS_LAMBDA(const int i, const int j, float& ss) {
          float vij = v(i, j);
          if (!*skip) {
            vij = beta2t * vij + (1.0f - beta2t) * (g(i, j) * g(i, j) + eps1);
            v(i, j) = vij;
          }
          const float u = g(i, j) / math::sqrt(vij);
          g(i, j) = u;
          ss += u * u;
        },
        update_ss_);
  }

  // Clip the update's RMS, scale by the step's lr, then the optional first moment.
  const float lr_t = step_lr(t, lr);
  const float clip = clip_threshold_;
  const float count = static_cast<float>(rows) * static_cast<float>(cols);
  const float beta1 = beta1_;
  const auto update_ss = update_ss_;
  const Matrix<float> m = exp_avg_;
  Kokkos::parallel_for(
      "galore::adafactor_clip", Kokkos::RangePolicy<ExecSpace>(space, 0, buffer.span()),
      KOKKOS_LAMBDA(const std::size_t k) {
        if (*skip) return;
        const float rms = math::sqrt(update_ss() / count);
        float u = g.data()[k] * (lr_t / math::max(1.0f, rms / clip));
        if (beta1 > 0.0f) {
          u = beta1 * m.data()[k] + (1.0f - beta1) * u;
          m.data()[k] = u;
        }
        g.data()[k] = u;
      });
}

UpdateCoefficients AdafactorRule::coefficients(std::int64_t t, float lr) const {
  return {weight_decay_ * step_lr(t, lr), 1.0f, 0.0f};
}

void AdafactorRule::rotate_subspace(const ExecSpace& space, const Matrix<float>& left,
                                    const Matrix<float>& right) {
  if (factored_) {
    // Row statistics live on the row axis (rotated by `left`), column statistics on the column
    // axis.
    rotate_state(space, row_, left, Matrix<float>(), true);
    rotate_state(space, col_, Matrix<float>(), right, true);
  } else {
    rotate_state(space, exp_avg_sq_, left, right, true);
  }
  if (exp_avg_.size() > 0) rotate_state(space, exp_avg_, left, right, false);
}

void AdafactorRule::visit_state(const std::string& prefix, const StateVisitor& visitor) {
  if (factored_) {
    visitor(describe_state(prefix + ".exp_avg_sq_row", row_));
    visitor(describe_state(prefix + ".exp_avg_sq_col", col_));
  } else {
    visitor(describe_state(prefix + ".exp_avg_sq", exp_avg_sq_));
  }
  if (exp_avg_.size() > 0) visitor(describe_state(prefix + ".exp_avg", exp_avg_));
}

}  // namespace galore
