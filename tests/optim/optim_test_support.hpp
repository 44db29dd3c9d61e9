// Small helpers shared by the optimizer tests: random parameters, host copies, exact comparisons.
#pragma once

#include "galore/core/parameter.hpp"
#include "galore/core/rng.hpp"
#include "galore/core/tensor.hpp"
#include "galore/optim/projector.hpp"
#include "reference_optimizers.hpp"

#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace optim_test {

// Row-major host copy of any 2-D view as doubles.
template <class View>
std::vector<double> host_values(const View& v) {
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), v);
  std::vector<double> out;
  out.reserve(v.extent(0) * v.extent(1));
  for (std::size_t i = 0; i < h.extent(0); ++i)
    for (std::size_t j = 0; j < h.extent(1); ++j) out.push_back(galore::to_float(h(i, j)));
  return out;
}

// A [rows x cols] matrix with entries uniform in (lo, hi) from stream `stream`.
template <class T>
galore::Matrix<T> random_matrix(int rows, int cols, std::uint64_t stream, float lo = -1.0f,
                                float hi = 1.0f) {
  galore::Matrix<T> m("random", rows, cols);
  galore::fill_uniform(galore::ExecSpace(), m, galore::CounterRng(77, stream), lo, hi);
  Kokkos::fence();
  return m;
}

template <class T>
galore::Matrix<T> from_host(int rows, int cols, const std::vector<double>& values) {
  galore::Matrix<T> m("from_host", rows, cols);
  auto h = Kokkos::create_mirror_view(m);
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) h(i, j) = galore::from_float<T>(float(values[i * cols + j]));
  Kokkos::deep_copy(m, h);
  return m;
}

template <class T>
galore::Parameter<T> make_parameter(const std::string& name, galore::ParamRole role, int rows,
                                    int cols, std::uint64_t stream) {
  return {name, role, 0, random_matrix<T>(rows, cols, stream, -0.5f, 0.5f),
          galore::Matrix<float>()};
}

// Deep copy of a parameter list (values and gradients), so two optimizers can run side by side.
template <class T>
std::vector<galore::Parameter<T>> clone(const std::vector<galore::Parameter<T>>& params) {
  std::vector<galore::Parameter<T>> out;
  for (const auto& p : params) {
    galore::Parameter<T> c{p.name, p.role, p.layer,
                           galore::Matrix<T>("clone", p.value.extent(0), p.value.extent(1)),
                           galore::Matrix<float>()};
    Kokkos::deep_copy(c.value, p.value);
    out.push_back(c);
  }
  return out;
}

// Sets every parameter's gradient to a fresh random matrix that depends on (step, index).
template <class T>
void set_gradients(std::vector<galore::Parameter<T>>& params, int step, float magnitude = 1.0f) {
  for (std::size_t i = 0; i < params.size(); ++i) {
    params[i].grad = random_matrix<float>(params[i].value.extent(0), params[i].value.extent(1),
                                          1000 * (step + 1) + i, -magnitude, magnitude);
  }
}

inline double max_abs_difference(const std::vector<double>& a, const std::vector<double>& b) {
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
  return worst;
}

// Every state tensor of an optimizer, by name, as raw bytes copied to the host.
template <class Optimizer>
std::map<std::string, std::vector<unsigned char>> state_snapshot(Optimizer& optimizer) {
  std::map<std::string, std::vector<unsigned char>> out;
  optimizer.visit_state([&](const galore::StateTensor& t) {
    std::vector<unsigned char> bytes(t.bytes);
    if (t.on_host) {
      std::memcpy(bytes.data(), t.data, t.bytes);
    } else {
      Kokkos::View<unsigned char*, galore::MemSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> src(
          static_cast<unsigned char*>(t.data), t.bytes);
      Kokkos::View<unsigned char*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> dst(
          bytes.data(), t.bytes);
      Kokkos::deep_copy(dst, src);
    }
    out[t.name] = bytes;
  });
  return out;
}

// One state tensor reinterpreted as values of type V.
template <class V, class Optimizer>
std::vector<V> state_values(Optimizer& optimizer, const std::string& name) {
  const auto snapshot = state_snapshot(optimizer);
  const auto& bytes = snapshot.at(name);
  std::vector<V> out(bytes.size() / sizeof(V));
  std::memcpy(out.data(), bytes.data(), bytes.size());
  return out;
}

// A projector's basis on the host, with the projection written out as plain products.
struct ReferenceBasis {
  int m, n, r;
  std::vector<double> P, Q;  // empty when the side is unused

  std::vector<double> project(const std::vector<double>& g) const {
    std::vector<double> low = g;
    int rows = m;
    if (!P.empty()) low = matmul(P, true, m, r, low, false, m, n), rows = r;
    if (!Q.empty()) low = matmul(low, false, rows, n, Q, true, r, n);
    return low;
  }
  std::vector<double> project_back(const std::vector<double>& low) const {
    std::vector<double> full = low;
    const int cols = Q.empty() ? n : r;
    if (!P.empty()) full = matmul(P, false, m, r, full, false, r, cols);
    if (!Q.empty()) full = matmul(full, false, m, r, Q, false, r, n);
    return full;
  }
};

template <class T>
ReferenceBasis reference_basis(const galore::GaLoreProjector<T>& p, int m, int n) {
  return {m, n, p.rank(), p.left().size() ? host_values(p.left()) : std::vector<double>(),
          p.right().size() ? host_values(p.right()) : std::vector<double>()};
}

}  // namespace optim_test
