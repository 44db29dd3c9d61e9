// The cuBLAS and cuBLASLt handles of one stream, the cuBLASLt workspace and the cache of matmul
// plans (descriptors and heuristic choice per problem), created once and reused every step.
//
// Not thread-safe: one context per host thread and stream. Every GEMM issued through a context
// runs on its stream, asynchronously.
#pragma once

#include "kernels/cuda/device_buffer.hpp"

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <memory>

namespace galore::kernels::cuda {

class MatmulPlanCache;

class BlasContext {
 public:
  // NVIDIA's advice for Hopper is 32 MiB; Ada needs less, and the memory is small either way.
  static constexpr std::size_t kDefaultLtWorkspaceBytes = std::size_t{32} << 20;

  explicit BlasContext(cudaStream_t stream = nullptr,
                       std::size_t lt_workspace_bytes = kDefaultLtWorkspaceBytes);
  ~BlasContext();
  BlasContext(const BlasContext&) = delete;
  BlasContext& operator=(const BlasContext&) = delete;

  cudaStream_t stream() const { return stream_; }
  // Later GEMMs run on `stream`, ordered after the work already enqueued on the old stream (the
  // workspace is shared), without a host synchronisation.
  void set_stream(cudaStream_t stream);

  cublasHandle_t cublas() const { return cublas_; }
  cublasLtHandle_t lt() const { return lt_; }
  void* lt_workspace() { return lt_workspace_.data(); }
  std::size_t lt_workspace_bytes() const { return lt_workspace_.bytes(); }
  MatmulPlanCache& plans() { return *plans_; }

 private:
  cudaStream_t stream_;
  cublasHandle_t cublas_ = nullptr;
  cublasLtHandle_t lt_ = nullptr;
  DeviceBuffer<unsigned char> lt_workspace_;
  std::unique_ptr<MatmulPlanCache> plans_;
};

}  // namespace galore::kernels::cuda
