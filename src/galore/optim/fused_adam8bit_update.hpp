// The fused CUDA 8-bit Adam updates (kernels/cuda/adam8bit.hpp and galore_update.hpp) in place of
// the optimizer's separate Kokkos passes, for builds where Kokkos runs on CUDA and the kernels are
// linked (GALORE_CUDA_DISPATCH in galore/core/cuda_dispatch.hpp). They are defined only in those
// builds; callers guard their calls with that macro.
//
// Each returns false, having enqueued nothing, where it does not apply: `rule` is not an
// Adam8bitRule, or a setting or layout is one the kernel does not take. Otherwise the work is
// enqueued on `space` with no host synchronisation; *skip (device memory, the non-finite flag)
// leaves weights and state untouched, as in the Kokkos path.
#pragma once

#include "galore/core/tensor.hpp"
#include "galore/optim/adam8bit.hpp"
#include "galore/optim/projector.hpp"

#include <cstdint>

namespace galore {

// Adam8bitRule::compute_direction: buffer (the gradient) is overwritten with the direction.
bool fused_adam8bit_direction(const ExecSpace& space, Adam8bitRule& rule,
                              const Matrix<float>& buffer, std::int64_t t, const int* skip);

// A full-rank parameter: compute_direction and apply_update in one pass over the state and the
// weight, W <- (W - lr D)(1 - lr wd) rounded once to T. `grad` is left as it is.
template <class T>
bool fused_adam8bit_update(const ExecSpace& space, MomentRule& rule, const Matrix<float>& grad,
                           const Matrix<T>& weight, std::int64_t t, float lr, const int* skip);

// A GaLore-projected weight with a one-sided projector: project, 8-bit Adam on the low-rank
// gradient, project back and update the weight, W <- (W - lr alpha P(D))(1 - lr wd), in three
// kernels. The one difference from the Kokkos path: the low-rank direction D is rounded to T
// before the back-projection. `grad` is left as it is (not overwritten with the update).
template <class T>
bool fused_galore_adam8bit_update(const ExecSpace& space, const GaLoreProjector<T>& projector,
                                  MomentRule& rule, const Matrix<float>& grad,
                                  const Matrix<T>& weight, std::int64_t t, float lr, float alpha,
                                  const int* skip);

}  // namespace galore
