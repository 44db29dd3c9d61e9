// CPU reference for kernels/cuda/adam8bit.hpp: the same fp32 operations in the same order (no
// fused multiply-adds), so states, directions and weights must match the device bit for bit.
#pragma once

#include "kernels/cuda/adam8bit.hpp"

#include <cstdint>
#include <vector>

namespace galore::kernels::cuda::reference {

struct HostQuantizedState {
  std::vector<std::uint8_t> codes;
  std::vector<float> absmax;
};

// A fresh moment of n values (codes at the map's zero, absmax 0).
HostQuantizedState fresh_state(std::int64_t n, int block_size, bool is_signed);

// The moment as values: map[code] * absmax of its block.
std::vector<float> dequantize(const HostQuantizedState& state, int block_size, bool is_signed);

// Updates m and v in place and returns the fp32 direction.
std::vector<float> adam8bit_direction(int block_size, const Adam8bitStep& step,
                                      const std::vector<float>& grad, HostQuantizedState& m,
                                      HostQuantizedState& v);

// The full-rank update: weight <- (weight - lr D)(1 - lr wd), rounded once to T.
template <class T>
void adam8bit_update(int block_size, const Adam8bitStep& step, const std::vector<float>& grad,
                     HostQuantizedState& m, HostQuantizedState& v, std::vector<T>& weight);

}  // namespace galore::kernels::cuda::reference
