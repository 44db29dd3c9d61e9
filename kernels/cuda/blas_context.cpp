// cuBLAS/cuBLASLt handle lifetime and stream binding (see blas_context.hpp).
#include "kernels/cuda/blas_context.hpp"

#include "kernels/cuda/cuda_check.hpp"
#include "kernels/cuda/matmul_plan_cache.hpp"

namespace galore::kernels::cuda {

BlasContext::BlasContext(cudaStream_t stream, std::size_t lt_workspace_bytes)
    : stream_(stream),
      lt_workspace_(lt_workspace_bytes),
      plans_(std::make_unique<MatmulPlanCache>()) {
  check_cublas(cublasCreate(&cublas_), "cublasCreate");
  try {
    check_cublas(cublasSetStream(cublas_, stream_), "cublasSetStream");
    check_cublas(cublasSetPointerMode(cublas_, CUBLAS_POINTER_MODE_HOST), "cublasSetPointerMode");
    // fp32 GEMMs stay fp32: no TF32 tensor-core rounding of the operands.
    check_cublas(cublasSetMathMode(cublas_, CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
    check_cublas(cublasLtCreate(&lt_), "cublasLtCreate");
  } catch (...) {
    cublasDestroy(cublas_);
    throw;
  }
}

BlasContext::~BlasContext() {
  plans_.reset();  // plan descriptors before the handle they were made for
  if (lt_ != nullptr) cublasLtDestroy(lt_);
  cublasDestroy(cublas_);
}

void BlasContext::set_stream(cudaStream_t stream) {
  if (stream == stream_) return;
  cudaEvent_t done = nullptr;
  check_cuda(cudaEventCreateWithFlags(&done, cudaEventDisableTiming), "cudaEventCreateWithFlags");
  const cudaError_t recorded = cudaEventRecord(done, stream_);
  const cudaError_t waited =
      recorded == cudaSuccess ? cudaStreamWaitEvent(stream, done, 0) : recorded;
  cudaEventDestroy(done);  // safe while pending: resources are released once the event completes
  check_cuda(waited, "BlasContext::set_stream: ordering the new stream after the old one");
  check_cublas(cublasSetStream(cublas_, stream), "cublasSetStream");
  stream_ = stream;
}

}  // namespace galore::kernels::cuda
