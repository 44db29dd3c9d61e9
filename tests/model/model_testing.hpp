// What the model tests share: token matrices from host values, host copies of views, single-entry
// reads and writes that work on any backend, central finite differences and the error measure.
#pragma once

#include "galore/core/rng.hpp"
#include "galore/core/tensor.hpp"
#include "galore/model/tokens.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

namespace model_testing {

// A [batch, seq] token matrix on the device from row-major host ids.
inline galore::TokenMatrix make_tokens(int batch, int seq, const std::vector<std::int32_t>& ids) {
  Kokkos::View<std::int32_t**, Kokkos::LayoutRight, galore::MemSpace> tokens("tokens", batch, seq);
  const auto host = Kokkos::create_mirror_view(tokens);
  for (int b = 0; b < batch; ++b)
    for (int s = 0; s < seq; ++s) host(b, s) = ids[b * seq + s];
  Kokkos::deep_copy(tokens, host);
  return tokens;
}

// Row-major host copy of a rank-1 or rank-2 view, widened to double.
template <class View>
std::vector<double> to_host(const View& v) {
  const auto mirror = Kokkos::create_mirror_view_and_copy(galore::HostSpace(), v);
  std::vector<double> out;
  if constexpr (View::rank == 1) {
    for (std::size_t i = 0; i < mirror.extent(0); ++i) out.push_back(galore::to_float(mirror(i)));
  } else {
    for (std::size_t i = 0; i < mirror.extent(0); ++i)
      for (std::size_t j = 0; j < mirror.extent(1); ++j)
        out.push_back(galore::to_float(mirror(i, j)));
  }
  return out;
}

template <class T>
galore::Matrix<T> random_matrix(int rows, int cols, std::uint64_t stream, float std = 1.0f,
                                float mean = 0.0f) {
  galore::Matrix<T> m("random", rows, cols);
  galore::fill_normal(galore::ExecSpace(), m, galore::CounterRng(77, stream), mean, std);
  galore::ExecSpace().fence();
  return m;
}

template <class View>
float get(const View& v, int i, int j) {
  typename View::non_const_value_type x;
  Kokkos::deep_copy(x, Kokkos::subview(v, i, j));
  return galore::to_float(x);
}

template <class View>
void set(const View& v, int i, int j, float value) {
  using T = typename View::non_const_value_type;
  Kokkos::deep_copy(Kokkos::subview(v, i, j), galore::from_float<T>(value));
}

// Fourth-order central difference of `objective` w.r.t. entry (i, j) of v, restoring the entry:
//   (8 (f(w + h) - f(w - h)) - (f(w + 2h) - f(w - 2h))) / (12 h)
// Its truncation error is O(h^4), so h can be large enough that the objective's fp32 rounding,
// divided by h, stays far below the 1e-3 the tests ask for.
template <class View>
double central_difference(const View& v, int i, int j, double step,
                          const std::function<double()>& objective) {
  const float original = get(v, i, j);
  const auto at = [&](double offset) {
    set(v, i, j, static_cast<float>(original + offset));
    return objective();
  };
  const double near = at(step) - at(-step);
  const double far = at(2 * step) - at(-2 * step);
  set(v, i, j, original);
  return (8 * near - far) / (12 * step);
}

// ||a - b|| / ||b||: one number for a set of gradient entries, so that entries near zero (whose
// own relative error is dominated by rounding in the objective) do not decide the check alone.
inline double relative_error(const std::vector<double>& a, const std::vector<double>& b) {
  double diff = 0, norm = 0;
  for (std::size_t k = 0; k < a.size(); ++k) {
    diff += (a[k] - b[k]) * (a[k] - b[k]);
    norm += b[k] * b[k];
  }
  return std::sqrt(diff) / std::max(std::sqrt(norm), 1e-30);
}

// sum_k values[k] * weights[k] in double: a scalar objective whose gradient w.r.t. `values` is
// `weights`.
inline double dot(const std::vector<double>& values, const std::vector<double>& weights) {
  double s = 0;
  for (std::size_t k = 0; k < values.size(); ++k) s += values[k] * weights[k];
  return s;
}

}  // namespace model_testing
