// GaLore projector refresh on the GPU with cuSOLVER, on its own stream so that a refresh overlaps
// the training stream's work on other parameters (only the parameter being refreshed waits).
//
// The basis is the top-`rank` singular subspace of the fp32 gradient G [rows x cols]:
//   Left   P [rows x rank], the leading left singular vectors   (GaLoreShape::side == Left)
//   Right  Q [rank x cols], the leading right singular vectors as rows
// written in T (float or Bf16Word), as galore::GaLoreProjector stores it. Methods:
//   Svd         exact thin SVD by Jacobi rotations (cusolverDnSgesvdj) of a copy of G
//   Randomized  range finder (Halko, Martinsson, Tropp 2011, Alg. 4.4): Gaussian sketch of
//               rank + oversampling columns, power iterations re-orthonormalised by Householder QR
//               (geqrf + orgqr), then the exact SVD of the small projected matrix (gesvdj)
// The randomized sketch is counter-based (seed, index), so a refresh is reproducible; it is not
// the same sketch as the Kokkos path's, so the two agree up to the usual range-finder accuracy.
//
// Failure handling without host synchronisation: when G holds a NaN or Inf, or the solver
// reports an error, the projector keeps its old contents and the refresh is counted in
// rejected_refreshes() (which does synchronise).
#pragma once

#include "kernels/cuda/blas_context.hpp"
#include "kernels/cuda/device_buffer.hpp"
#include "kernels/cuda/galore_update.hpp"

#include <cuda_runtime.h>
#include <cusolverDn.h>

#include <cstdint>
#include <memory>

namespace galore::kernels::cuda {

enum class RefreshMethod { Svd, Randomized };

struct RefreshOptions {
  RefreshMethod method = RefreshMethod::Randomized;
  int oversampling = 8;      // extra sketch columns
  int power_iterations = 2;  // passes through G G^T
  std::uint64_t seed = 0;
};

class ProjectorRefresher {
 public:
  explicit ProjectorRefresher(const RefreshOptions& options);
  ~ProjectorRefresher();
  ProjectorRefresher(const ProjectorRefresher&) = delete;
  ProjectorRefresher& operator=(const ProjectorRefresher&) = delete;

  // Enqueues a refresh on stream() after the work enqueued on `producer` so far. `grad` must stay
  // unchanged until the refresh is done (wait()). Grows the workspace (one host synchronisation)
  // the first time a larger shape arrives.
  template <class T>
  void enqueue(const float* grad, const GaLoreShape& shape, T* projector, cudaStream_t producer);

  // Orders `consumer` after every refresh enqueued so far, on the device.
  void wait(cudaStream_t consumer);

  // Synchronises stream() and returns the number of refreshes rejected since construction.
  int rejected_refreshes();

  // The Gaussian sketch seed of later randomized refreshes (RefreshOptions::seed until then), so
  // one refresher serves every parameter and step with the seeds its caller derives for them.
  void set_seed(std::uint64_t seed) { options_.seed = seed; }

  cudaStream_t stream() const { return stream_; }

 private:
  struct Plan;  // buffer offsets and sizes of one refresh
  Plan plan_for(const GaLoreShape& shape);
  void reserve(std::size_t data_floats, int solver_floats);
  void run_randomized(const float* grad, const GaLoreShape& shape, const Plan& plan);
  void run_svd(const float* grad, const GaLoreShape& shape, const Plan& plan);

  RefreshOptions options_;
  cudaStream_t stream_ = nullptr;
  cudaEvent_t producer_done_ = nullptr;
  cudaEvent_t refresh_done_ = nullptr;
  cusolverDnHandle_t solver_ = nullptr;
  gesvdjInfo_t gesvdj_params_ = nullptr;
  std::unique_ptr<BlasContext> blas_;  // bound to stream_
  DeviceBuffer<float> data_;
  DeviceBuffer<float> solver_work_;
  DeviceBuffer<int> status_;  // [0] non-finite gradient values, [1] QR info, [2] SVD info,
                              // [3] rejected refreshes so far
};

}  // namespace galore::kernels::cuda
