// Counter-based random numbers (Philox4x32-10, Salmon et al., SC'11).
//
// Every value is a pure function of (seed, stream, index): the same on every backend, thread count
// and launch shape, so initialisation and sampling are reproducible wherever a run executes and
// need no RNG state in checkpoints beyond the seed and a position.
#pragma once

#include "galore/core/math.hpp"
#include "galore/core/tensor.hpp"

#include <Kokkos_Core.hpp>

#include <cstdint>

namespace galore {

class CounterRng {
 public:
  KOKKOS_INLINE_FUNCTION CounterRng(std::uint64_t seed, std::uint64_t stream)
      : seed_(seed), stream_(stream) {}

  // Four independent 32-bit words for counter `index`.
  KOKKOS_INLINE_FUNCTION void words(std::uint64_t index, std::uint32_t out[4]) const {
    std::uint32_t c0 = static_cast<std::uint32_t>(index);
    std::uint32_t c1 = static_cast<std::uint32_t>(index >> 32);
    std::uint32_t c2 = static_cast<std::uint32_t>(stream_);
    std::uint32_t c3 = static_cast<std::uint32_t>(stream_ >> 32);
    std::uint32_t k0 = static_cast<std::uint32_t>(seed_);
    std::uint32_t k1 = static_cast<std::uint32_t>(seed_ >> 32);
    for (int round = 0; round < 10; ++round) {
      const std::uint64_t p0 = static_cast<std::uint64_t>(0xD2511F53u) * c0;
      const std::uint64_t p1 = static_cast<std::uint64_t>(0xCD9E8D57u) * c2;
      const std::uint32_t n0 = static_cast<std::uint32_t>(p1 >> 32) ^ c1 ^ k0;
      const std::uint32_t n1 = static_cast<std::uint32_t>(p1);
      const std::uint32_t n2 = static_cast<std::uint32_t>(p0 >> 32) ^ c3 ^ k1;
      const std::uint32_t n3 = static_cast<std::uint32_t>(p0);
      c0 = n0;
      c1 = n1;
      c2 = n2;
      c3 = n3;
      k0 += 0x9E3779B9u;  // Weyl sequence key schedule
      k1 += 0xBB67AE85u;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
  }

  // Uniform in (0, 1): 24 random mantissa bits, offset by half a step so 0 never occurs.
  KOKKOS_INLINE_FUNCTION float uniform(std::uint64_t index) const {
    std::uint32_t w[4];
    words(index, w);
    return to_unit(w[0]);
  }

  // Standard normal by Box-Muller from the first two words of the block.
  KOKKOS_INLINE_FUNCTION float normal(std::uint64_t index) const {
    std::uint32_t w[4];
    words(index, w);
    const float u1 = to_unit(w[0]);
    const float u2 = to_unit(w[1]);
    return math::sqrt(-2.0f * math::log(u1)) * math::cos(6.28318530717958647692f * u2);
  }

  KOKKOS_INLINE_FUNCTION std::uint64_t seed() const { return seed_; }
  KOKKOS_INLINE_FUNCTION std::uint64_t stream() const { return stream_; }

 private:
  KOKKOS_INLINE_FUNCTION static float to_unit(std::uint32_t w) {
    return (static_cast<float>(w >> 8) + 0.5f) * (1.0f / 16777216.0f);
  }

  std::uint64_t seed_;
  std::uint64_t stream_;
};

// Fills a contiguous view with mean + std * N(0,1); element i uses counter i of `rng`.
template <class View>
void fill_normal(const ExecSpace& space, const View& v, const CounterRng& rng, float mean,
                 float std) {
  using T = typename View::non_const_value_type;
  static_assert(View::rank >= 1, "fill_normal needs a view of rank >= 1");
  T* data = v.data();
  Kokkos::parallel_for(
      "galore::fill_normal", Kokkos::RangePolicy<ExecSpace>(space, 0, v.span()),
      KOKKOS_LAMBDA(const std::size_t i) { data[i] = from_float<T>(mean + std * rng.normal(i)); });
}

// Fills a contiguous view with values uniform in (lo, hi).
template <class View>
void fill_uniform(const ExecSpace& space, const View& v, const CounterRng& rng, float lo,
                  float hi) {
  using T = typename View::non_const_value_type;
  T* data = v.data();
  Kokkos::parallel_for(
      "galore::fill_uniform", Kokkos::RangePolicy<ExecSpace>(space, 0, v.span()),
      KOKKOS_LAMBDA(const std::size_t i) {
        data[i] = from_float<T>(lo + (hi - lo) * rng.uniform(i));
      });
}

}  // namespace galore
