// The CUDA kernels and the Kokkos optimizer must store 8-bit moments in one format: the same 256
// map values, bit for bit, and the same code for every value (built only when galore_optim is).
#include "catch.hpp"
#include "galore/optim/dynamic_quantization.hpp"
#include "kernels/cuda/dynamic_map.hpp"

#include <cmath>
#include <vector>

TEST_CASE("CUDA and Kokkos dynamic 8-bit maps agree bit for bit", "[cuda][quantization]") {
  for (const bool is_signed : {true, false}) {
    const auto cuda_map = galore::kernels::cuda::dynamic_map(is_signed);
    const std::vector<float> kokkos_map = galore::dynamic_map_values(is_signed);
    REQUIRE(kokkos_map.size() == cuda_map.size());
    for (std::size_t i = 0; i < cuda_map.size(); ++i) {
      CHECK(galore::float_bits(kokkos_map[i]) == galore::float_bits(cuda_map[i]));
    }
    const galore::DynamicMap map = galore::make_dynamic_map(is_signed);
    CHECK(map.zero_code == galore::kernels::cuda::dynamic_map_zero_code(is_signed));
    // The Kokkos rounding reads its tables through a DynamicMapRef; host copies serve any backend.
    const auto values = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), map.values);
    const auto buckets = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), map.buckets);
    const galore::DynamicMapRef host_ref{values.data(), buckets.data(), map.zero_code};
    std::vector<float> probes;
    for (int i = -4200; i <= 4200; ++i) {
      probes.push_back(std::sinh(static_cast<float>(i) / 600.0f) /
                       std::sinh(7.0f));  // dense near 0
    }
    for (std::size_t c = 0; c + 1 < cuda_map.size(); ++c) {  // midpoints: ties, and either side
      const float mid = 0.5f * (cuda_map[c] + cuda_map[c + 1]);
      probes.insert(probes.end(), {mid, std::nextafter(mid, -2.0f), std::nextafter(mid, 2.0f)});
    }
    probes.insert(probes.end(), {1.0f, -1.0f, 1.5f, -1.5f, 0.0f, -0.0f, std::nanf("")});
    for (const float x : probes) {
      INFO("x = " << x << (is_signed ? " signed" : " unsigned"));
      CHECK(galore::quantize_normalized(host_ref, x) ==
            galore::kernels::cuda::quantize_normalized(cuda_map.data(), is_signed, x));
    }
  }
}
