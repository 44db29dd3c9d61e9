// RMSNorm (Zhang & Sennrich 2019) as LLaMA uses it: y = x / sqrt(mean(x^2) + eps) * w per row.
//
// Statistics are fp32 whatever T is; the forward pass saves each row's rstd = 1/sqrt(mean + eps)
// so the backward pass does not recompute the reduction.
#pragma once

#include "galore/core/tensor.hpp"

namespace galore {

// x, y [rows, n]; weight [n]; rstd [rows] (written).
template <class T>
void rms_norm_forward(const ExecSpace& space, float eps, MatrixRef<const T> x,
                      Vector<const T> weight, MatrixRef<T> y, Vector<float> rstd);

// Adds the gradients of y into dx (dx += dL/dx) and d_weight (fp32, d_weight += dL/dw), so the
// residual stream's gradient can be accumulated in place.
template <class T>
void rms_norm_backward(const ExecSpace& space, MatrixRef<const T> x, Vector<const T> weight,
                       Vector<const float> rstd, MatrixRef<const T> dy, MatrixRef<T> dx,
                       Vector<float> d_weight);

}  // namespace galore
