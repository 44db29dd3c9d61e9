// bfloat16 storage type usable in host and device code.
//
// Only storage: arithmetic converts to fp32 and back. Rounding is round-to-nearest-even, NaN stays
// a (quiet) NaN and +-Inf stays +-Inf, matching torch.bfloat16 and CUDA's __float2bfloat16_rn.
// Kokkos 3.4 has no bhalf_t and Kokkos 4's is a plain float on host, so the project owns this type.
#pragma once

#include <Kokkos_Core.hpp>

#include <cstdint>
#include <cstring>

namespace galore {

KOKKOS_INLINE_FUNCTION std::uint32_t float_bits(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);  // memcpy is the portable bit cast in host and CUDA code
  return u;
}

KOKKOS_INLINE_FUNCTION float bits_to_float(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

KOKKOS_INLINE_FUNCTION bool is_finite(float f) {
  return (float_bits(f) & 0x7f800000u) != 0x7f800000u;
}

struct bf16 {
  std::uint16_t bits;

  bf16() = default;
  KOKKOS_INLINE_FUNCTION explicit bf16(float f) : bits(round_to_bits(f)) {}
  KOKKOS_INLINE_FUNCTION explicit operator float() const {
    return bits_to_float(static_cast<std::uint32_t>(bits) << 16);
  }

  KOKKOS_INLINE_FUNCTION static bf16 from_bits(std::uint16_t b) {
    bf16 x;
    x.bits = b;
    return x;
  }

  KOKKOS_INLINE_FUNCTION static std::uint16_t round_to_bits(float f) {
    std::uint32_t u = float_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) {
      return static_cast<std::uint16_t>((u >> 16) | 0x0040u);  // keep sign and payload, force quiet
    }
    u += 0x7fffu + ((u >> 16) & 1u);  // ties go to the even mantissa; overflow rounds to Inf
    return static_cast<std::uint16_t>(u >> 16);
  }
};

static_assert(sizeof(bf16) == 2, "bf16 must be 2 bytes");

// Uniform conversions so templates over the storage type (float or bf16) read the same.
template <class T>
KOKKOS_INLINE_FUNCTION float to_float(T x) {
  return static_cast<float>(x);
}

template <class T>
KOKKOS_INLINE_FUNCTION T from_float(float x) {
  return T(x);
}

template <class T>
constexpr const char* dtype_name();
template <>
constexpr const char* dtype_name<float>() {
  return "float32";
}
template <>
constexpr const char* dtype_name<bf16>() {
  return "bfloat16";
}

}  // namespace galore
