#include "catch.hpp"

#include "galore/core/bf16.hpp"
#include "galore/core/tensor.hpp"

#include <cstdint>
#include <limits>
#include <vector>

using galore::bf16;

namespace {

std::uint16_t round_bits(std::uint32_t float_pattern) {
  return bf16(galore::bits_to_float(float_pattern)).bits;
}

}  // namespace

TEST_CASE("bf16 rounds fp32 bit patterns to nearest even", "[bf16]") {
  CHECK(round_bits(0x3f800000u) == 0x3f80);  // 1.0
  CHECK(round_bits(0xc0000000u) == 0xc000);  // -2.0
  CHECK(round_bits(0x40490fdbu) == 0x4049);  // pi: below the halfway point, truncates
  CHECK(round_bits(0x3f808000u) == 0x3f80);  // exact tie, even mantissa stays
  CHECK(round_bits(0x3f818000u) == 0x3f82);  // exact tie, odd mantissa rounds up to even
  CHECK(round_bits(0x3f808001u) == 0x3f81);  // just above the tie rounds up
  CHECK(round_bits(0x3f807fffu) == 0x3f80);  // just below the tie rounds down
  CHECK(round_bits(0x00000001u) == 0x0000);  // smallest denormal flushes to +0 by rounding
  CHECK(round_bits(0x80000000u) == 0x8000);  // -0 keeps its sign
  CHECK(round_bits(0x7f7fffffu) == 0x7f80);  // FLT_MAX rounds up to +Inf
}

TEST_CASE("bf16 preserves Inf and NaN", "[bf16]") {
  CHECK(round_bits(0x7f800000u) == 0x7f80);
  CHECK(round_bits(0xff800000u) == 0xff80);
  CHECK(round_bits(0x7fc00000u) == 0x7fc0);
  const bf16 signalling(galore::bits_to_float(0x7f800001u));  // payload only in the low half
  CHECK((signalling.bits & 0x7f80) == 0x7f80);
  CHECK((signalling.bits & 0x007f) != 0);  // still a NaN, not an Inf
  CHECK(round_bits(0xffc00001u) == 0xffc0);
}

TEST_CASE("every finite bf16 value round-trips through fp32", "[bf16]") {
  int mismatches = 0;
  for (std::uint32_t b = 0; b <= 0xffffu; ++b) {
    const bf16 x = bf16::from_bits(static_cast<std::uint16_t>(b));
    const float f = static_cast<float>(x);
    if (!galore::is_finite(f)) continue;
    if (bf16(f).bits != x.bits) ++mismatches;
  }
  CHECK(mismatches == 0);
}

TEST_CASE("bf16 conversion in a Kokkos kernel equals the host conversion", "[bf16]") {
  const int n = 1 << 16;
  galore::Vector<float> in("in", n);
  galore::Vector<bf16> out("out", n);
  auto in_host = Kokkos::create_mirror_view(in);
  for (int i = 0; i < n; ++i) {
    // Spread over the whole exponent range, with both signs.
    in_host(i) = galore::bits_to_float(static_cast<std::uint32_t>(i) * 65521u);
  }
  Kokkos::deep_copy(in, in_host);
  Kokkos::parallel_for(
      "convert", n, KOKKOS_LAMBDA(int i) { out(i) = bf16(in(i)); });
  auto out_host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), out);
  int mismatches = 0;
  for (int i = 0; i < n; ++i) {
    if (out_host(i).bits != bf16(in_host(i)).bits) ++mismatches;
  }
  CHECK(mismatches == 0);
}
