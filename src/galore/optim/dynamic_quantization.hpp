// Block-wise 8-bit dynamic quantization of optimizer moments (Dettmers et al., "8-bit Optimizers
// via Block-wise Quantization", ICLR 2022; the bitsandbytes format).
//
// A value x in a block of `block_size` values is stored as one byte c with x ~= map[c] * absmax,
// where absmax is the block's largest |x| (one fp32 per block) and `map` is a sorted 256-entry
// dynamic table: decades 1e-6 .. 1 with linearly spaced fractions, more of them near 1 (the
// signed map spends one bit on the sign, so the unsigned map has twice the resolution). Rounding is
// deterministic: the nearest entry (ties toward zero); a negative value never becomes zero or
// positive (it takes the smallest negative entry instead), so a first moment keeps its sign.
//
// Finding the nearest entry: the signed map is symmetric (but for 1.0), so both maps are searched
// by magnitude in their non-negative half. A table indexed by the top 16 bits of |x| (its bf16
// bucket, relative width 2^-7) gives the last entry at or below the bucket's start; no two entries
// are closer than 0.7% apart, so at most one more step finds the entry below |x|. That replaces a
// binary search's 8 dependent loads with one.
#pragma once

#include "galore/core/math.hpp"
#include "galore/core/tensor.hpp"

#include <Kokkos_Core.hpp>

#include <cstdint>
#include <vector>

namespace galore {

constexpr int kDynamicMapSize = 256;

// The 256 map values, ascending. Signed: 127 negative, 0, 127 positive and 1.0 (the most negative
// is -0.99297 = -(1 - 0.9/128)). Unsigned: 0, 254 positive, 1.0.
std::vector<float> dynamic_map_values(bool is_signed);

// What a kernel needs to quantize with a map (device pointers, trivially copyable).
struct DynamicMapRef {
  const float* values;          // the 256 ascending entries
  const std::uint8_t* buckets;  // per bf16 bucket of |x| < 1: the last magnitude index at or below
  int base;                     // code of 0.0: 127 (signed) or 0 (unsigned)
};

// The map in device memory.
struct DynamicMap {
  Kokkos::View<float*, MemSpace> values;
  Kokkos::View<std::uint8_t*, MemSpace> buckets;
  bool is_signed = false;
  std::uint8_t zero_code = 0;  // the code whose value is exactly 0
  DynamicMapRef ref() const { return {values.data(), buckets.data(), zero_code}; }
};
DynamicMap make_dynamic_map(bool is_signed);

// The magnitude bucket of a in [0, 1): its top 16 bits (sign clear).
KOKKOS_INLINE_FUNCTION int magnitude_bucket(float a) {
  return static_cast<int>(float_bits(a) >> 16);
}
constexpr int kMagnitudeBuckets = 0x3F80;  // buckets below 1.0f (bits 0x3F800000)

// The code for x / absmax (already normalised to [-1, 1]).
KOKKOS_INLINE_FUNCTION std::uint8_t quantize_normalized(const DynamicMapRef& map, float x) {
  const float* mag = map.values + map.base;  // non-negative half: mag[0] = 0, ..., 1.0 last
  const int last = kDynamicMapSize - 1 - map.base;
  const bool negative = map.base > 0 && x < 0.0f;
  const float a = math::abs(x);
  int m = last;
  if (a < 1.0f) {  // also false for NaN, which maps to the top entry
    m = map.buckets[magnitude_bucket(a)];
    if (mag[m + 1] <= a) ++m;              // mag[m] <= a < mag[m + 1]
    if (mag[m + 1] - a < a - mag[m]) ++m;  // nearest; ties toward zero
  }
  if (!negative) return static_cast<std::uint8_t>(map.base + m);
  if (m == last) m = last - 1;  // there is no -1.0: the most negative entry is -mag[last - 1]
  if (m == 0) m = 1;            // keep the sign of the moment
  return static_cast<std::uint8_t>(map.base - m);
}

// One value of a block: x / absmax, or 0 for an all-zero block.
KOKKOS_INLINE_FUNCTION float normalize_by_absmax(float x, float absmax) {
  return absmax > 0.0f ? x / absmax : 0.0f;
}

// x -> (codes, absmax) with one absmax per block of `block_size` consecutive values.
void quantize_blockwise(const ExecSpace& space, const DynamicMap& map, int block_size,
                        const Vector<const float>& x,
                        const Kokkos::View<std::uint8_t*, MemSpace>& codes,
                        const Vector<float>& absmax);
// (codes, absmax) -> x.
void dequantize_blockwise(const ExecSpace& space, const DynamicMap& map, int block_size,
                          const Kokkos::View<const std::uint8_t*, MemSpace>& codes,
                          const Vector<const float>& absmax, const Vector<float>& x);

inline std::int64_t quantization_block_count(std::int64_t n, int block_size) {
  return (n + block_size - 1) / block_size;
}

}  // namespace galore
