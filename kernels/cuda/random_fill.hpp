// Device-side random fills (uniform in [lo, hi)), a pure function of (seed, index): benchmark
// inputs and weight initialisation without a host round trip through a large host buffer.
#pragma once

#include "kernels/cuda/bf16_bits.hpp"

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace galore::kernels::cuda {

void fill_uniform(float* x, std::size_t n, std::uint64_t seed, float lo, float hi,
                  cudaStream_t stream);
void fill_uniform(Bf16Word* x, std::size_t n, std::uint64_t seed, float lo, float hi,
                  cudaStream_t stream);

}  // namespace galore::kernels::cuda
