// Dispatch of the optimizer's 8-bit Adam steps to kernels/cuda (see fused_adam8bit_update.hpp).
// Built only with GALORE_CUDA_DISPATCH.
#include "galore/optim/fused_adam8bit_update.hpp"

#include "galore/core/cuda_dispatch.hpp"
#include "kernels/cuda/adam8bit.hpp"
#include "kernels/cuda/galore_update.hpp"

namespace galore {

namespace {

namespace cd = cuda_dispatch;
namespace kc = kernels::cuda;

// Both sides keep the same format: codes one byte per value, one fp32 absmax per block of
// block_size consecutive values, signed map for m and unsigned map for v (dynamic_map.hpp and
// dynamic_quantization.hpp agree bit for bit: test cuda.formats). The kernels take blocks of at
// most kMaxQuantizationBlock values.
bool kernel_block_size(const Adam8bitRule::Internals& s) {
  return s.block_size >= 1 && s.block_size <= kc::kMaxQuantizationBlock;
}

kc::Adam8bitStep kernel_step(const Adam8bitRule::Internals& s, std::int64_t t, float lr) {
  return {s.beta1, s.beta2, s.eps, lr, s.weight_decay, t};
}

kc::QuantizedState first_moment(const Adam8bitRule::Internals& s) {
  return {s.exp_avg_codes, s.exp_avg_absmax};
}
kc::QuantizedState second_moment(const Adam8bitRule::Internals& s) {
  return {s.exp_avg_sq_codes, s.exp_avg_sq_absmax};
}

}  // namespace

// The kernel computes Adam8bitRule's fp32 operations in the same order; a skipped tensor gets a
// zero direction there (the buffer stays untouched here), which apply_update ignores either way.
// Each value is read and then overwritten by one thread, so the direction may replace the
// gradient in place.
bool fused_adam8bit_direction(const ExecSpace& space, Adam8bitRule& rule,
                              const Matrix<float>& buffer, std::int64_t t, const int* skip) {
  const Adam8bitRule::Internals s = rule.internals();
  if (!kernel_block_size(s) || static_cast<std::int64_t>(buffer.span()) != s.size) return false;
  kc::adam8bit_direction<float>(s.size, s.block_size, kernel_step(s, t, 0.0f), buffer.data(),
                                first_moment(s), second_moment(s), buffer.data(), skip,
                                cd::stream(space));
  return true;
}

// apply_update with Adam8bitRule::coefficients = {pre 0, scale lr, post lr * wd} is the kernel's
// w <- (w - lr D)(1 - lr wd), in fp32 and rounded once to T.
template <class T>
bool fused_adam8bit_update(const ExecSpace& space, MomentRule& rule, const Matrix<float>& grad,
                           const Matrix<T>& weight, std::int64_t t, float lr, const int* skip) {
  auto* adam = dynamic_cast<Adam8bitRule*>(&rule);
  if (adam == nullptr) return false;
  const Adam8bitRule::Internals s = adam->internals();
  if (!kernel_block_size(s) || static_cast<std::int64_t>(grad.span()) != s.size ||
      weight.span() != grad.span()) {
    return false;
  }
  kc::adam8bit_update(s.size, s.block_size, kernel_step(s, t, lr), grad.data(), first_moment(s),
                      second_moment(s), cd::words(weight.data()), skip, cd::stream(space));
  return true;
}

// The projector's sides and storage match galore_update.hpp's: Left P [rows x rank] (R = P^T G,
// update P D), Right Q [rank x cols] (R = G Q^T, update D Q), both row-major in T; the moments
// have the low-rank shape. The Kokkos path's coefficients {0, lr * alpha, lr * wd} are the
// kernel's epilogue a = -lr alpha (1 - lr wd), b = 1 - lr wd. Two-sided projectors stay there.
template <class T>
bool fused_galore_adam8bit_update(const ExecSpace& space, const GaLoreProjector<T>& projector,
                                  MomentRule& rule, const Matrix<float>& grad,
                                  const Matrix<T>& weight, std::int64_t t, float lr, float alpha,
                                  const int* skip) {
  auto* adam = dynamic_cast<Adam8bitRule*>(&rule);
  if (adam == nullptr || projector.side() == ProjectionSide::Both) return false;
  const Adam8bitRule::Internals s = adam->internals();
  const bool left = projector.side() == ProjectionSide::Left;
  const kc::GaLoreShape shape{static_cast<int>(grad.extent(0)), static_cast<int>(grad.extent(1)),
                              projector.rank(),
                              left ? kc::ProjectionSide::Left : kc::ProjectionSide::Right};
  const std::int64_t low_rank =
      static_cast<std::int64_t>(shape.low_rank_rows()) * shape.low_rank_cols();
  if (!kernel_block_size(s) || s.size != low_rank || weight.extent(0) != grad.extent(0) ||
      weight.extent(1) != grad.extent(1)) {
    return false;
  }
  const Matrix<T>& basis = left ? projector.left() : projector.right();
  const kc::GaLoreTensors<typename cd::KernelWord<T>::type> tensors{
      cd::words(weight.data()), grad.data(), cd::words(basis.data()), first_moment(s),
      second_moment(s)};
  const std::size_t workspace_bytes = kc::galore_adam8bit_workspace_bytes(shape, sizeof(T));
  kc::galore_adam8bit_update(cd::blas(space), shape, kernel_step(s, t, lr), alpha, s.block_size,
                             tensors, skip, cd::workspace(space, workspace_bytes));
  return true;
}

template bool fused_adam8bit_update<float>(const ExecSpace&, MomentRule&, const Matrix<float>&,
                                           const Matrix<float>&, std::int64_t, float, const int*);
template bool fused_adam8bit_update<bf16>(const ExecSpace&, MomentRule&, const Matrix<float>&,
                                          const Matrix<bf16>&, std::int64_t, float, const int*);
template bool fused_galore_adam8bit_update<float>(const ExecSpace&, const GaLoreProjector<float>&,
                                                  MomentRule&, const Matrix<float>&,
                                                  const Matrix<float>&, std::int64_t, float, float,
                                                  const int*);
template bool fused_galore_adam8bit_update<bf16>(const ExecSpace&, const GaLoreProjector<bf16>&,
                                                 MomentRule&, const Matrix<float>&,
                                                 const Matrix<bf16>&, std::int64_t, float, float,
                                                 const int*);

}  // namespace galore
