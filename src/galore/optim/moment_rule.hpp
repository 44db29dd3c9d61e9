// The element-wise part of an optimizer: the state kept for one tensor and the rule that turns a
// gradient into an update direction.
//
// The tensor is either a full gradient or its GaLore projection; the rule does not know which.
// compute_direction() overwrites the gradient buffer with the direction D, and the caller applies
//   W <- (W (1 - pre_decay) - scale D) (1 - post_decay)
// with the coefficients the rule returns (scale picks up GaLore's alpha when projected). Reusing
// the gradient buffer keeps the update free of full-size scratch memory.
#pragma once

#include "galore/core/tensor.hpp"
#include "galore/optim/optimizer_config.hpp"
#include "galore/optim/state_tensor.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace galore {

struct UpdateCoefficients {
  float pre_decay;   // decoupled weight decay applied before the update (Adafactor)
  float scale;       // multiplies the direction
  float post_decay;  // decoupled weight decay applied after the update (AdamW, 8-bit Adam)
};

class MomentRule {
 public:
  virtual ~MomentRule() = default;

  // `t` counts this tensor's updates from 1; `lr` is the step's learning rate. When *skip != 0
  // (device memory) the kernels return without touching the state.
  virtual void compute_direction(const ExecSpace& space, const Matrix<float>& buffer,
                                 std::int64_t t, float lr, const int* skip) = 0;
  virtual UpdateCoefficients coefficients(std::int64_t t, float lr) const = 0;

  // Moves the state into a new GaLore subspace: X <- L X R^T for first moments and running
  // averages of squares use the element-wise squares of L and R (which keeps them non-negative).
  // Either matrix may be empty (that side is unchanged).
  virtual void rotate_subspace(const ExecSpace& space, const Matrix<float>& left,
                               const Matrix<float>& right) = 0;

  // Every state tensor as "<prefix>.<name>".
  virtual void visit_state(const std::string& prefix, const StateVisitor& visitor) = 0;
};

// The rule for `kind` on a [rows x cols] tensor. `factored` selects Adafactor's row/column
// statistics (true for 2-D weights, false for vectors).
std::unique_ptr<MomentRule> make_moment_rule(OptimizerKind kind, const OptimizerConfig& config,
                                             int rows, int cols, bool factored);

// X <- L' X R'^T where L' = L (or L*L element-wise when `squared`), likewise R; empty = identity.
void rotate_state(const ExecSpace& space, const Matrix<float>& x, const Matrix<float>& left,
                  const Matrix<float>& right, bool squared);

}  // namespace galore
