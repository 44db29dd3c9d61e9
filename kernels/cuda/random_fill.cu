// Uniform random fills (see random_fill.hpp).
#include "kernels/cuda/random_fill.hpp"

#include "kernels/cuda/counter_hash.cuh"
#include "kernels/cuda/cuda_check.hpp"

#include <algorithm>

namespace galore::kernels::cuda {

namespace {

template <class T>
__global__ void fill_uniform_kernel(T* x, std::int64_t n, std::uint64_t seed, float lo, float hi) {
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    float u;
    float unused;
    device::uniform_pair(seed, static_cast<std::uint64_t>(i), u, unused);
    x[i] = from_float<T>(lo + (hi - lo) * u);
  }
}

template <class T>
void fill(T* x, std::size_t n, std::uint64_t seed, float lo, float hi, cudaStream_t stream) {
  if (n == 0) return;
  constexpr int kThreads = 256;
  const std::size_t blocks = std::min<std::size_t>((n + kThreads - 1) / kThreads, 65536);
  fill_uniform_kernel<T><<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(
      x, static_cast<std::int64_t>(n), seed, lo, hi);
  check_launch("fill_uniform_kernel");
}

}  // namespace

void fill_uniform(float* x, std::size_t n, std::uint64_t seed, float lo, float hi,
                  cudaStream_t stream) {
  fill(x, n, seed, lo, hi, stream);
}

void fill_uniform(Bf16Word* x, std::size_t n, std::uint64_t seed, float lo, float hi,
                  cudaStream_t stream) {
  fill(x, n, seed, lo, hi, stream);
}

}  // namespace galore::kernels::cuda
