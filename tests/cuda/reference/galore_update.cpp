// GaLore 8-bit Adam update reference (see galore_update.hpp).
#include "tests/cuda/reference/galore_update.hpp"

#include "kernels/cuda/bf16_bits.hpp"
#include "tests/cuda/reference/gemm.hpp"

#include <cstddef>

namespace galore::kernels::cuda::reference {

namespace {

template <class T>
std::vector<double> widen(const std::vector<T>& x) {
  std::vector<double> out(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) out[i] = static_cast<double>(to_float(x[i]));
  return out;
}

}  // namespace

template <class T>
void galore_adam8bit_update(const GaLoreShape& shape, const Adam8bitStep& step, float alpha,
                            int block_size, const std::vector<float>& grad,
                            const std::vector<T>& projector, HostQuantizedState& exp_avg,
                            HostQuantizedState& exp_avg_sq, std::vector<T>& weight) {
  const int rows = shape.rows;
  const int cols = shape.cols;
  const int rank = shape.rank;
  const bool left = shape.side == ProjectionSide::Left;
  const std::vector<double> g = widen(grad);
  const std::vector<double> p = widen(projector);
  const std::size_t low_n = static_cast<std::size_t>(shape.low_rank_rows()) * shape.low_rank_cols();
  std::vector<double> low(low_n, 0.0);
  if (left) {
    gemm(Op::T, Op::N, rank, cols, rows, 1.0, p, rank, g, cols, 0.0, low, cols);
  } else {
    gemm(Op::N, Op::T, rows, rank, cols, 1.0, g, cols, p, cols, 0.0, low, rank);
  }
  const std::vector<float> low32(low.begin(), low.end());
  const std::vector<float> direction =
      adam8bit_direction(block_size, step, low32, exp_avg, exp_avg_sq);
  std::vector<T> stored(direction.size());
  for (std::size_t i = 0; i < direction.size(); ++i) stored[i] = from_float<T>(direction[i]);
  const std::vector<double> d = widen(stored);
  std::vector<double> back(static_cast<std::size_t>(rows) * cols, 0.0);
  if (left) {
    gemm(Op::N, Op::N, rows, cols, rank, 1.0, p, rank, d, cols, 0.0, back, cols);
  } else {
    gemm(Op::N, Op::N, rows, cols, rank, 1.0, d, rank, p, cols, 0.0, back, cols);
  }
  const float keep_after = 1.0f - step.lr * step.weight_decay;
  const float a = -((step.lr * alpha) * keep_after);
  for (std::size_t i = 0; i < weight.size(); ++i) {
    const double w = static_cast<double>(to_float(weight[i]));
    weight[i] = from_float<T>(static_cast<float>(a * back[i] + keep_after * w));
  }
}

template void galore_adam8bit_update<float>(const GaLoreShape&, const Adam8bitStep&, float, int,
                                            const std::vector<float>&, const std::vector<float>&,
                                            HostQuantizedState&, HostQuantizedState&,
                                            std::vector<float>&);
template void galore_adam8bit_update<Bf16Word>(const GaLoreShape&, const Adam8bitStep&, float, int,
                                               const std::vector<float>&,
                                               const std::vector<Bf16Word>&, HostQuantizedState&,
                                               HostQuantizedState&, std::vector<Bf16Word>&);

}  // namespace galore::kernels::cuda::reference
