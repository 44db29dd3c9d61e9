// SwiGLU element-wise kernels (see swiglu.hpp): grid-stride loops over rows * cols.
#include "kernels/cuda/swiglu.hpp"

#include "kernels/cuda/cuda_check.hpp"

#include <algorithm>
#include <cstdint>
#include <string>

namespace galore::kernels::cuda {

namespace {

constexpr int kThreads = 256;
constexpr std::int64_t kMaxBlocks = 65536;  // grid-stride beyond this

__device__ inline float sigmoid(float g) { return 1.0f / (1.0f + expf(-g)); }

template <class T>
__global__ void __launch_bounds__(kThreads)
    swiglu_forward_kernel(std::int64_t total, int cols, const T* gate, const T* up, int ld_gate_up,
                          T* out, int ld_out) {
  for (std::int64_t e = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; e < total;
       e += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t i = e / cols;
    const std::int64_t j = e % cols;
    const float g = to_float(gate[i * ld_gate_up + j]);
    out[i * ld_out + j] = from_float<T>(g * sigmoid(g) * to_float(up[i * ld_gate_up + j]));
  }
}

template <class T>
__global__ void __launch_bounds__(kThreads)
    swiglu_backward_kernel(std::int64_t total, int cols, const T* gate, const T* up, int ld_gate_up,
                           const T* d_out, int ld_out, T* d_gate, T* d_up) {
  for (std::int64_t e = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; e < total;
       e += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t i = e / cols;
    const std::int64_t j = e % cols;
    const float g = to_float(gate[i * ld_gate_up + j]);
    const float u = to_float(up[i * ld_gate_up + j]);
    const float d = to_float(d_out[i * ld_out + j]);  // read before d_up, which may alias it
    const float s = sigmoid(g);
    d_gate[i * ld_gate_up + j] = from_float<T>(d * u * s * (1.0f + g * (1.0f - s)));
    d_up[i * ld_gate_up + j] = from_float<T>(d * g * s);
  }
}

void check_shape(const char* fn, int rows, int cols, int ld_gate_up, int ld_out) {
  require(rows >= 0 && cols >= 1 && ld_gate_up >= cols && ld_out >= cols, fn,
          "need rows >= 0, cols >= 1 and leading dimensions >= cols, got rows=" +
              std::to_string(rows) + " cols=" + std::to_string(cols) +
              " ld_gate_up=" + std::to_string(ld_gate_up) + " ld_out=" + std::to_string(ld_out));
}

int blocks_for(std::int64_t total) {
  return static_cast<int>(std::min<std::int64_t>((total + kThreads - 1) / kThreads, kMaxBlocks));
}

}  // namespace

template <class T>
void swiglu_forward(int rows, int cols, const T* gate, const T* up, int ld_gate_up, T* out,
                    int ld_out, cudaStream_t stream) {
  check_shape("swiglu_forward", rows, cols, ld_gate_up, ld_out);
  const std::int64_t total = static_cast<std::int64_t>(rows) * cols;
  if (total == 0) return;
  swiglu_forward_kernel<T>
      <<<blocks_for(total), kThreads, 0, stream>>>(total, cols, gate, up, ld_gate_up, out, ld_out);
  check_launch("swiglu_forward_kernel");
}

template <class T>
void swiglu_backward(int rows, int cols, const T* gate, const T* up, int ld_gate_up, const T* d_out,
                     int ld_out, T* d_gate, T* d_up, cudaStream_t stream) {
  check_shape("swiglu_backward", rows, cols, ld_gate_up, ld_out);
  const std::int64_t total = static_cast<std::int64_t>(rows) * cols;
  if (total == 0) return;
  swiglu_backward_kernel<T><<<blocks_for(total), kThreads, 0, stream>>>(
      total, cols, gate, up, ld_gate_up, d_out, ld_out, d_gate, d_up);
  check_launch("swiglu_backward_kernel");
}

template void swiglu_forward<float>(int, int, const float*, const float*, int, float*, int,
                                    cudaStream_t);
template void swiglu_forward<Bf16Word>(int, int, const Bf16Word*, const Bf16Word*, int, Bf16Word*,
                                       int, cudaStream_t);
template void swiglu_backward<float>(int, int, const float*, const float*, int, const float*, int,
                                     float*, float*, cudaStream_t);
template void swiglu_backward<Bf16Word>(int, int, const Bf16Word*, const Bf16Word*, int,
                                        const Bf16Word*, int, Bf16Word*, Bf16Word*, cudaStream_t);

}  // namespace galore::kernels::cuda
