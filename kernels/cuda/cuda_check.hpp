// Error checking for the CUDA runtime, cuBLAS/cuBLASLt and cuSOLVER: every status code is checked
// and a failure throws CudaError naming the call and the library's own description of the code.
// Argument errors (bad shapes, unsupported sizes) throw std::invalid_argument before any launch.
#pragma once

#include <cublas_api.h>
#include <cuda_runtime.h>
#include <cusolver_common.h>

#include <stdexcept>
#include <string>

namespace galore::kernels::cuda {

class CudaError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

void check_cuda(cudaError_t status, const char* what);
void check_cublas(cublasStatus_t status, const char* what);
void check_cusolver(cusolverStatus_t status, const char* what);

// Call right after a <<<...>>> launch: reports invalid launch configurations at once (kernel
// faults surface at the next synchronising call, as usual in CUDA).
void check_launch(const char* kernel);

// Throws std::invalid_argument("<fn>: <message>") unless `condition` holds.
void require(bool condition, const char* fn, const std::string& message);

}  // namespace galore::kernels::cuda
