// SwiGLU gate (Shazeer 2020) on the outputs of the gate and up projections:
//   out = silu(gate) * up,  silu(g) = g * sigmoid(g)
#pragma once

#include "galore/core/tensor.hpp"

namespace galore {

// gate, up, out [tokens, intermediate].
template <class T>
void swiglu_forward(const ExecSpace& space, MatrixRef<const T> gate, MatrixRef<const T> up,
                    MatrixRef<T> out);

// d_gate = d_out * up * silu'(gate), d_up = d_out * silu(gate) (both overwritten). Element-wise,
// so d_up may be the same memory as d_out (the model computes it in place).
template <class T>
void swiglu_backward(const ExecSpace& space, MatrixRef<const T> gate, MatrixRef<const T> up,
                     MatrixRef<const T> d_out, MatrixRef<T> d_gate, MatrixRef<T> d_up);

}  // namespace galore
