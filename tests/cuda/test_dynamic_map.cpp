// The dynamic 8-bit maps and the rounding rule of kernels/cuda/dynamic_map.hpp (no GPU).
#include "catch.hpp"
#include "kernels/cuda/dynamic_map.hpp"

#include <cmath>

using namespace galore::kernels::cuda;

TEST_CASE("dynamic maps hold 256 ascending values from the bitsandbytes definition",
          "[cuda][quantization]") {
  const auto signed_map = dynamic_map(true);
  const auto unsigned_map = dynamic_map(false);
  for (int i = 1; i < kDynamicMapSize; ++i) {
    CHECK(signed_map[i - 1] < signed_map[i]);
    CHECK(unsigned_map[i - 1] < unsigned_map[i]);
  }
  // Signed: 127 negative values down to -(1 - 0.9/128) (the top decade's outermost midpoint),
  // then 0, 127 positive values and 1.0.
  CHECK(signed_map[0] == Approx(-(1.0 - 0.9 / 128)).epsilon(1e-7));
  CHECK(signed_map[127] == 0.0f);
  CHECK(dynamic_map_zero_code(true) == 127);
  CHECK(signed_map[255] == 1.0f);
  CHECK(signed_map[254] == Approx(0.1 + 63.5 * 0.9 / 64).epsilon(1e-7));
  // Unsigned: 0, 254 positive values with twice the resolution, 1.0.
  CHECK(unsigned_map[0] == 0.0f);
  CHECK(dynamic_map_zero_code(false) == 0);
  CHECK(unsigned_map[255] == 1.0f);
  CHECK(unsigned_map[1] == Approx(1e-6 * (0.1 + 0.5 * 0.9 / 2)).epsilon(1e-6));
  CHECK(unsigned_map[254] == Approx(0.1 + 127.5 * 0.9 / 128).epsilon(1e-7));
}

TEST_CASE("quantize_normalized: nearest entry, ties toward zero, signs kept, clamped",
          "[cuda][quantization]") {
  const auto map = dynamic_map(true);
  for (int c = 0; c < kDynamicMapSize; ++c)
    CHECK(quantize_normalized(map.data(), true, map[c]) == c);
  // A tie between neighbours goes toward zero, on either side; just beyond it goes outward.
  int ties = 0;
  for (int c = 130; c < 253; ++c) {
    const float tie = 0.5f * (map[c] + map[c + 1]);
    if (tie - map[c] != map[c + 1] - tie) continue;  // not an exact midpoint in fp32
    ++ties;
    CHECK(quantize_normalized(map.data(), true, tie) == c);
    CHECK(quantize_normalized(map.data(), true, std::nextafter(tie, 1.0f)) == c + 1);
    const int mirror = 2 * 127 - c;  // the signed map is symmetric about code 127
    REQUIRE(map[mirror] == -map[c]);
    CHECK(quantize_normalized(map.data(), true, -tie) == mirror);
    CHECK(quantize_normalized(map.data(), true, std::nextafter(-tie, -1.0f)) == mirror - 1);
  }
  CHECK(ties > 10);
  // A tiny negative value stays negative rather than rounding to the zero code.
  const std::uint8_t tiny = quantize_normalized(map.data(), true, -1e-9f);
  CHECK(map[tiny] < 0.0f);
  CHECK(quantize_normalized(map.data(), true, 5.0f) == 255);
  CHECK(quantize_normalized(map.data(), true, -5.0f) == 0);  // -0.99297, there is no -1.0
  CHECK(quantize_normalized(map.data(), true, std::nanf("")) == 255);
  CHECK(normalize_by_absmax(3.0f, 0.0f) == 0.0f);
  CHECK(normalize_by_absmax(-3.0f, 4.0f) == -0.75f);
}
