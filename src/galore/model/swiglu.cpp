// SwiGLU element-wise forward and backward, in fp32 arithmetic.
//   silu'(g) = s (1 + g (1 - s)),  s = sigmoid(g)
#include "galore/model/swiglu.hpp"

#include "galore/core/cuda_dispatch.hpp"
#include "galore/core/error.hpp"
#include "galore/core/math.hpp"

#if GALORE_CUDA_DISPATCH
#include "kernels/cuda/swiglu.hpp"
#endif

#include <string>

namespace galore {

namespace {

template <class A, class... Rest>
void check_same_shape(const char* what, const A& first, const Rest&... rest) {
  const bool same =
      ((rest.extent(0) == first.extent(0) && rest.extent(1) == first.extent(1)) && ...);
  if (!same) {
    std::string shapes = shape_string(first);
    ((shapes += ", " + shape_string(rest)), ...);
    throw ShapeError(std::string(what) + ": operands must share one shape, got " + shapes);
  }
}

KOKKOS_INLINE_FUNCTION float sigmoid(float g) { return 1.0f / (1.0f + math::exp(-g)); }

}  // namespace

template <class T>
void swiglu_forward(const ExecSpace& space, MatrixRef<const T> gate, MatrixRef<const T> up,
                    MatrixRef<T> out) {
  check_same_shape("swiglu_forward", gate, up, out);
#if GALORE_CUDA_DISPATCH
  // kernels/cuda/swiglu.hpp: the same element-wise fp32 formula; gate and up share one row
  // stride (ld_gate_up), out has its own.
  namespace cd = cuda_dispatch;
  const int ld_gate_up = cd::row_stride(gate);
  const int ld_out = cd::row_stride(out);
  if (out.extent(1) >= 1 && ld_gate_up != 0 && cd::row_stride(up) == ld_gate_up && ld_out != 0) {
    kernels::cuda::swiglu_forward(static_cast<int>(out.extent(0)), static_cast<int>(out.extent(1)),
                                  cd::words(gate.data()), cd::words(up.data()), ld_gate_up,
                                  cd::words(out.data()), ld_out, cd::stream(space));
    return;
  }
#endif
  Kokkos::parallel_for(
      "galore::swiglu_forward",
      Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>>(
          space, {0, 0}, {static_cast<int>(out.extent(0)), static_cast<int>(out.extent(1))}),
      KOKKOS_LAMBDA(const int i, const int j) {
        const float g = to_float(gate(i, j));
        out(i, j) = from_float<T>(g * sigmoid(g) * to_float(up(i, j)));
      });
}

template <class T>
void swiglu_backward(const ExecSpace& space, MatrixRef<const T> gate, MatrixRef<const T> up,
                     MatrixRef<const T> d_out, MatrixRef<T> d_gate, MatrixRef<T> d_up) {
  check_same_shape("swiglu_backward", gate, up, d_out, d_gate, d_up);
#if GALORE_CUDA_DISPATCH
  // kernels/cuda/swiglu.hpp: gate, up, d_gate and d_up share one row stride, d_out has its own;
  // d_up may alias d_out there as here (each element's d_out is read before d_up is written).
  namespace cd = cuda_dispatch;
  const int ld_gate_up = cd::row_stride(gate);
  const int ld_out = cd::row_stride(d_out);
  if (gate.extent(1) >= 1 && ld_gate_up != 0 && cd::row_stride(up) == ld_gate_up &&
      cd::row_stride(d_gate) == ld_gate_up && cd::row_stride(d_up) == ld_gate_up && ld_out != 0) {
    kernels::cuda::swiglu_backward(
        static_cast<int>(gate.extent(0)), static_cast<int>(gate.extent(1)), cd::words(gate.data()),
        cd::words(up.data()), ld_gate_up, cd::words(d_out.data()), ld_out, cd::words(d_gate.data()),
        cd::words(d_up.data()), cd::stream(space));
    return;
  }
#endif
  Kokkos::parallel_for(
      "galore::swiglu_backward",
      Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>>(
          space, {0, 0}, {static_cast<int>(gate.extent(0)), static_cast<int>(gate.extent(1))}),
      KOKKOS_LAMBDA(const int i, const int j) {
        const float g = to_float(gate(i, j));
        const float u = to_float(up(i, j));
        const float d = to_float(d_out(i, j));  // read before d_up, which may alias it, is written
        const float s = sigmoid(g);
        d_gate(i, j) = from_float<T>(d * u * s * (1.0f + g * (1.0f - s)));
        d_up(i, j) = from_float<T>(d * g * s);
      });
}

#define GALORE_INSTANTIATE_SWIGLU(T)                                                         \
  template void swiglu_forward<T>(const ExecSpace&, MatrixRef<const T>, MatrixRef<const T>,  \
                                  MatrixRef<T>);                                             \
  template void swiglu_backward<T>(const ExecSpace&, MatrixRef<const T>, MatrixRef<const T>, \
                                   MatrixRef<const T>, MatrixRef<T>, MatrixRef<T>);
GALORE_INSTANTIATE_SWIGLU(float)
GALORE_INSTANTIATE_SWIGLU(bf16)
#undef GALORE_INSTANTIATE_SWIGLU

}  // namespace galore
