// GALORE_GPU_TEST_CASE: a Catch2 TEST_CASE that also counts itself, so that the runner
// (gpu_main.cpp) can say how many GPU tests it skips on a machine without a CUDA device.
#pragma once

#include "catch.hpp"

namespace galore::kernels::cuda::testing {

int count_gpu_test();  // registers one test, returns the running count
int gpu_test_count();

}  // namespace galore::kernels::cuda::testing

#define GALORE_GPU_CONCAT_INNER(a, b) a##b
#define GALORE_GPU_CONCAT(a, b) GALORE_GPU_CONCAT_INNER(a, b)
#define GALORE_GPU_TEST_CASE(...)                                                   \
  [[maybe_unused]] static const int GALORE_GPU_CONCAT(galore_gpu_test_, __LINE__) = \
      ::galore::kernels::cuda::testing::count_gpu_test();                           \
  TEST_CASE(__VA_ARGS__)
