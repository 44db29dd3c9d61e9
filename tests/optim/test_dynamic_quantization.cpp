// The 8-bit dynamic map and block-wise (de)quantization: map properties, error bounds, round trips
// of zeros and extremes, and nearest-code rounding against a brute-force search.
#include "catch.hpp"

#include "galore/optim/dynamic_quantization.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

using galore::dynamic_map_values;

namespace {

struct RoundTrip {
  std::vector<std::uint8_t> codes;
  std::vector<float> absmax;
  std::vector<float> values;
};

RoundTrip round_trip(const std::vector<float>& x, bool is_signed, int block) {
  const galore::DynamicMap map = galore::make_dynamic_map(is_signed);
  const auto n = static_cast<std::int64_t>(x.size());
  galore::Vector<float> input("x", n), output("y", n);
  Kokkos::View<std::uint8_t*, galore::MemSpace> codes("codes", n);
  galore::Vector<float> absmax("absmax", galore::quantization_block_count(n, block));
  auto hx = Kokkos::create_mirror_view(input);
  for (std::int64_t i = 0; i < n; ++i) hx(i) = x[i];
  Kokkos::deep_copy(input, hx);
  galore::quantize_blockwise(galore::ExecSpace(), map, block, input, codes, absmax);
  galore::dequantize_blockwise(galore::ExecSpace(), map, block, codes, absmax, output);
  auto hc = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), codes);
  auto ha = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), absmax);
  auto hy = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), output);
  RoundTrip r;
  for (std::int64_t i = 0; i < n; ++i) r.codes.push_back(hc(i));
  for (std::size_t b = 0; b < ha.extent(0); ++b) r.absmax.push_back(ha(b));
  for (std::int64_t i = 0; i < n; ++i) r.values.push_back(hy(i));
  return r;
}

// The largest gap between neighbouring map entries around normalised value u.
double local_gap(const std::vector<float>& map, double u) {
  if (u < map.front()) return 2 * (map.front() - u);  // below the most negative entry
  const auto it = std::upper_bound(map.begin(), map.end(), static_cast<float>(u));
  const std::size_t hi = std::min<std::size_t>(it - map.begin(), map.size() - 1);
  const std::size_t lo = hi == 0 ? 0 : hi - 1;
  return double(map[hi]) - double(map[lo]);
}

}  // namespace

TEST_CASE("dynamic maps have 256 sorted entries with the documented end points", "[optim][quant]") {
  for (const bool is_signed : {true, false}) {
    const std::vector<float> map = dynamic_map_values(is_signed);
    REQUIRE(map.size() == 256);
    for (std::size_t i = 1; i < map.size(); ++i) CHECK(map[i - 1] < map[i]);
    CHECK(map.back() == 1.0f);
    CHECK(std::count(map.begin(), map.end(), 0.0f) == 1);
    // Smallest positive entry: decade 1e-6, midpoint of the first of 1 (signed) or 2 intervals.
    const float smallest = *std::upper_bound(map.begin(), map.end(), 0.0f);
    CHECK(smallest == Approx(is_signed ? 0.55e-6 : 0.325e-6).epsilon(1e-5));
  }
  const std::vector<float> s = dynamic_map_values(true);
  CHECK(s[127] == 0.0f);
  CHECK(s[0] == Approx(-(1.0 - 0.9 / 128)).epsilon(1e-6));
  for (int k = 1; k <= 127; ++k) CHECK(s[127 - k] == -s[127 + k]);  // symmetric but for 1.0
  const std::vector<float> u = dynamic_map_values(false);
  CHECK(u[0] == 0.0f);
  // Each decade d (1e-6 .. 1) holds 2^(d+1) unsigned entries: resolution grows towards 1.
  for (int d = 0; d < 7; ++d) {
    const double lo = 0.1 * std::pow(10.0, d - 6), hi = std::pow(10.0, d - 6);
    const auto count = std::count_if(u.begin(), u.end(), [&](float v) { return v > lo && v < hi; });
    CHECK(count == (1 << (d + 1)));
  }
}

// Codes for each x (normalised values), computed on the device.
std::vector<std::uint8_t> codes_for(const galore::DynamicMap& map, const std::vector<float>& x) {
  galore::Vector<float> input("x", x.size());
  Kokkos::View<std::uint8_t*, galore::MemSpace> codes("codes", x.size());
  auto hx = Kokkos::create_mirror_view(input);
  for (std::size_t i = 0; i < x.size(); ++i) hx(i) = x[i];
  Kokkos::deep_copy(input, hx);
  const galore::DynamicMapRef ref = map.ref();
  Kokkos::parallel_for(
      "quantize", x.size(),
      KOKKOS_LAMBDA(std::size_t i) { codes(i) = galore::quantize_normalized(ref, input(i)); });
  auto hc = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), codes);
  return std::vector<std::uint8_t>(hc.data(), hc.data() + x.size());
}

