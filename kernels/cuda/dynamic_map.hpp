// Block-wise dynamic 8-bit quantization format of the optimizer moments (Dettmers et al., "8-bit
// Optimizers via Block-wise Quantization", ICLR 2022; bitsandbytes' create_dynamic_map).
//
// A value x in a block of `block_size` consecutive values is stored as one byte c with
// x ~= map[c] * absmax, absmax being the block's largest |x| (one fp32 per block). The map is a
// sorted table of 256 values: seven decades 1e-6 .. 1, decade i holding 2^i (signed map) or
// 2^(i+1) (unsigned map) midpoints of equal sub-intervals of [0.1, 1] scaled by 10^(i-6), plus 0
// and 1.0 (signed: 127 negative, 0, 127 positive and 1.0; unsigned: 0, 254 positive, 1.0).
// Rounding: the nearest entry by magnitude, ties toward zero; a negative value never becomes zero
// or positive (it takes the smallest negative entry), so a first moment keeps its sign.
//
// This is, bit for bit, the format of src/galore/optim/dynamic_quantization.hpp (the Kokkos
// path); tests/cuda checks that the two agree whenever both are built.
#pragma once

#include "kernels/cuda/bf16_bits.hpp"  // GALORE_CUDA_HD

#include <array>
#include <cstdint>

namespace galore::kernels::cuda {

constexpr int kDynamicMapSize = 256;

// The 256 map values, ascending.
std::array<float, kDynamicMapSize> dynamic_map(bool is_signed);

// The code whose value is exactly 0 (the state of a fresh moment).
std::uint8_t dynamic_map_zero_code(bool is_signed);

// The code for x / absmax (already normalised to [-1, 1]); `map` holds the 256 ascending values.
// Both maps are searched by magnitude in their non-negative half (the signed map is symmetric
// but for 1.0): the nearest entry, ties toward zero; |x| >= 1 and NaN take the top entry; a
// negative value takes at most the most negative entry and never the zero code.
GALORE_CUDA_HD inline std::uint8_t quantize_normalized(const float* map, bool is_signed, float x) {
  const int base = is_signed ? kDynamicMapSize / 2 - 1 : 0;  // the code of 0.0
  const float* mag = map + base;                             // mag[0] = 0 ... mag[last] = 1.0
  const int last = kDynamicMapSize - 1 - base;
  const bool negative = is_signed && x < 0.0f;
  const float a = x < 0.0f ? -x : x;
  int m = last;
  if (a < 1.0f) {  // false for NaN too
    int lo = 0;    // invariant: mag[lo] <= a < mag[hi]
    int hi = last;
    while (hi - lo > 1) {
      const int mid = (lo + hi) / 2;
      if (mag[mid] <= a) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
    m = lo;
    if (mag[m + 1] - a < a - mag[m]) ++m;  // nearest; ties toward zero
  }
  if (!negative) return static_cast<std::uint8_t>(base + m);
  if (m == last) m = last - 1;  // there is no -1.0: the most negative entry is -mag[last - 1]
  if (m == 0) m = 1;            // keep the sign of the moment
  return static_cast<std::uint8_t>(base - m);
}

// One value of a block: x / absmax, or 0 for an all-zero block.
GALORE_CUDA_HD inline float normalize_by_absmax(float x, float absmax) {
  return absmax > 0.0f ? x / absmax : 0.0f;
}

}  // namespace galore::kernels::cuda
