// Rule factory and the subspace rotation shared by every rule.
#include "galore/optim/moment_rule.hpp"

#include "galore/core/gemm.hpp"
#include "galore/optim/adafactor.hpp"
#include "galore/optim/adam8bit.hpp"
#include "galore/optim/adamw.hpp"

namespace galore {

std::unique_ptr<MomentRule> make_moment_rule(OptimizerKind kind, const OptimizerConfig& config,
                                             int rows, int cols, bool factored) {
  switch (kind) {
    case OptimizerKind::AdamW: return std::make_unique<AdamWRule>(config, rows, cols);
    case OptimizerKind::Adam8bit: return std::make_unique<Adam8bitRule>(config, rows, cols);
    case OptimizerKind::Adafactor:
      return std::make_unique<AdafactorRule>(config, rows, cols, factored);
  }
  return nullptr;
}

namespace {

Matrix<float> maybe_squared(const ExecSpace& space, const Matrix<float>& a, bool squared) {
  if (!squared) return a;
  Matrix<float> out("galore::rotation_squared", a.extent(0), a.extent(1));
  Kokkos::parallel_for(
      "galore::square_elements", Kokkos::RangePolicy<ExecSpace>(space, 0, a.span()),
      KOKKOS_LAMBDA(const std::size_t i) { out.data()[i] = a.data()[i] * a.data()[i]; });
  return out;
}

}  // namespace

void rotate_state(const ExecSpace& space, const Matrix<float>& x, const Matrix<float>& left,
                  const Matrix<float>& right, bool squared) {
  if (left.size() > 0) {
    const Matrix<float> l = maybe_squared(space, left, squared);
    Matrix<float> tmp("galore::rotate_state", x.extent(0), x.extent(1));
    gemm(space, Op::N, Op::N, 1.0f, l, x, 0.0f, tmp);
    Kokkos::deep_copy(space, x, tmp);
  }
  if (right.size() > 0) {
    const Matrix<float> r = maybe_squared(space, right, squared);
    Matrix<float> tmp("galore::rotate_state", x.extent(0), x.extent(1));
    gemm(space, Op::N, Op::T, 1.0f, x, r, 0.0f, tmp);
    Kokkos::deep_copy(space, x, tmp);
  }
}

}  // namespace galore
