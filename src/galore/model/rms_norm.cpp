// RMSNorm forward and hand-written backward.
//
//   y_j = w_j x_j r,  r = (mean_k x_k^2 + eps)^(-1/2)
//   dx_k = r dy_k w_k - (r^3 / n) x_k sum_j dy_j w_j x_j,   dw_j = sum_rows dy_j x_j r
#include "galore/model/rms_norm.hpp"

#include "galore/core/cuda_dispatch.hpp"
#include "galore/core/error.hpp"
#include "galore/core/math.hpp"

#if GALORE_CUDA_DISPATCH
#include "kernels/cuda/rms_norm.hpp"
#endif

namespace galore {

namespace {

using Policy = Kokkos::TeamPolicy<ExecSpace>;
using Member = Policy::member_type;

template <class X, class W, class R, class Y>
void check_shapes(const char* what, const X& x, const W& weight, const R& rstd, const Y& y) {
  if (y.extent(0) != x.extent(0) || y.extent(1) != x.extent(1) || weight.extent(0) != x.extent(1) ||
      rstd.extent(0) != x.extent(0)) {
    throw ShapeError(std::string(what) + ": x" + shape_string(x) + ", weight" +
                     shape_string(weight) + ", rstd" + shape_string(rstd) + ", output" +
                     shape_string(y) + " do not fit");
  }
}

}  // namespace

template <class T>
void rms_norm_forward(const ExecSpace& space, float eps, MatrixRef<const T> x,
                      Vector<const T> weight, MatrixRef<T> y, Vector<float> rstd) {
  check_shapes("rms_norm_forward", x, weight, rstd, y);
  const int n = static_cast<int>(x.extent(1));
#if GALORE_CUDA_DISPATCH
  // kernels/cuda/rms_norm.hpp: the same formula and fp32 rstd, on packed [rows, n] matrices (y may
  // be x); weight and rstd are contiguous vectors here already.
  namespace cd = cuda_dispatch;
  if (n >= 1 && cd::packed(x) && cd::packed(y)) {
    kernels::cuda::rms_norm_forward(static_cast<int>(x.extent(0)), n, eps, cd::words(x.data()),
                                    cd::words(weight.data()), cd::words(y.data()), rstd.data(),
                                    cd::stream(space));
    return;
  }
#endif
  Kokkos::parallel_for(
      "galore::rms_norm_forward", Policy(space, static_cast<int>(x.extent(0)), Kokkos::AUTO),
      KOKKOS_LAMBDA(const Member& team) {
        const int row = team.league_rank();
        float sum_sq = 0.0f;
        Kokkos::parallel_reduce(
            Kokkos::TeamThreadRange(team, n),
            [&](const int j, float& acc) {
              const float v = to_float(x(row, j));
              acc += v * v;
            },
            sum_sq);
        const float r = 1.0f / math::sqrt(sum_sq / static_cast<float>(n) + eps);
        Kokkos::parallel_for(Kokkos::TeamThreadRange(team, n), [&](const int j) {
          y(row, j) = from_float<T>(to_float(x(row, j)) * r * to_float(weight(j)));
        });
        Kokkos::single(Kokkos::PerTeam(team), [&]() { rstd(row) = r; });
      });
}

template <class T>
void rms_norm_backward(const ExecSpace& space, MatrixRef<const T> x, Vector<const T> weight,
                       Vector<const float> rstd, MatrixRef<const T> dy, MatrixRef<T> dx,
                       Vector<float> d_weight) {
  check_shapes("rms_norm_backward", x, weight, rstd, dy);
  check_shapes("rms_norm_backward", x, d_weight, rstd, dx);
  const int rows = static_cast<int>(x.extent(0));
  const int n = static_cast<int>(x.extent(1));
#if GALORE_CUDA_DISPATCH
  // kernels/cuda/rms_norm.hpp: adds into dx and the fp32 d_weight like this function, input
  // gradient first, then the column sums in a fixed order; packed [rows, n] matrices only.
  namespace cd = cuda_dispatch;
  if (n >= 1 && cd::packed(x) && cd::packed(dy) && cd::packed(dx)) {
    kernels::cuda::rms_norm_backward(rows, n, cd::words(x.data()), cd::words(weight.data()),
                                     rstd.data(), cd::words(dy.data()), cd::words(dx.data()),
                                     d_weight.data(), cd::stream(space));
    return;
  }
#endif
  Kokkos::parallel_for(
      "galore::rms_norm_backward_x", Policy(space, rows, Kokkos::AUTO),
      KOKKOS_LAMBDA(const Member& team) {
        const int row = team.league_rank();
        float dot = 0.0f;  // sum_j dy_j w_j x_j
        Kokkos::parallel_reduce(
            Kokkos::TeamThreadRange(team, n),
            [&](const int j, float& acc) {
              acc += to_float(dy(row, j)) * to_float(weight(j)) * to_float(x(row, j));
            },
            dot);
        const float r = rstd(row);
        const float coef = r * r * r * dot / static_cast<float>(n);
        Kokkos::parallel_for(Kokkos::TeamThreadRange(team, n), [&](const int j) {
          const float g =
              r * to_float(dy(row, j)) * to_float(weight(j)) - coef * to_float(x(row, j));
          dx(row, j) = from_float<T>(to_float(dx(row, j)) + g);
        });
      });

  // Column sums over rows, one team per block of columns walking the rows in order: no atomics,
  // so the weight gradient is bitwise reproducible (see embedding_backward).
  constexpr int kColumns = 32;
  Kokkos::parallel_for(
      "galore::rms_norm_backward_weight",
      Policy(space, (n + kColumns - 1) / kColumns, Kokkos::AUTO),
      KOKKOS_LAMBDA(const Member& team) {
        const int col0 = team.league_rank() * kColumns;
        const int width = n - col0 < kColumns ? n - col0 : kColumns;
        for (int row = 0; row < rows; ++row) {
          const float r = rstd(row);
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, width), [&](const int c) {
            const int j = col0 + c;
            d_weight(j) += to_float(dy(row, j)) * to_float(x(row, j)) * r;
          });
        }
      });
}

#define GALORE_INSTANTIATE_RMS_NORM(T)                                                            \
  template void rms_norm_forward<T>(const ExecSpace&, float, MatrixRef<const T>, Vector<const T>, \
                                    MatrixRef<T>, Vector<float>);                                 \
  template void rms_norm_backward<T>(const ExecSpace&, MatrixRef<const T>, Vector<const T>,       \
                                     Vector<const float>, MatrixRef<const T>, MatrixRef<T>,       \
                                     Vector<float>);
GALORE_INSTANTIATE_RMS_NORM(float)
GALORE_INSTANTIATE_RMS_NORM(bf16)
#undef GALORE_INSTANTIATE_RMS_NORM

}  // namespace galore
