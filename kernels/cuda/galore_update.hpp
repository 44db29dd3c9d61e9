// The fused GaLore 8-bit Adam update of one 2-D weight W [rows x cols] (Zhao et al. 2024, Alg. 1
// with bitsandbytes' 8-bit Adam), enqueued without any host synchronisation:
//
//   1. R = project(G)            fp32 GEMM (cuBLAS), G the fp32 gradient
//   2. D = Adam8bit(R)           one fused dequantize -> Adam -> requantize kernel, D in T
//   3. W = (W - lr alpha P(D)) (1 - lr wd)
//                                ONE cuBLASLt GEMM with the epilogue D = a*acc + b*W in place:
//                                a = -lr alpha (1 - lr wd), b = 1 - lr wd, read from device memory
//                                so the skip flag decides them (a = 0, b = 1: W unchanged)
//
// Sides, as galore::GaLoreProjector (src/galore/optim/projector.hpp):
//   Left   P [rows x rank]:  R = P^T G [rank x cols],  W += P D
//   Right  Q [rank x cols]:  R = G Q^T [rows x rank],  W += D Q
// The projector is stored in T (as the Kokkos projector); the projection GEMM widens it to fp32
// in the workspace when T is bf16. Memory passes: G is read once; the weight is read and written
// once; everything else is low-rank. The one rounding the Kokkos path does not do: the low-rank
// direction D is stored in T (bf16) before the back-projection GEMM.
#pragma once

#include "kernels/cuda/adam8bit.hpp"
#include "kernels/cuda/blas_context.hpp"

#include <cstddef>

namespace galore::kernels::cuda {

enum class ProjectionSide { Left, Right };

struct GaLoreShape {
  int rows;
  int cols;
  int rank;
  ProjectionSide side;
  int low_rank_rows() const { return side == ProjectionSide::Left ? rank : rows; }
  int low_rank_cols() const { return side == ProjectionSide::Left ? cols : rank; }
};

template <class T>
struct GaLoreTensors {
  T* weight;               // [rows x cols]
  const float* grad;       // [rows x cols]
  const T* projector;      // Left: P [rows x rank]; Right: Q [rank x cols]
  QuantizedState exp_avg;  // low-rank shape, block_size values per absmax
  QuantizedState exp_avg_sq;
};

// Workspace bytes for T with sizeof(T) == t_bytes (fp32 projector copy for bf16, fp32 projection,
// T direction, two scalars; each 256-byte aligned).
std::size_t galore_adam8bit_workspace_bytes(const GaLoreShape& shape, std::size_t t_bytes);

// alpha: GaLore's scale (the effective learning rate on projected weights is lr * alpha).
// skip: device int, nullable; when non-zero the state and the weight are left untouched.
template <class T>
void galore_adam8bit_update(BlasContext& ctx, const GaLoreShape& shape, const Adam8bitStep& step,
                            float alpha, int block_size, const GaLoreTensors<T>& tensors,
                            const int* skip, void* workspace);

}  // namespace galore::kernels::cuda
