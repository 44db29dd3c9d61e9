// Checks of the 8-bit Adam reference (no GPU) against Adam written out in double: the first
// step from a fresh state, a second step from the dequantized first state, and the weight update.
#include "catch.hpp"
#include "kernels/cuda/dynamic_map.hpp"
#include "tests/cuda/reference/adam8bit.hpp"
#include "tests/cuda/test_data.hpp"

#include <cmath>
#include <cstddef>
#include <vector>

using galore::kernels::cuda::Adam8bitStep;
namespace reference = galore::kernels::cuda::reference;
namespace testing = galore::kernels::cuda::testing;

namespace {

// The stored value is the map entry nearest to exact / absmax: no neighbouring entry is closer
// (float slack aside). Beyond the map's ends (-0.99297 is the most negative entry) the end wins.
bool nearest_entry(const reference::HostQuantizedState& state, std::size_t i, int block,
                   bool is_signed, double exact) {
  const auto map = galore::kernels::cuda::dynamic_map(is_signed);
  const int code = state.codes[i];
  const double absmax = state.absmax[i / block];
  const double error = std::fabs(map[code] * absmax - exact);
  const double slack = 1e-6 * std::fabs(exact) + 1e-12;
  const bool below_ok = code == 0 || error <= std::fabs(map[code - 1] * absmax - exact) + slack;
  const bool above_ok = code == 255 || error <= std::fabs(map[code + 1] * absmax - exact) + slack;
  return below_ok && above_ok;
}

}  // namespace

TEST_CASE("reference 8-bit Adam follows Adam on its own dequantized state", "[cuda][reference]") {
  const int block = 64;
  const std::size_t n = 150;  // two full blocks and a partial one
  Adam8bitStep step{0.9f, 0.999f, 1e-6f, 1e-3f, 0.0f, 1};
  reference::HostQuantizedState m = reference::fresh_state(n, block, true);
  reference::HostQuantizedState v = reference::fresh_state(n, block, false);
  const std::vector<float> g1 = testing::random_floats(n, 51);

  // Step 1 from zero moments: m = (1 - b1) g, v = (1 - b2) g^2, so D = g / (|g| + eps): sign(g).
  const std::vector<float> d1 = reference::adam8bit_direction(block, step, g1, m, v);
  const std::vector<float> m1 = reference::dequantize(m, block, true);
  const std::vector<float> v1 = reference::dequantize(v, block, false);
  for (std::size_t i = 0; i < n; ++i) {
    const double g = g1[i];
    CHECK(d1[i] == Approx(g / (std::fabs(g) + 1e-6)).epsilon(1e-5));
    // The moments are formed in fp32, so the fp32 coefficients 1 - b are the exact ones.
    INFO("value " << i << " gradient " << g);
    CHECK(nearest_entry(m, i, block, true, static_cast<double>(1.0f - step.beta1) * g));
    CHECK(nearest_entry(v, i, block, false, static_cast<double>(1.0f - step.beta2) * g * g));
    CHECK(std::signbit(m1[i]) == std::signbit(g1[i]));
  }

  // Step 2 starts from exactly the dequantized step-1 state.
  step.step = 2;
  const std::vector<float> g2 = testing::random_floats(n, 52);
  const std::vector<float> d2 = reference::adam8bit_direction(block, step, g2, m, v);
  const double c1 = 1.0 - 0.9 * 0.9;
  const double c2 = std::sqrt(1.0 - std::pow(0.999, 2.0));
  for (std::size_t i = 0; i < n; ++i) {
    const double m2 = 0.9 * m1[i] + 0.1 * g2[i];
    const double v2 = 0.999 * v1[i] + 0.001 * g2[i] * g2[i];
    CHECK(d2[i] == Approx((c2 / c1) * m2 / (std::sqrt(v2) + c2 * 1e-6)).epsilon(1e-4));
  }
}

TEST_CASE("reference 8-bit Adam weight update is w <- (w - lr D)(1 - lr wd)", "[cuda][reference]") {
  const int block = 32;
  const std::size_t n = 40;
  const Adam8bitStep step{0.9f, 0.999f, 1e-6f, 1e-2f, 0.1f, 1};
  reference::HostQuantizedState m = reference::fresh_state(n, block, true);
  reference::HostQuantizedState v = reference::fresh_state(n, block, false);
  reference::HostQuantizedState m_copy = m;
  reference::HostQuantizedState v_copy = v;
  const std::vector<float> g = testing::random_floats(n, 53);
  std::vector<float> w = testing::random_floats(n, 54);
  const std::vector<float> w0 = w;
  reference::adam8bit_update(block, step, g, m, v, w);
  const std::vector<float> d = reference::adam8bit_direction(block, step, g, m_copy, v_copy);
  for (std::size_t i = 0; i < n; ++i) {
    CHECK(w[i] == Approx((w0[i] - 1e-2 * d[i]) * (1.0 - 1e-3)).epsilon(1e-6));
  }
  CHECK(m.codes == m_copy.codes);
  CHECK(v.absmax == v_copy.absmax);
}