TEST_CASE("quantization picks the nearest code (brute-force check)", "[optim][quant]") {
  for (const bool is_signed : {true, false}) {
    const std::vector<float> map = dynamic_map_values(is_signed);
    // A dense grid, every entry, and the midpoints between neighbours nudged both ways.
    std::vector<float> x;
    for (int k = 0; k <= 20000; ++k) x.push_back(is_signed ? -1.0f + k / 10000.0f : k / 20000.0f);
    for (int c = 0; c < 256; ++c) {
      x.push_back(map[c]);
      if (c + 1 < 256) {
        const float mid = 0.5f * (map[c] + map[c + 1]);
        x.push_back(std::nextafter(mid, -2.0f));
        x.push_back(std::nextafter(mid, 2.0f));
      }
    }
    for (float t : {1e-9f, 2e-7f, 3e-7f, 1e-6f, 3e-5f}) {
      x.push_back(t);
      if (is_signed) x.push_back(-t);
    }
    const std::vector<std::uint8_t> codes = codes_for(galore::make_dynamic_map(is_signed), x);
    for (std::size_t k = 0; k < x.size(); ++k) {
      double best = 1e9;
      for (float v : map) best = std::min(best, std::abs(double(v) - x[k]));
      INFO("x = " << x[k] << " code " << int(codes[k]));
      if (is_signed && x[k] < 0 && std::abs(x[k]) < 0.275e-6) {
        CHECK(int(codes[k]) == 126);  // sign rule: the smallest negative entry, not zero
      } else {
        CHECK(std::abs(double(map[codes[k]]) - x[k]) == Approx(best).margin(1e-12));
      }
    }
  }
}

TEST_CASE("block-wise round trip: error bound, zeros and extremes", "[optim][quant]") {
  for (const int block : {256, 2048}) {
    for (const bool is_signed : {true, false}) {
      const std::vector<float> map = dynamic_map_values(is_signed);
      // Three blocks and a ragged tail: random values, an all-zero block, extremes and tiny values.
      const int n = 3 * block + 37;
      std::vector<float> x(n);
      for (int i = 0; i < block; ++i) {
        const float u = std::sin(0.37f * i) * std::exp(-0.01f * (i % 300));
        x[i] = is_signed ? u : std::abs(u);
      }
      for (int i = block; i < 2 * block; ++i) x[i] = 0.0f;
      const float big = 3.5f;
      for (int i = 2 * block; i < n; ++i) x[i] = 1e-9f * (i % 7);
      x[2 * block] = big;
      if (is_signed) x[2 * block + 1] = -big;
      if (is_signed) x[2 * block + 2] = -1e-9f;
      const RoundTrip r = round_trip(x, is_signed, block);
      INFO("block " << block << (is_signed ? " signed" : " unsigned"));

      for (int i = 0; i < n; ++i) {
        const int b = i / block;
        const double a = r.absmax[b];
        if (i < block) {
          // Nearest code: error at most half the local gap, times absmax.
          CHECK(std::abs(r.values[i] - x[i]) <=
                0.5 * local_gap(map, x[i] / a) * a * (1 + 1e-6) + 1e-12);
        }
        if (i >= block && i < 2 * block) CHECK(r.values[i] == 0.0f);  // zeros are exact
      }
      CHECK(r.absmax[1] == 0.0f);
      CHECK(r.absmax[2] == big);
      CHECK(r.values[2 * block] == big);  // +absmax is the map's 1.0: exact
      if (is_signed) {
        // -absmax: the most negative entry is -(1 - 0.9/128), 0.7% short of -1.
        CHECK(r.values[2 * block + 1] == Approx(-big * (1.0 - 0.9 / 128)).epsilon(1e-6));
        // A tiny negative value keeps its sign (smallest negative code); tiny positives become 0.
        CHECK(r.values[2 * block + 2] < 0.0f);
        CHECK(r.values[2 * block + 2] == Approx(-big * 0.55e-6).epsilon(1e-4));
      }
      CHECK(r.values[2 * block + 3] == 0.0f);  // 3e-9 / 3.5 is far below the smallest entry
    }
  }
}

TEST_CASE("values equal to a map entry times absmax round-trip exactly", "[optim][quant]") {
  const std::vector<float> map = dynamic_map_values(true);
  std::vector<float> x;
  for (float v : map) x.push_back(v);  // absmax of the block is 1.0
  const RoundTrip r = round_trip(x, true, 256);
  for (std::size_t i = 0; i < x.size(); ++i) {
    CHECK(r.codes[i] == i);
    CHECK(r.values[i] == x[i]);
  }
}
