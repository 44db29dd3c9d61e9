// bf16 storage words and fp32 conversions shared by the CUDA kernels and their CPU references.
//
// A bf16 value is the upper 16 bits of an fp32 (the same layout as galore::bf16 and
// __nv_bfloat16). Rounding is round-to-nearest-even; NaN stays a quiet NaN with its sign and
// payload, +-Inf stays +-Inf: bit for bit what galore::bf16 does, so host references and device
// kernels round identically.
#pragma once

#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define GALORE_CUDA_HD __host__ __device__
#else
#define GALORE_CUDA_HD
#endif

namespace galore::kernels::cuda {

using Bf16Word = std::uint16_t;

GALORE_CUDA_HD inline std::uint32_t float_bits(float f) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(f);
#else
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
#endif
}

GALORE_CUDA_HD inline float bits_float(std::uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
#endif
}

GALORE_CUDA_HD inline Bf16Word round_to_bf16(float f) {
  std::uint32_t u = float_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) {
    return static_cast<Bf16Word>((u >> 16) | 0x0040u);  // NaN: keep sign and payload, force quiet
  }
  u += 0x7fffu + ((u >> 16) & 1u);  // ties to the even mantissa; overflow rounds to Inf
  return static_cast<Bf16Word>(u >> 16);
}

// Storage-type conversions, so templates over float and Bf16Word read the same.
GALORE_CUDA_HD inline float to_float(float x) { return x; }
GALORE_CUDA_HD inline float to_float(Bf16Word x) {
  return bits_float(static_cast<std::uint32_t>(x) << 16);
}

template <class T>
GALORE_CUDA_HD inline T from_float(float x);
template <>
GALORE_CUDA_HD inline float from_float<float>(float x) {
  return x;
}
template <>
GALORE_CUDA_HD inline Bf16Word from_float<Bf16Word>(float x) {
  return round_to_bf16(x);
}

}  // namespace galore::kernels::cuda
