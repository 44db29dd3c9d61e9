// Deterministic test data and error measures for the CUDA kernel tests.
#pragma once

#include "kernels/cuda/bf16_bits.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace galore::kernels::cuda::testing {

inline std::vector<float> random_floats(std::size_t n, std::uint32_t seed, float lo = -1.0f,
                                        float hi = 1.0f) {
  std::mt19937 engine(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> x(n);
  for (float& v : x) v = dist(engine);
  return x;
}

// Exact widening of stored values (double, float or bf16) to double.
inline double as_double(double x) { return x; }
inline double as_double(float x) { return x; }
inline double as_double(Bf16Word x) { return to_float(x); }

// float -> storage type T (rounded to bf16 for Bf16Word).
template <class T>
std::vector<T> to_storage(const std::vector<float>& x) {
  std::vector<T> out(x.size());
  std::transform(x.begin(), x.end(), out.begin(), [](float v) { return from_float<T>(v); });
  return out;
}

// Stored values -> double (exact).
template <class T>
std::vector<double> to_double(const std::vector<T>& x) {
  std::vector<double> out(x.size());
  std::transform(x.begin(), x.end(), out.begin(), [](T v) { return as_double(v); });
  return out;
}

inline double max_abs(const std::vector<double>& x) {
  double m = 0.0;
  for (double v : x) m = std::max(m, std::fabs(v));
  return m;
}

// max |actual - expected| / max |expected| (test-backend-ops style): one number per tensor,
// insensitive to the scale of the data. Returns infinity for a NaN in `actual`.
template <class T>
double normalized_error(const std::vector<T>& actual, const std::vector<double>& expected) {
  double worst = 0.0;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const double a = as_double(actual[i]);
    if (std::isnan(a)) return INFINITY;
    worst = std::max(worst, std::fabs(a - expected[i]));
  }
  const double scale = max_abs(expected);
  return worst / (scale > 0.0 ? scale : 1.0);
}

// Relative tolerance for values stored in T: fp32 arithmetic, or one bf16 rounding (2^-8).
template <class T>
constexpr double storage_tolerance(double fp32_tolerance) {
  return sizeof(T) == sizeof(float) ? fp32_tolerance : 1.0 / 128.0;
}

}  // namespace galore::kernels::cuda::testing
