// A cheap fingerprint of the model's weights, for checking that data-parallel ranks hold
// identical replicas: any changed bit changes it (with overwhelming probability), and it is
// independent of thread count and execution order (a sum of per-byte hashes modulo 2^64).
#pragma once

#include "galore/core/parameter.hpp"

#include <cstdint>
#include <vector>

namespace galore {

template <class T>
std::uint64_t weights_checksum(const ExecSpace& space, const std::vector<Parameter<T>>& parameters);

}  // namespace galore
