// The two element-wise passes every optimizer shares: the non-finite gradient check that guards
// the state, and applying a direction to the weights.
#pragma once

#include "galore/core/tensor.hpp"
#include "galore/optim/moment_rule.hpp"

namespace galore {

// *count = number of NaN/Inf entries of `grad`, written asynchronously to device memory.
void count_nonfinite(const ExecSpace& space, const Matrix<float>& grad, int* count);

// w <- (w (1 - c.pre_decay) - c.scale * direction) (1 - c.post_decay), in fp32, rounded once to T.
// Does nothing when *skip != 0.
template <class T>
void apply_update(const ExecSpace& space, const Matrix<T>& w, const Matrix<float>& direction,
                  const UpdateCoefficients& c, const int* skip);

}  // namespace galore
