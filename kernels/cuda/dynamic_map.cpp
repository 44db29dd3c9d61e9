// Construction of the dynamic 8-bit maps (see dynamic_map.hpp).
#include "kernels/cuda/dynamic_map.hpp"

#include "kernels/host/dynamic_map.hpp"

#include <algorithm>

namespace galore::kernels::cuda {

std::array<float, kDynamicMapSize> dynamic_map(bool is_signed) {
  return host::dynamic_map_values(is_signed);
}

std::uint8_t dynamic_map_zero_code(bool is_signed) {
  const std::array<float, kDynamicMapSize> map = dynamic_map(is_signed);
  return static_cast<std::uint8_t>(std::find(map.begin(), map.end(), 0.0f) - map.begin());
}

}  // namespace galore::kernels::cuda
