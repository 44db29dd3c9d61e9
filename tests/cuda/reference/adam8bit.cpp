// Bit-exact host mirror of the fused 8-bit Adam kernel (see adam8bit.hpp). Every fp32 expression
// keeps the kernel's (and galore::Adam8bitRule's) operation order; the project compiles as ISO
// C++, where GCC does not contract a * b + c into a fused multiply-add.
#include "tests/cuda/reference/adam8bit.hpp"

#include "kernels/cuda/bf16_bits.hpp"
#include "kernels/cuda/dynamic_map.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace galore::kernels::cuda::reference {

HostQuantizedState fresh_state(std::int64_t n, int block_size, bool is_signed) {
  return {std::vector<std::uint8_t>(static_cast<std::size_t>(n), dynamic_map_zero_code(is_signed)),
          std::vector<float>(static_cast<std::size_t>((n + block_size - 1) / block_size), 0.0f)};
}

std::vector<float> dequantize(const HostQuantizedState& state, int block_size, bool is_signed) {
  const auto map = dynamic_map(is_signed);
  std::vector<float> values(state.codes.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    values[i] = map[state.codes[i]] * state.absmax[i / static_cast<std::size_t>(block_size)];
  }
  return values;
}

std::vector<float> adam8bit_direction(int block_size, const Adam8bitStep& step,
                                      const std::vector<float>& grad, HostQuantizedState& m_state,
                                      HostQuantizedState& v_state) {
  const auto map1 = dynamic_map(true);
  const auto map2 = dynamic_map(false);
  const double t = static_cast<double>(step.step);
  const float b1 = step.beta1;
  const float b2 = step.beta2;
  const float correction1 = static_cast<float>(1.0 - std::pow(static_cast<double>(b1), t));
  const float correction2 =
      static_cast<float>(std::sqrt(1.0 - std::pow(static_cast<double>(b2), t)));
  const std::size_t n = grad.size();
  const std::size_t block = static_cast<std::size_t>(block_size);
  std::vector<float> direction(n);
  std::vector<float> m(block);
  std::vector<float> v(block);
  for (std::size_t begin = 0, b = 0; begin < n; begin += block, ++b) {
    const std::size_t count = std::min(block, n - begin);
    const float old_max1 = m_state.absmax[b];
    const float old_max2 = v_state.absmax[b];
    float max1 = 0.0f;
    float max2 = 0.0f;
    for (std::size_t i = 0; i < count; ++i) {
      const std::size_t at = begin + i;
      const float g = grad[at];
      m[i] = b1 * (map1[m_state.codes[at]] * old_max1) + (1.0f - b1) * g;
      v[i] = b2 * (map2[v_state.codes[at]] * old_max2) + (1.0f - b2) * g * g;
      max1 = std::max(max1, std::fabs(m[i]));
      max2 = std::max(max2, v[i]);
    }
    for (std::size_t i = 0; i < count; ++i) {
      const std::size_t at = begin + i;
      direction[at] =
          (correction2 / correction1) * (m[i] / (std::sqrt(v[i]) + correction2 * step.eps));
      m_state.codes[at] = quantize_normalized(map1.data(), true, normalize_by_absmax(m[i], max1));
      v_state.codes[at] = quantize_normalized(map2.data(), false, normalize_by_absmax(v[i], max2));
    }
    m_state.absmax[b] = max1;
    v_state.absmax[b] = max2;
  }
  return direction;
}

template <class T>
void adam8bit_update(int block_size, const Adam8bitStep& step, const std::vector<float>& grad,
                     HostQuantizedState& m, HostQuantizedState& v, std::vector<T>& weight) {
  const std::vector<float> direction = adam8bit_direction(block_size, step, grad, m, v);
  const float keep_after = 1.0f - step.lr * step.weight_decay;
  for (std::size_t i = 0; i < weight.size(); ++i) {
    const float updated = to_float(weight[i]) - step.lr * direction[i];
    weight[i] = from_float<T>(updated * keep_after);
  }
}

template void adam8bit_update<float>(int, const Adam8bitStep&, const std::vector<float>&,
                                     HostQuantizedState&, HostQuantizedState&, std::vector<float>&);
template void adam8bit_update<Bf16Word>(int, const Adam8bitStep&, const std::vector<float>&,
                                        HostQuantizedState&, HostQuantizedState&,
                                        std::vector<Bf16Word>&);

}  // namespace galore::kernels::cuda::reference
