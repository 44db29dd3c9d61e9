// Dynamic map construction and the stand-alone block-wise (de)quantization kernels.
#include "galore/optim/dynamic_quantization.hpp"

#include "galore/core/error.hpp"
#include "kernels/host/dynamic_map.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <cmath>

namespace galore {

std::vector<float> dynamic_map_values(bool is_signed) {
  const auto map = kernels::host::dynamic_map_values(is_signed);
  return std::vector<float>(map.begin(), map.end());
}

DynamicMap make_dynamic_map(bool is_signed) {
  const std::vector<float> host = dynamic_map_values(is_signed);
  DynamicMap map;
  map.values = Kokkos::View<float*, MemSpace>("galore::dynamic_map", kDynamicMapSize);
  Kokkos::View<const float*, HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> src(host.data(),
                                                                                     host.size());
  Kokkos::deep_copy(map.values, src);
  map.is_signed = is_signed;
  map.zero_code =
      static_cast<std::uint8_t>(std::find(host.begin(), host.end(), 0.0f) - host.begin());

  // For every bf16 bucket of |x| below 1: the last non-negative entry at or below its start.
  const float* mag = host.data() + map.zero_code;
  const int count = kDynamicMapSize - map.zero_code;
  std::vector<std::uint8_t> buckets(kMagnitudeBuckets);
  int m = 0;
  for (int b = 0; b < kMagnitudeBuckets; ++b) {
    const float start = bits_to_float(static_cast<std::uint32_t>(b) << 16);
    while (m + 1 < count && mag[m + 1] <= start) ++m;
    buckets[b] = static_cast<std::uint8_t>(m);
    // The lookup takes at most one step past the table's entry: check that no bucket holds two.
    const float end = bits_to_float(static_cast<std::uint32_t>(b + 1) << 16);
    if (m + 2 < count && mag[m + 2] < end) {
      throw NumericError(fmt::format("dynamic map: two entries in magnitude bucket {}", b));
    }
  }
  map.buckets =
      Kokkos::View<std::uint8_t*, MemSpace>("galore::dynamic_map_buckets", buckets.size());
  // A mirror rather than an unmanaged view of `buckets`: Kokkos 4.6 under nvcc 13 cannot build an
  // unmanaged host view of uint8_t from a pointer.
  const auto bucket_mirror = Kokkos::create_mirror_view(map.buckets);
  std::copy(buckets.begin(), buckets.end(), bucket_mirror.data());
  Kokkos::deep_copy(map.buckets, bucket_mirror);
  return map;
}

void quantize_blockwise(const ExecSpace& space, const DynamicMap& map, int block_size,
                        const Vector<const float>& x,
                        const Kokkos::View<std::uint8_t*, MemSpace>& codes,
                        const Vector<float>& absmax) {
  const std::int64_t n = static_cast<std::int64_t>(x.extent(0));
  const std::int64_t blocks = quantization_block_count(n, block_size);
  if (codes.extent(0) != x.extent(0) || static_cast<std::int64_t>(absmax.extent(0)) != blocks) {
    throw ShapeError(
        fmt::format("quantize_blockwise: x [{}], codes [{}], absmax [{}] (expected {})", n,
                    codes.extent(0), absmax.extent(0), blocks));
  }
  const DynamicMapRef table = map.ref();
  using Team = Kokkos::TeamPolicy<ExecSpace>::member_type;
  Kokkos::parallel_for(
      "galore::quantize_blockwise",
      Kokkos::TeamPolicy<ExecSpace>(space, static_cast<int>(blocks), Kokkos::AUTO),
      KOKKOS_LAMBDA(const Team& team) {
        const std::int64_t begin = static_cast<std::int64_t>(team.league_rank()) * block_size;
        const std::int64_t end = begin + block_size < n ? begin + block_size : n;
        float block_max = 0.0f;
        Kokkos::parallel_reduce(
            Kokkos::TeamThreadRange(team, begin, end),
            [&](const std::int64_t i, float& m) { m = math::max(m, math::abs(x(i))); },
            Kokkos::Max<float>(block_max));
        Kokkos::parallel_for(Kokkos::TeamThreadRange(team, begin, end), [&](const std::int64_t i) {
          codes(i) = quantize_normalized(table, normalize_by_absmax(x(i), block_max));
        });
        Kokkos::single(Kokkos::PerTeam(team), [&]() { absmax(team.league_rank()) = block_max; });
      });
}

void dequantize_blockwise(const ExecSpace& space, const DynamicMap& map, int block_size,
                          const Kokkos::View<const std::uint8_t*, MemSpace>& codes,
                          const Vector<const float>& absmax, const Vector<float>& x) {
  const std::int64_t n = static_cast<std::int64_t>(x.extent(0));
  if (codes.extent(0) != x.extent(0) ||
      static_cast<std::int64_t>(absmax.extent(0)) != quantization_block_count(n, block_size)) {
    throw ShapeError(fmt::format("dequantize_blockwise: x [{}], codes [{}], absmax [{}]", n,
                                 codes.extent(0), absmax.extent(0)));
  }
  const float* table = map.values.data();
  Kokkos::parallel_for(
      "galore::dequantize_blockwise", Kokkos::RangePolicy<ExecSpace>(space, 0, n),
      KOKKOS_LAMBDA(const std::int64_t i) { x(i) = table[codes(i)] * absmax(i / block_size); });
}

}  // namespace galore
