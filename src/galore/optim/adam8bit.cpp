// The fused dequantize -> Adam update -> requantize kernel (see adam8bit.hpp).
#include "galore/optim/adam8bit.hpp"

#include "galore/core/cuda_dispatch.hpp"
#include "galore/core/math.hpp"

#if GALORE_CUDA_DISPATCH
#include "galore/optim/fused_adam8bit_update.hpp"
#endif

#include <cmath>

namespace galore {

Adam8bitRule::Adam8bitRule(const OptimizerConfig& config, int rows, int cols)
    : beta1_(config.beta1),
      beta2_(config.beta2),
      eps_(config.eps),
      weight_decay_(config.weight_decay),
      rows_(rows),
      cols_(cols),
      block_size_(config.quantization_block_size),
      signed_map_(make_dynamic_map(true)),
      unsigned_map_(make_dynamic_map(false)) {
  const std::int64_t n = static_cast<std::int64_t>(rows) * cols;
  const std::int64_t blocks = quantization_block_count(n, block_size_);
  // All-zero moments: every code is the map's zero, every absmax 0.
  exp_avg_ = {Kokkos::View<std::uint8_t*, MemSpace>("galore::adam8bit::exp_avg", n),
              Vector<float>("galore::adam8bit::exp_avg_absmax", blocks)};
  exp_avg_sq_ = {Kokkos::View<std::uint8_t*, MemSpace>("galore::adam8bit::exp_avg_sq", n),
                 Vector<float>("galore::adam8bit::exp_avg_sq_absmax", blocks)};
  Kokkos::deep_copy(exp_avg_.codes, signed_map_.zero_code);
  Kokkos::deep_copy(exp_avg_sq_.codes, unsigned_map_.zero_code);
}

void Adam8bitRule::compute_direction(const ExecSpace& space, const Matrix<float>& buffer,
                                     std::int64_t t, float /*lr*/, const int* skip) {
#if GALORE_CUDA_DISPATCH
  if (fused_adam8bit_direction(space, *this, buffer, t, skip)) return;
#endif
  const double td = static_cast<double>(t);
  const float correction1 = static_cast<float>(1.0 - std::pow(double(beta1_), td));
  const float correction2 = static_cast<float>(std::sqrt(1.0 - std::pow(double(beta2_), td)));
  const float b1 = beta1_, b2 = beta2_, eps = eps_;
  const std::int64_t n = static_cast<std::int64_t>(buffer.span());
  const int block = block_size_;
  float* g = buffer.data();
  const DynamicMapRef q1 = signed_map_.ref();
  const DynamicMapRef q2 = unsigned_map_.ref();
  const float* map1 = q1.values;
  const float* map2 = q2.values;
  std::uint8_t* c1 = exp_avg_.codes.data();
  std::uint8_t* c2 = exp_avg_sq_.codes.data();
  float* absmax1 = exp_avg_.absmax.data();
  float* absmax2 = exp_avg_sq_.absmax.data();
  using Team = Kokkos::TeamPolicy<ExecSpace>::member_type;
  Kokkos::parallel_for(
      "galore::adam8bit_direction",
      Kokkos::TeamPolicy<ExecSpace>(space, static_cast<int>(quantization_block_count(n, block)),
                                    Kokkos::AUTO),
      KOKKOS_LAMBDA(const Team& team) {
        if (*skip) return;
        const int b = team.league_rank();
        const std::int64_t begin = static_cast<std::int64_t>(b) * block;
        const std::int64_t end = begin + block < n ? begin + block : n;
        const float old_max1 = absmax1[b];
        const float old_max2 = absmax2[b];
        // The new moments are recomputed (not stored) between the absmax pass and the write pass:
        // the same fp32 operations give the same values, and no per-block scratch is needed.
        auto new_m = [&](std::int64_t i) {
          return b1 * (map1[c1[i]] * old_max1) + (1.0f - b1) * g[i];
        };
        auto new_v = [&](std::int64_t i) {
          return b2 * (map2[c2[i]] * old_max2) + (1.0f - b2) * g[i] * g[i];
        };
        float max1 = 0.0f;
        float max2 = 0.0f;
        Kokkos::parallel_reduce(
            Kokkos::TeamThreadRange(team, begin, end),
            [&](const std::int64_t i, float& m) { m = math::max(m, math::abs(new_m(i))); },
            Kokkos::Max<float>(max1));
        Kokkos::parallel_reduce(
            Kokkos::TeamThreadRange(team, begin, end),
            [&](const std::int64_t i, float& m) { m = math::max(m, new_v(i)); },
            Kokkos::Max<float>(max2));
        Kokkos::parallel_for(Kokkos::TeamThreadRange(team, begin, end), [&](const std::int64_t i) {
          const float m = new_m(i);
          const float v = new_v(i);
          g[i] = (correction2 / correction1) * (m / (math::sqrt(v) + correction2 * eps));
          c1[i] = quantize_normalized(q1, normalize_by_absmax(m, max1));
          c2[i] = quantize_normalized(q2, normalize_by_absmax(v, max2));
        });
        team.team_barrier();  // every thread has read the old absmax before it is replaced
        Kokkos::single(Kokkos::PerTeam(team), [&]() {
          absmax1[b] = max1;
          absmax2[b] = max2;
        });
      });
}

Adam8bitRule::Internals Adam8bitRule::internals() {
  return {beta1_,
          beta2_,
          eps_,
          weight_decay_,
          block_size_,
          static_cast<std::int64_t>(rows_) * cols_,
          exp_avg_.codes.data(),
          exp_avg_.absmax.data(),
          exp_avg_sq_.codes.data(),
          exp_avg_sq_.absmax.data()};
}

UpdateCoefficients Adam8bitRule::coefficients(std::int64_t /*t*/, float lr) const {
  return {0.0f, lr, lr * weight_decay_};
}

Matrix<float> Adam8bitRule::dequantized(const ExecSpace& space, const QuantizedMoment& q,
                                        const DynamicMap& map) const {
  Matrix<float> x("galore::adam8bit::dequantized", rows_, cols_);
  dequantize_blockwise(space, map, block_size_, q.codes, q.absmax,
                       Vector<float>(x.data(), x.span()));
  return x;
}

void Adam8bitRule::requantize(const ExecSpace& space, const Matrix<float>& x,
                              const QuantizedMoment& q, const DynamicMap& map) {
  quantize_blockwise(space, map, block_size_, Vector<const float>(x.data(), x.span()), q.codes,
                     q.absmax);
}

Matrix<float> Adam8bitRule::dequantized_exp_avg(const ExecSpace& space) const {
  return dequantized(space, exp_avg_, signed_map_);
}

Matrix<float> Adam8bitRule::dequantized_exp_avg_sq(const ExecSpace& space) const {
  return dequantized(space, exp_avg_sq_, unsigned_map_);
}

void Adam8bitRule::rotate_subspace(const ExecSpace& space, const Matrix<float>& left,
                                   const Matrix<float>& right) {
  const Matrix<float> m = dequantized_exp_avg(space);
  const Matrix<float> v = dequantized_exp_avg_sq(space);
  rotate_state(space, m, left, right, false);
  rotate_state(space, v, left, right, true);
  requantize(space, m, exp_avg_, signed_map_);
  requantize(space, v, exp_avg_sq_, unsigned_map_);
}

void Adam8bitRule::visit_state(const std::string& prefix, const StateVisitor& visitor) {
  visitor(describe_state(prefix + ".exp_avg.codes", exp_avg_.codes));
  visitor(describe_state(prefix + ".exp_avg.absmax", exp_avg_.absmax));
  visitor(describe_state(prefix + ".exp_avg_sq.codes", exp_avg_sq_.codes));
  visitor(describe_state(prefix + ".exp_avg_sq.absmax", exp_avg_sq_.absmax));
}

}  // namespace galore
