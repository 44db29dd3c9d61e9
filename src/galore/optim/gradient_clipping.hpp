// Gradient clipping by global L2 norm, for the standard step and for per-layer updates.
//
// Standard step: the norm over every gradient is known before any update, so
//   g <- g * min(1, max_norm / ||g||)      (torch.nn.utils.clip_grad_norm_).
// Per-layer updates: the first weight is updated before the other gradients exist, so the global
// norm of the current step cannot be known. PreviousNormClipper clips each delivered gradient
// with the global norm of the previous step (accumulated from the squared norm of each gradient as
// it is delivered; the first step is not clipped). After a spike the clip therefore reacts one
// step late; with a smooth gradient norm the two rules agree closely.
//
// Non-finite gradients are left to the optimizer (which skips those parameters): they do not
// enter the norm used for clipping, so one bad parameter cannot zero or poison the others.
// Norms are accumulated in double.
#pragma once

#include "galore/core/parameter.hpp"
#include "galore/core/tensor.hpp"

#include <vector>

namespace galore {

// Global L2 norm of the finite gradients among `parameters` (empty gradients are ignored).
template <class T>
double global_grad_norm(const ExecSpace& space, const std::vector<Parameter<T>>& parameters);

// Scales every gradient by min(1, max_norm / norm) and returns the norm before clipping (of the
// finite gradients, as global_grad_norm).
template <class T>
double clip_grad_norm(const ExecSpace& space, std::vector<Parameter<T>>& parameters,
                      double max_norm);

// Clipping for per-layer updates (see the top of this file). Usage per step:
//   clipper.begin_step(); for each delivered gradient: clipper.clip(space, grad), then update;
//   double norm = clipper.end_step();   // this step's global norm (before clipping)
class PreviousNormClipper {
 public:
  explicit PreviousNormClipper(double max_norm);

  void begin_step();
  // Adds ||grad||^2 (if finite) to this step's total, then scales grad by the previous step's
  // factor min(1, max_norm / previous_norm). Asynchronous.
  void clip(const ExecSpace& space, const Matrix<float>& grad);
  double end_step();  // one device read per step

  double max_norm() const { return max_norm_; }
  double previous_norm() const { return previous_norm_; }  // < 0 before the first end_step
  // Resuming from a checkpoint: the norm the next step clips with (what previous_norm() gave).
  void restore_previous_norm(double norm) { previous_norm_ = norm; }
  double scale() const;  // the factor clip() applies in the current step

 private:
  double max_norm_;
  double previous_norm_ = -1.0;
  Kokkos::View<double, MemSpace> sum_squares_;  // this step, finite gradients only
  Kokkos::View<double, MemSpace> gradient_ss_;  // the gradient being clipped
};

// ||grad||^2 in double, written asynchronously to `out`.
void sum_of_squares(const ExecSpace& space, const Matrix<float>& grad,
                    const Kokkos::View<double, MemSpace>& out);

// grad *= factor.
void scale_gradient(const ExecSpace& space, const Matrix<float>& grad, float factor);

}  // namespace galore
