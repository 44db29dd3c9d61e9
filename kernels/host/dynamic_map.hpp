// The 256 values of the block-wise dynamic 8-bit map (Dettmers et al., "8-bit Optimizers via
// Block-wise Quantization", ICLR 2022; bitsandbytes' create_dynamic_map with 7 exponent bits).
//
// Seven decades 1e-6 .. 1e0: decade i holds 2^i (signed map) or 2^(i+1) (unsigned map) midpoints of
// equal sub-intervals of [0.1, 1], scaled by 10^(i-6); with 0 and 1.0 that is exactly 256 entries
// (signed: 127 negative, 0, 127 positive and 1.0; unsigned: 0, 254 positive, 1.0).
//
// Header-only on purpose: the Kokkos optimizers (src/galore/optim) and the CUDA kernels
// (kernels/cuda, also built on their own without the host BLAS library) share this one definition.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

namespace galore::kernels::host {

constexpr int kDynamicMapSize = 256;

// Ascending.
inline std::array<float, kDynamicMapSize> dynamic_map_values(bool is_signed) {
  constexpr int kDecades = 7;
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
  // 2 + sum over decades of (signed ? 2 * 2^i : 2^(i+1)) = 2 + 2 * 127 = 256 for both maps.
  std::array<float, kDynamicMapSize> map{};
  std::transform(values.begin(), values.end(), map.begin(),
                 [](double v) { return static_cast<float>(v); });
  return map;
}

}  // namespace galore::kernels::host
