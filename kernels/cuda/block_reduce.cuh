// Warp and block reductions for the row-wise kernels. Partial results are combined in a fixed
// order, so a kernel gives bitwise the same result on every run with the same launch shape.
#pragma once

namespace galore::kernels::cuda::device {

constexpr unsigned kFullWarp = 0xffffffffu;

__device__ inline float warp_sum(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(kFullWarp, v, offset);
  return v;
}

__device__ inline float warp_max(float v) {
  for (int offset = 16; offset > 0; offset >>= 1)
    v = fmaxf(v, __shfl_xor_sync(kFullWarp, v, offset));
  return v;
}

// Every thread of the block calls these and receives the block-wide result. blockDim.x must be
// a multiple of 32 and at most 32 warps; `scratch` holds 32 floats of shared memory.
__device__ inline float block_sum(float v, float* scratch) {
  const int warps = static_cast<int>(blockDim.x) / 32;
  v = warp_sum(v);
  __syncthreads();  // scratch may still be read by a previous reduction
  if (threadIdx.x % 32 == 0) scratch[threadIdx.x / 32] = v;
  __syncthreads();
  float total = 0.0f;
  for (int w = 0; w < warps; ++w) total += scratch[w];
  return total;
}

__device__ inline float block_max(float v, float* scratch) {
  const int warps = static_cast<int>(blockDim.x) / 32;
  v = warp_max(v);
  __syncthreads();
  if (threadIdx.x % 32 == 0) scratch[threadIdx.x / 32] = v;
  __syncthreads();
  float result = scratch[0];
  for (int w = 1; w < warps; ++w) result = fmaxf(result, scratch[w]);
  return result;
}

}  // namespace galore::kernels::cuda::device
