// Fused 8-bit Adam: dequantize -> Adam -> requantize in one pass over the state, one block per
// quantization block, no host synchronisation (the skip flag is read on the device). The math is
// exactly galore::Adam8bitRule (src/galore/optim/adam8bit.hpp), operation for operation in fp32
// without contraction into fused multiply-adds, so the device state and direction are bitwise
// those of a host computation in the same order (tests/cuda/reference/adam8bit.cpp):
//
//   m <- b1 m + (1 - b1) g ;  v <- b2 v + (1 - b2) g^2      (from the dequantized state)
//   D  = (c2 / c1) (m / (sqrt(v) + c2 eps)),  c1 = 1 - b1^t, c2 = sqrt(1 - b2^t)
//
// The direction uses the unquantized new moments; only what is stored is rounded. Moments are
// stored in the format of dynamic_map.hpp (signed map for m, unsigned for v) with one fp32 absmax
// per block of block_size (1 .. 4096) consecutive values.
#pragma once

#include "kernels/cuda/bf16_bits.hpp"

#include <cuda_runtime.h>

#include <cstdint>

namespace galore::kernels::cuda {

constexpr int kMaxQuantizationBlock = 4096;

struct QuantizedState {
  std::uint8_t* codes;  // one per value
  float* absmax;        // one per block
};

struct Adam8bitStep {
  float beta1;
  float beta2;
  float eps;
  float lr;
  float weight_decay;  // decoupled, after the update: w <- (w - lr D)(1 - lr wd)
  std::int64_t step;   // t: this tensor's updates so far, counting this one (from 1)
};

// A fresh moment pair: every code at the map's zero, every absmax 0.
void adam8bit_init_state(std::int64_t n, int block_size, QuantizedState exp_avg,
                         QuantizedState exp_avg_sq, cudaStream_t stream);

// grad (fp32, n values) -> direction (T, n values), state updated. When skip is non-null and
// *skip != 0 the state is untouched and the direction is all zeros.
template <class T>
void adam8bit_direction(std::int64_t n, int block_size, const Adam8bitStep& step, const float* grad,
                        QuantizedState exp_avg, QuantizedState exp_avg_sq, T* direction,
                        const int* skip, cudaStream_t stream);

// A full-rank parameter: the same update and, in the same pass, the weight update of
// galore::apply_update, w <- (w - lr D)(1 - lr wd) in fp32, rounded once to T. When *skip != 0
// nothing is written.
template <class T>
void adam8bit_update(std::int64_t n, int block_size, const Adam8bitStep& step, const float* grad,
                     QuantizedState exp_avg, QuantizedState exp_avg_sq, T* weight, const int* skip,
                     cudaStream_t stream);

}  // namespace galore::kernels::cuda
