// Construction of the dynamic 8-bit maps (see dynamic_map.hpp).
#include "kernels/cuda/dynamic_map.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace galore::kernels::cuda {

std::array<float, kDynamicMapSize> dynamic_map(bool is_signed) {
  constexpr int kDecades = 7;  // 1e-6 .. 1e0
  std::vector<double> values;
  for (int i = 0; i < kDecades; ++i) {
    const int count = is_signed ? (1 << i) : (1 << (i + 1));
    const double width = 0.9 / count;
    const double decade = std::pow(10.0, i - (kDecades - 1));
    for (int k = 0; k < count; ++k) {
      const double value = decade * (0.1 + (k + 0.5) * width);
      values.push_back(value);
      if (is_signed) values.push_back(-value);
    }
  }
  values.push_back(0.0);
  values.push_back(1.0);
  std::sort(values.begin(), values.end());
  if (values.size() != static_cast<std::size_t>(kDynamicMapSize)) {
    throw std::logic_error("dynamic_map: " + std::to_string(values.size()) +
                           " entries instead of 256");
  }
  std::array<float, kDynamicMapSize> map{};
  std::transform(values.begin(), values.end(), map.begin(),
                 [](double v) { return static_cast<float>(v); });
  return map;
}

std::uint8_t dynamic_map_zero_code(bool is_signed) {
  const std::array<float, kDynamicMapSize> map = dynamic_map(is_signed);
  return static_cast<std::uint8_t>(std::find(map.begin(), map.end(), 0.0f) - map.begin());
}

}  // namespace galore::kernels::cuda
