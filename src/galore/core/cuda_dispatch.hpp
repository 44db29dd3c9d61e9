// The bridge from the Kokkos layers to the plain-CUDA kernels in kernels/cuda (docs/cuda.md,
// "Dispatch from the Kokkos layers"): the CUDA stream of an execution space instance, one
// BlasContext and one grow-only device workspace per stream, pointer conversions, and the layout
// tests every dispatch point makes before it hands a view's memory to a kernel; also the cuSOLVER
// projector refreshers, which hold a stream and workspaces of their own.
//
// Dispatch is compiled in (GALORE_CUDA_DISPATCH == 1) only when Kokkos runs on CUDA and the
// build links kernels/cuda, which defines GALORE_HAVE_CUDA_KERNELS=1 for the libraries that
// dispatch (the CMake target galore_cuda_dispatch). Otherwise this header declares nothing and
// the portable Kokkos code is the only path. Kernels run on the space's stream, so they are
// ordered with the Kokkos kernels around them without a fence.
#pragma once

#include "galore/core/tensor.hpp"

#if defined(KOKKOS_ENABLE_CUDA) && defined(GALORE_HAVE_CUDA_KERNELS) && GALORE_HAVE_CUDA_KERNELS
#define GALORE_CUDA_DISPATCH 1

#include "kernels/cuda/bf16_bits.hpp"
#include "kernels/cuda/blas_context.hpp"
#include "kernels/cuda/projector_refresh.hpp"

#include <cuda_runtime.h>

#include <cstddef>
#include <type_traits>

namespace galore::cuda_dispatch {

namespace kc = kernels::cuda;

// Views live in the memory of the default execution space; kernels/cuda needs it to be CUDA.
static_assert(std::is_same_v<ExecSpace, Kokkos::Cuda>,
              "galore-kokkos dispatches to kernels/cuda only when Kokkos::Cuda is the default "
              "execution space");

inline cudaStream_t stream(const ExecSpace& space) { return space.cuda_stream(); }

// The cuBLAS/cuBLASLt handles and plan cache of `space`'s stream, created on first use and
// destroyed by Kokkos::finalize.
kc::BlasContext& blas(const ExecSpace& space);

// Device scratch of at least `bytes` for one kernel call on `space`'s stream. Valid until the
// next workspace() call for that stream (stream order makes reuse safe); growing it synchronises
// the stream once.
void* workspace(const ExecSpace& space, std::size_t bytes);

// The cuSOLVER projector refresher (its own stream) for refreshes ordered after `space`'s work,
// one per method and sketch shape; callers set the seed of each refresh (set_seed).
kc::ProjectorRefresher& projector_refresher(const ExecSpace& space, kc::RefreshMethod method,
                                            int oversampling, int power_iterations);

// galore::bf16 is bit for bit the kernels' Bf16Word (both: the upper 16 bits of an fp32).
template <class T>
struct KernelWord {
  using type = T;
};
template <>
struct KernelWord<bf16> {
  using type = kc::Bf16Word;
};
template <>
struct KernelWord<const bf16> {
  using type = const kc::Bf16Word;
};
template <class T>
auto* words(T* p) {
  return reinterpret_cast<typename KernelWord<T>::type*>(p);
}

// Elements between consecutive rows of a 2-D view whose rows are contiguous, or 0 when its last
// index is strided (no kernel takes such a view).
template <class View>
int row_stride(const View& v) {
  static_assert(View::rank == 2, "row_stride takes a matrix");
  if (v.extent(0) <= 1) return static_cast<int>(v.extent(1));
  if (v.extent(1) > 1 && v.stride(1) != 1) return 0;
  return static_cast<int>(v.stride(0));
}

// Rows contiguous and packed: one [rows x cols] block, as the kernels that take no ld expect.
template <class View>
bool packed(const View& v) {
  return row_stride(v) == static_cast<int>(v.extent(1));
}

}  // namespace galore::cuda_dispatch

#else
#define GALORE_CUDA_DISPATCH 0
#endif
