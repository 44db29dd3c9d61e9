#include "galore/train/weight_checksum.hpp"

#include "galore/core/bf16.hpp"

namespace galore {
namespace {

// SplitMix64 finaliser: each (position, byte) pair maps to an unrelated 64-bit value.
KOKKOS_INLINE_FUNCTION std::uint64_t mix(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

template <class T>
std::uint64_t weights_checksum(const ExecSpace& space,
                               const std::vector<Parameter<T>>& parameters) {
  std::uint64_t total = 0;
  std::uint64_t position = 0;  // bytes of the earlier parameters: the order matters
  for (const Parameter<T>& p : parameters) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(p.value.data());
    const std::size_t count = p.value.span() * sizeof(T);
    const std::uint64_t base = position;
    std::uint64_t sum = 0;
    Kokkos::parallel_reduce(
        "galore::weights_checksum", Kokkos::RangePolicy<ExecSpace>(space, 0, count),
        KOKKOS_LAMBDA(const std::size_t i, std::uint64_t& acc) {
          acc += mix(((base + i) << 8) ^ bytes[i]);
        },
        sum);
    total += sum;
    position += count;
  }
  return total;
}

template std::uint64_t weights_checksum(const ExecSpace&, const std::vector<Parameter<float>>&);
template std::uint64_t weights_checksum(const ExecSpace&, const std::vector<Parameter<bf16>>&);

}  // namespace galore
