// RMSNorm forward and backward kernels (see rms_norm.hpp). The fp32 expressions keep the
// reference's operation order (src/galore/model/rms_norm.cpp):
//   y_j = x_j r w_j,  r = 1 / sqrt(sum_sq / n + eps)
//   dx_k += r dy_k w_k - (r^3 / n) x_k sum_j dy_j w_j x_j,   dw_j += sum_rows dy_j x_j r
#include "kernels/cuda/rms_norm.hpp"

#include "kernels/cuda/block_reduce.cuh"
#include "kernels/cuda/cuda_check.hpp"

#include <cstdint>
#include <string>

namespace galore::kernels::cuda {

namespace {

constexpr int kRowThreads = 256;
constexpr int kWeightColumns = 32;  // one warp of consecutive columns per row group
constexpr int kWeightRowGroups = 8;

template <class T>
__global__ void __launch_bounds__(kRowThreads)
    rms_norm_forward_kernel(int n, float eps, const T* x, const T* weight, T* y, float* rstd) {
  __shared__ float scratch[32];
  const std::int64_t row = blockIdx.x;
  const T* x_row = x + row * n;
  T* y_row = y + row * n;
  float sum_sq = 0.0f;
  for (int j = threadIdx.x; j < n; j += blockDim.x) {
    const float v = to_float(x_row[j]);
    sum_sq += v * v;
  }
  sum_sq = device::block_sum(sum_sq, scratch);
  const float r = 1.0f / sqrtf(sum_sq / static_cast<float>(n) + eps);
  for (int j = threadIdx.x; j < n; j += blockDim.x) {
    y_row[j] = from_float<T>(to_float(x_row[j]) * r * to_float(weight[j]));
  }
  if (threadIdx.x == 0) rstd[row] = r;
}

template <class T>
__global__ void __launch_bounds__(kRowThreads)
    rms_norm_backward_input_kernel(int n, const T* x, const T* weight, const float* rstd,
                                   const T* dy, T* dx) {
  __shared__ float scratch[32];
  const std::int64_t row = blockIdx.x;
  const T* x_row = x + row * n;
  const T* dy_row = dy + row * n;
  T* dx_row = dx + row * n;
  float dot = 0.0f;  // sum_j dy_j w_j x_j
  for (int j = threadIdx.x; j < n; j += blockDim.x) {
    dot += to_float(dy_row[j]) * to_float(weight[j]) * to_float(x_row[j]);
  }
  dot = device::block_sum(dot, scratch);
  const float r = rstd[row];
  const float coef = r * r * r * dot / static_cast<float>(n);
  for (int j = threadIdx.x; j < n; j += blockDim.x) {
    const float g = r * to_float(dy_row[j]) * to_float(weight[j]) - coef * to_float(x_row[j]);
    dx_row[j] = from_float<T>(to_float(dx_row[j]) + g);
  }
}

// One block per 32 columns; its 8 warps take every 8th row, then the 8 partial sums are added in
// a fixed order.
template <class T>
__global__ void __launch_bounds__(kWeightColumns* kWeightRowGroups)
    rms_norm_backward_weight_kernel(int rows, int n, const T* x, const float* rstd, const T* dy,
                                    float* d_weight) {
  __shared__ float partial[kWeightRowGroups][kWeightColumns];
  const int lane = threadIdx.x % kWeightColumns;
  const int group = threadIdx.x / kWeightColumns;
  const int col = blockIdx.x * kWeightColumns + lane;
  float acc = 0.0f;
  if (col < n) {
    for (int row = group; row < rows; row += kWeightRowGroups) {
      const std::int64_t at = static_cast<std::int64_t>(row) * n + col;
      acc += to_float(dy[at]) * to_float(x[at]) * rstd[row];
    }
  }
  partial[group][lane] = acc;
  __syncthreads();
  if (group == 0 && col < n) {
    float total = 0.0f;
    for (int g = 0; g < kWeightRowGroups; ++g) total += partial[g][lane];
    d_weight[col] += total;
  }
}

void check_shape(const char* fn, int rows, int n) {
  require(
      rows >= 0 && n >= 1, fn,
      "rows must be >= 0 and n >= 1, got rows=" + std::to_string(rows) + " n=" + std::to_string(n));
}

}  // namespace

template <class T>
void rms_norm_forward(int rows, int n, float eps, const T* x, const T* weight, T* y, float* rstd,
                      cudaStream_t stream) {
  check_shape("rms_norm_forward", rows, n);
  if (rows == 0) return;
  rms_norm_forward_kernel<T><<<rows, kRowThreads, 0, stream>>>(n, eps, x, weight, y, rstd);
  check_launch("rms_norm_forward_kernel");
}

template <class T>
void rms_norm_backward(int rows, int n, const T* x, const T* weight, const float* rstd, const T* dy,
                       T* dx, float* d_weight, cudaStream_t stream) {
  check_shape("rms_norm_backward", rows, n);
  if (rows == 0) return;
  rms_norm_backward_input_kernel<T><<<rows, kRowThreads, 0, stream>>>(n, x, weight, rstd, dy, dx);
  check_launch("rms_norm_backward_input_kernel");
  const int column_blocks = (n + kWeightColumns - 1) / kWeightColumns;
  rms_norm_backward_weight_kernel<T>
      <<<column_blocks, kWeightColumns * kWeightRowGroups, 0, stream>>>(rows, n, x, rstd, dy,
                                                                        d_weight);
  check_launch("rms_norm_backward_weight_kernel");
}

template void rms_norm_forward<float>(int, int, float, const float*, const float*, float*, float*,
                                      cudaStream_t);
template void rms_norm_forward<Bf16Word>(int, int, float, const Bf16Word*, const Bf16Word*,
                                         Bf16Word*, float*, cudaStream_t);
template void rms_norm_backward<float>(int, int, const float*, const float*, const float*,
                                       const float*, float*, float*, cudaStream_t);
template void rms_norm_backward<Bf16Word>(int, int, const Bf16Word*, const Bf16Word*, const float*,
                                          const Bf16Word*, Bf16Word*, float*, cudaStream_t);

}  // namespace galore::kernels::cuda
