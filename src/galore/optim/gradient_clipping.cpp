// Global-norm clipping: the standard rule and the previous-step rule for per-layer updates.
#include "galore/optim/gradient_clipping.hpp"

#include "galore/core/error.hpp"

#include <fmt/format.h>
#include <cmath>

namespace galore {

void sum_of_squares(const ExecSpace& space, const Matrix<float>& grad,
                    const Kokkos::View<double, MemSpace>& out) {
  const float* g = grad.data();
  Kokkos::parallel_reduce(
      "galore::grad_sum_of_squares", Kokkos::RangePolicy<ExecSpace>(space, 0, grad.span()),
      KOKKOS_LAMBDA(const std::size_t i, double& s) { s += double(g[i]) * double(g[i]); }, out);
}

void scale_gradient(const ExecSpace& space, const Matrix<float>& grad, float factor) {
  float* g = grad.data();
  Kokkos::parallel_for(
      "galore::scale_gradient", Kokkos::RangePolicy<ExecSpace>(space, 0, grad.span()),
      KOKKOS_LAMBDA(const std::size_t i) { g[i] *= factor; });
}

namespace {

double clip_factor(double max_norm, double norm) {
  return norm > max_norm && std::isfinite(norm) ? max_norm / norm : 1.0;
}

void check_max_norm(double max_norm) {
  if (!(max_norm > 0.0) || !std::isfinite(max_norm)) {
    throw ConfigError(fmt::format("gradient clipping: max_norm = {} must be > 0", max_norm));
  }
}

}  // namespace

template <class T>
double global_grad_norm(const ExecSpace& space, const std::vector<Parameter<T>>& parameters) {
  // One device scalar per parameter, read back together: a single synchronisation.
  Kokkos::View<double*, MemSpace> per_param("galore::grad_norms", parameters.size());
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    if (parameters[i].grad.size() == 0) continue;
    sum_of_squares(space, parameters[i].grad, Kokkos::subview(per_param, i));
  }
  const auto host = Kokkos::create_mirror_view_and_copy(HostSpace(), per_param);
  double total = 0.0;
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    if (std::isfinite(host(i))) total += host(i);
  }
  return std::sqrt(total);
}

template <class T>
double clip_grad_norm(const ExecSpace& space, std::vector<Parameter<T>>& parameters,
                      double max_norm) {
  check_max_norm(max_norm);
  const double norm = global_grad_norm(space, parameters);
  const double factor = clip_factor(max_norm, norm);
  if (factor < 1.0) {
    for (auto& p : parameters) {
      if (p.grad.size() > 0) scale_gradient(space, p.grad, static_cast<float>(factor));
    }
  }
  return norm;
}

PreviousNormClipper::PreviousNormClipper(double max_norm)
    : max_norm_(max_norm),
      sum_squares_("galore::clipper_sum_squares"),
      gradient_ss_("galore::clipper_gradient_ss") {
  check_max_norm(max_norm);
}

void PreviousNormClipper::begin_step() { Kokkos::deep_copy(sum_squares_, 0.0); }

double PreviousNormClipper::scale() const {
  return previous_norm_ < 0.0 ? 1.0 : clip_factor(max_norm_, previous_norm_);
}

void PreviousNormClipper::clip(const ExecSpace& space, const Matrix<float>& grad) {
  sum_of_squares(space, grad, gradient_ss_);
  const auto total = sum_squares_;
  const auto ss = gradient_ss_;
  Kokkos::parallel_for(
      "galore::clipper_accumulate", Kokkos::RangePolicy<ExecSpace>(space, 0, 1),
      KOKKOS_LAMBDA(const int) {
        const double s = ss();
        if (s - s == 0.0) total() += s;  // finite (Inf - Inf and NaN - NaN are NaN)
      });
  const double factor = scale();
  if (factor < 1.0) scale_gradient(space, grad, static_cast<float>(factor));
}

double PreviousNormClipper::end_step() {
  double total = 0.0;
  Kokkos::deep_copy(total, sum_squares_);
  previous_norm_ = std::sqrt(total);
  return previous_norm_;
}

template double global_grad_norm<float>(const ExecSpace&, const std::vector<Parameter<float>>&);
template double global_grad_norm<bf16>(const ExecSpace&, const std::vector<Parameter<bf16>>&);
template double clip_grad_norm<float>(const ExecSpace&, std::vector<Parameter<float>>&, double);
template double clip_grad_norm<bf16>(const ExecSpace&, std::vector<Parameter<bf16>>&, double);

}  // namespace galore
