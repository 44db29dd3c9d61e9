// bf16 rounding shared by the kernels and the references (no GPU): round-to-nearest-even, NaN
// and Inf kept, overflow to Inf, exact widening.
#include "catch.hpp"
#include "kernels/cuda/bf16_bits.hpp"

#include <cmath>
#include <limits>

using namespace galore::kernels::cuda;

TEST_CASE("bf16 rounding is round-to-nearest-even with NaN and Inf preserved", "[cuda][bf16]") {
  CHECK(round_to_bf16(1.0f) == 0x3f80);
  CHECK(round_to_bf16(-2.0f) == 0xc000);
  CHECK(round_to_bf16(bits_float(0x3f808000u)) == 0x3f80);  // tie: stays even
  CHECK(round_to_bf16(bits_float(0x3f818000u)) == 0x3f82);  // tie: rounds up to even
  CHECK(round_to_bf16(bits_float(0x3f808001u)) == 0x3f81);  // above the tie
  CHECK(round_to_bf16(std::numeric_limits<float>::infinity()) == 0x7f80);
  CHECK(round_to_bf16(-std::numeric_limits<float>::infinity()) == 0xff80);
  CHECK(round_to_bf16(std::numeric_limits<float>::max()) == 0x7f80);  // overflows to Inf
  const Bf16Word nan = round_to_bf16(std::numeric_limits<float>::quiet_NaN());
  CHECK(std::isnan(to_float(nan)));
  CHECK((nan & 0x0040) != 0);                                           // quiet
  CHECK(std::isnan(to_float(round_to_bf16(bits_float(0x7f800001u)))));  // signalling -> quiet NaN
  for (const float x : {0.0f, 1.5f, -3.25f, std::ldexp(1.0f, -70), 65280.0f}) {
    CHECK(to_float(round_to_bf16(x)) == x);  // exactly representable values survive
  }
  CHECK(from_float<float>(0.1f) == 0.1f);
  CHECK(from_float<Bf16Word>(0.1f) == round_to_bf16(0.1f));
}
