// Non-finite check and weight application kernels.
#include "galore/optim/weight_update.hpp"

namespace galore {

void count_nonfinite(const ExecSpace& space, const Matrix<float>& grad, int* count) {
  const float* g = grad.data();
  Kokkos::View<int, MemSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> result(count);
  Kokkos::parallel_reduce(
      "galore::count_nonfinite", Kokkos::RangePolicy<ExecSpace>(space, 0, grad.span()),
      KOKKOS_LAMBDA(const std::size_t i, int& c) { c += is_finite(g[i]) ? 0 : 1; }, result);
}

template <class T>
void apply_update(const ExecSpace& space, const Matrix<T>& w, const Matrix<float>& direction,
                  const UpdateCoefficients& c, const int* skip) {
  T* wd = w.data();
  const float* d = direction.data();
  const float keep_before = 1.0f - c.pre_decay;
  const float keep_after = 1.0f - c.post_decay;
  const float scale = c.scale;
  Kokkos::parallel_for(
      "galore::apply_update", Kokkos::RangePolicy<ExecSpace>(space, 0, w.span()),
      KOKKOS_LAMBDA(const std::size_t i) {
        if (*skip) return;
        const float updated = to_float(wd[i]) * keep_before - scale * d[i];
        wd[i] = from_float<T>(updated * keep_after);
      });
}

template void apply_update<float>(const ExecSpace&, const Matrix<float>&, const Matrix<float>&,
                                  const UpdateCoefficients&, const int*);
template void apply_update<bf16>(const ExecSpace&, const Matrix<bf16>&, const Matrix<float>&,
                                 const UpdateCoefficients&, const int*);

}  // namespace galore
