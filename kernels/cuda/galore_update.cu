// Orchestration of the fused GaLore 8-bit Adam update (see galore_update.hpp).
#include "kernels/cuda/galore_update.hpp"

#include "kernels/cuda/cuda_check.hpp"
#include "kernels/cuda/gemm.hpp"

#include <cstdint>
#include <string>

namespace galore::kernels::cuda {

namespace {

constexpr std::size_t kAlign = 256;

std::size_t aligned(std::size_t bytes) { return (bytes + kAlign - 1) / kAlign * kAlign; }

struct WorkspaceLayout {
  std::size_t projection;  // fp32 low-rank projection R
  std::size_t direction;   // T direction D
  std::size_t scalars;     // the back-projection GEMM's alpha and beta
  std::size_t total;
};

std::size_t projector_elements(const GaLoreShape& s) {
  return static_cast<std::size_t>(s.side == ProjectionSide::Left ? s.rows : s.cols) *
         static_cast<std::size_t>(s.rank);
}

std::size_t low_rank_elements(const GaLoreShape& s) {
  return static_cast<std::size_t>(s.low_rank_rows()) * static_cast<std::size_t>(s.low_rank_cols());
}

// The fp32 projector copy sits at offset 0 and is only needed for a bf16 projector.
WorkspaceLayout layout_of(const GaLoreShape& s, std::size_t t_bytes) {
  WorkspaceLayout l{};
  l.projection = t_bytes == sizeof(float) ? 0 : aligned(projector_elements(s) * sizeof(float));
  l.direction = l.projection + aligned(low_rank_elements(s) * sizeof(float));
  l.scalars = l.direction + aligned(low_rank_elements(s) * t_bytes);
  l.total = l.scalars + aligned(2 * sizeof(float));
  return l;
}

__global__ void widen_kernel(std::int64_t n, const Bf16Word* in, float* out) {
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    out[i] = to_float(in[i]);
  }
}

// The back-projection's epilogue scalars, or (0, 1) to leave the weight as it is.
__global__ void update_scalars_kernel(const int* skip, float alpha, float beta, float* scalars) {
  const bool skipped = skip != nullptr && *skip != 0;
  scalars[0] = skipped ? 0.0f : alpha;
  scalars[1] = skipped ? 1.0f : beta;
}

const float* projector_as_float(const float* projector, std::size_t, float*, cudaStream_t) {
  return projector;
}

const float* projector_as_float(const Bf16Word* projector, std::size_t n, float* widened,
                                cudaStream_t stream) {
  constexpr int kThreads = 256;
  const std::size_t blocks = (n + kThreads - 1) / kThreads;
  widen_kernel<<<static_cast<unsigned>(blocks < 65536 ? blocks : 65536), kThreads, 0, stream>>>(
      static_cast<std::int64_t>(n), projector, widened);
  check_launch("widen_kernel");
  return widened;
}

void check_shape(const char* fn, const GaLoreShape& s) {
  require(s.rows >= 1 && s.cols >= 1 && s.rank >= 1 && s.rank <= s.rows && s.rank <= s.cols, fn,
          "need 1 <= rank <= min(rows, cols), got rows=" + std::to_string(s.rows) +
              " cols=" + std::to_string(s.cols) + " rank=" + std::to_string(s.rank));
}

}  // namespace

std::size_t galore_adam8bit_workspace_bytes(const GaLoreShape& shape, std::size_t t_bytes) {
  check_shape("galore_adam8bit_workspace_bytes", shape);
  return layout_of(shape, t_bytes).total;
}

template <class T>
void galore_adam8bit_update(BlasContext& ctx, const GaLoreShape& shape, const Adam8bitStep& step,
                            float alpha, int block_size, const GaLoreTensors<T>& tensors,
                            const int* skip, void* workspace) {
  const char* fn = "galore_adam8bit_update";
  check_shape(fn, shape);
  require(tensors.weight != nullptr && tensors.grad != nullptr && tensors.projector != nullptr &&
              workspace != nullptr,
          fn, "weight, grad, projector and workspace must be non-null");
  const cudaStream_t stream = ctx.stream();
  const WorkspaceLayout l = layout_of(shape, sizeof(T));
  auto* base = static_cast<unsigned char*>(workspace);
  float* projection = reinterpret_cast<float*>(base + l.projection);
  T* direction = reinterpret_cast<T*>(base + l.direction);
  float* scalars = reinterpret_cast<float*>(base + l.scalars);
  const int rows = shape.rows;
  const int cols = shape.cols;
  const int rank = shape.rank;
  const bool left = shape.side == ProjectionSide::Left;

  // 1. R = P^T G [rank x cols] or G Q^T [rows x rank], fp32.
  const float* projector32 = projector_as_float(tensors.projector, projector_elements(shape),
                                                reinterpret_cast<float*>(base), stream);
  if (left) {
    gemm(ctx, Op::T, Op::N, rank, cols, rows, 1.0f, projector32, rank, tensors.grad, cols, 0.0f,
         projection, cols);
  } else {
    gemm(ctx, Op::N, Op::T, rows, rank, cols, 1.0f, tensors.grad, cols, projector32, cols, 0.0f,
         projection, rank);
  }
  // 2. The low-rank direction, state updated in the same pass.
  adam8bit_direction<T>(static_cast<std::int64_t>(low_rank_elements(shape)), block_size, step,
                        projection, tensors.exp_avg, tensors.exp_avg_sq, direction, skip, stream);
  // 3. W = a * P(D) + b * W in one GEMM; a and b as galore::apply_update's coefficients
  //    (scale lr * alpha, post-decay lr * wd), folded: (W - s X)(1 - d) = (1 - d) W - s (1 - d) X.
  const float keep_after = 1.0f - step.lr * step.weight_decay;
  const float scale = step.lr * alpha;
  update_scalars_kernel<<<1, 1, 0, stream>>>(skip, -(scale * keep_after), keep_after, scalars);
  check_launch("update_scalars_kernel");
  const GemmShape back{Op::N, Op::N, rows, cols, rank, 1};
  const MatrixOperand<const T> w_in{tensors.weight, cols, 0};
  const MatrixOperand<T> w_out{tensors.weight, cols, 0};
  if (left) {
    gemm_device_scalars<T>(ctx, back, scalars, {tensors.projector, rank, 0}, {direction, cols, 0},
                           w_in, w_out);
  } else {
    gemm_device_scalars<T>(ctx, back, scalars, {direction, rank, 0}, {tensors.projector, cols, 0},
                           w_in, w_out);
  }
}

template void galore_adam8bit_update<float>(BlasContext&, const GaLoreShape&, const Adam8bitStep&,
                                            float, int, const GaLoreTensors<float>&, const int*,
                                            void*);
template void galore_adam8bit_update<Bf16Word>(BlasContext&, const GaLoreShape&,
                                               const Adam8bitStep&, float, int,
                                               const GaLoreTensors<Bf16Word>&, const int*, void*);

}  // namespace galore::kernels::cuda
