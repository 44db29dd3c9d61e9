// Median GPU time of an operation: CUDA events around it on one stream, after warm-up runs, so
// launch overhead between repeats is not counted and the host is not in the timed region.
#pragma once

#include "kernels/cuda/cuda_check.hpp"

#include <cuda_runtime.h>

#include <algorithm>
#include <vector>

namespace galore::kernels::cuda::bench {

template <class Operation>
double median_ms(cudaStream_t stream, int warmup, int repeats, Operation&& operation) {
  for (int i = 0; i < warmup; ++i) operation();
  cudaEvent_t start = nullptr;
  cudaEvent_t stop = nullptr;
  check_cuda(cudaEventCreate(&start), "cudaEventCreate");
  check_cuda(cudaEventCreate(&stop), "cudaEventCreate");
  std::vector<double> times;
  for (int i = 0; i < repeats; ++i) {
    check_cuda(cudaEventRecord(start, stream), "cudaEventRecord");
    operation();
    check_cuda(cudaEventRecord(stop, stream), "cudaEventRecord");
    check_cuda(cudaEventSynchronize(stop), "cudaEventSynchronize");
    float ms = 0.0f;
    check_cuda(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
    times.push_back(ms);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace galore::kernels::cuda::bench
