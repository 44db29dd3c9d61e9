// Little-endian loads and stores for the on-disk token formats, independent of the host's byte
// order (compilers turn these loops into a single move on little-endian machines).
#pragma once

#include <cstdint>

namespace galore::data {

template <class T>
T load_little_endian(const std::uint8_t* bytes) {
  std::uint64_t value = 0;
  for (unsigned i = 0; i < sizeof(T); ++i) value |= static_cast<std::uint64_t>(bytes[i]) << (8 * i);
  return static_cast<T>(value);
}

template <class T>
void store_little_endian(T value, std::uint8_t* bytes) {
  const auto bits = static_cast<std::uint64_t>(value);
  for (unsigned i = 0; i < sizeof(T); ++i) bytes[i] = static_cast<std::uint8_t>(bits >> (8 * i));
}

}  // namespace galore::data
