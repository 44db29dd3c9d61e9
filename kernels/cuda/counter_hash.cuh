// Counter-based random numbers for device code: a value is a pure function of (seed, index), so
// random fills are reproducible whatever the launch shape.
#pragma once

#include <cstdint>

namespace galore::kernels::cuda::device {

// splitmix64 finaliser (Steele, Lea, Flood 2014).
__device__ inline std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

__device__ inline std::uint64_t counter_hash(std::uint64_t seed, std::uint64_t index) {
  return splitmix64(seed ^ splitmix64(index));
}

// Two independent uniforms in (0, 1) with 24 random bits each.
__device__ inline void uniform_pair(std::uint64_t seed, std::uint64_t index, float& u1, float& u2) {
  const std::uint64_t h = counter_hash(seed, index);
  u1 = (static_cast<float>(h >> 40) + 0.5f) * 0x1p-24f;
  u2 = (static_cast<float>((h >> 16) & 0xffffffu) + 0.5f) * 0x1p-24f;
}

}  // namespace galore::kernels::cuda::device
