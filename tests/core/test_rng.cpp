#include "catch.hpp"

#include "galore/core/rng.hpp"

#include <cmath>
#include <cstdint>
#include <vector>

namespace {

// Philox4x32-10 takes a 128-bit counter and 64-bit key; CounterRng maps index -> counter words 0-1,
// stream -> words 2-3 and seed -> key.
std::vector<std::uint32_t> philox(std::uint64_t seed, std::uint64_t stream, std::uint64_t index) {
  std::uint32_t w[4];
  galore::CounterRng(seed, stream).words(index, w);
  return {w[0], w[1], w[2], w[3]};
}

template <class Space>
std::vector<float> normals_on(std::uint64_t seed, int n) {
  Kokkos::View<float*, typename Space::memory_space> v("v", n);
  const galore::CounterRng rng(seed, 7);
  Kokkos::parallel_for(
      "normals", Kokkos::RangePolicy<Space>(0, n), KOKKOS_LAMBDA(int i) { v(i) = rng.normal(i); });
  Kokkos::fence();
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), v);
  return std::vector<float>(h.data(), h.data() + n);
}

}  // namespace

TEST_CASE("Philox4x32-10 matches the Random123 known-answer vectors", "[rng]") {
  CHECK(philox(0, 0, 0) ==
        std::vector<std::uint32_t>{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u});
  CHECK(philox(0xffffffffffffffffull, 0xffffffffffffffffull, 0xffffffffffffffffull) ==
        std::vector<std::uint32_t>{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu});
  CHECK(philox(0x299f31d0a4093822ull, 0x0370734413198a2eull, 0x85a308d3243f6a88ull) ==
        std::vector<std::uint32_t>{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u});
}

TEST_CASE("normal samples have mean 0 and variance 1", "[rng]") {
  const int n = 200000;
  const std::vector<float> x = normals_on<galore::ExecSpace>(42, n);
  double sum = 0, sum_sq = 0;
  for (float v : x) {
    sum += v;
    sum_sq += double(v) * v;
  }
  const double mean = sum / n;
  const double var = sum_sq / n - mean * mean;
  // Standard errors: 1/sqrt(n) ~ 0.0022 for the mean, sqrt(2/n) ~ 0.0032 for the variance.
  CHECK(std::abs(mean) < 0.01);
  CHECK(std::abs(var - 1.0) < 0.015);
}

TEST_CASE("random streams are identical on every backend and thread count", "[rng]") {
  const int n = 4099;
  const std::vector<float> on_default = normals_on<galore::ExecSpace>(1234, n);
  const std::vector<float> on_serial = normals_on<Kokkos::Serial>(1234, n);
  // Serial is the one-thread reference; ctest runs this binary at 1 and 2 threads.
  CHECK(on_default == on_serial);
  CHECK(normals_on<galore::ExecSpace>(1235, n) != on_default);  // the seed matters
}

TEST_CASE("fill_normal is a pure function of seed, stream and index", "[rng]") {
  galore::Matrix<galore::bf16> a("a", 64, 33), b("b", 64, 33);
  galore::fill_normal(galore::ExecSpace(), a, galore::CounterRng(9, 1), 0.0f, 0.02f);
  galore::fill_normal(galore::ExecSpace(), b, galore::CounterRng(9, 1), 0.0f, 0.02f);
  auto ha = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), a);
  auto hb = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), b);
  int equal = 0;
  double sum_sq = 0;
  for (int i = 0; i < 64; ++i) {
    for (int j = 0; j < 33; ++j) {
      equal += ha(i, j).bits == hb(i, j).bits;
      const double v = static_cast<float>(ha(i, j));
      sum_sq += v * v;
    }
  }
  CHECK(equal == 64 * 33);
  CHECK(std::sqrt(sum_sq / (64 * 33)) == Approx(0.02).epsilon(0.1));
}
