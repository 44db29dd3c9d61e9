// Fused RMSNorm (LLaMA): y = x / sqrt(mean(x^2) + eps) * w per row, statistics in fp32, one block
// per row. Same semantics as galore::rms_norm_forward/backward (src/galore/model/rms_norm.hpp):
// the forward pass saves rstd = 1/sqrt(mean + eps) per row; the backward pass ADDS into dx and
// d_weight (residual-stream accumulation). The weight gradient is a column sum in a fixed order,
// so it is bitwise reproducible (no atomics).
//
// T is float or Bf16Word. Matrices are contiguous [rows, n]; y may be x (in place).
#pragma once

#include "kernels/cuda/bf16_bits.hpp"

#include <cuda_runtime.h>

namespace galore::kernels::cuda {

template <class T>
void rms_norm_forward(int rows, int n, float eps, const T* x, const T* weight, T* y, float* rstd,
                      cudaStream_t stream);

// dx += dL/dx, d_weight (fp32) += dL/dweight.
template <class T>
void rms_norm_backward(int rows, int n, const T* x, const T* weight, const float* rstd, const T* dy,
                       T* dx, float* d_weight, cudaStream_t stream);

}  // namespace galore::kernels::cuda
