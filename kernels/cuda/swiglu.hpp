// Fused SwiGLU gate (Shazeer 2020) on the gate and up projections, element-wise in fp32:
//   out = silu(gate) * up,  silu(g) = g * sigmoid(g)
//   d_gate = d_out * up * s (1 + g (1 - s)),  d_up = d_out * g * s,  s = sigmoid(g)
// Same semantics as galore::swiglu_forward/backward (src/galore/model/swiglu.hpp); d_up may be
// the same memory as d_out.
//
// Matrices are [rows, cols] row-major. gate/up (and d_gate/d_up) share the leading dimension
// ld_gate_up, so they may be the two halves of a fused [rows, 2 cols] projection; out and d_out
// use ld_out. T is float or Bf16Word.
#pragma once

#include "kernels/cuda/bf16_bits.hpp"

#include <cuda_runtime.h>

namespace galore::kernels::cuda {

template <class T>
void swiglu_forward(int rows, int cols, const T* gate, const T* up, int ld_gate_up, T* out,
                    int ld_out, cudaStream_t stream);

template <class T>
void swiglu_backward(int rows, int cols, const T* gate, const T* up, int ld_gate_up, const T* d_out,
                     int ld_out, T* d_gate, T* d_up, cudaStream_t stream);

}  // namespace galore::kernels::cuda
