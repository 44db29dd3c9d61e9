// main() of the GPU kernel tests: without a CUDA device it prints why and exits 77, which ctest
// reports as "Skipped" (SKIP_RETURN_CODE); with one it names the device and runs Catch2.
// No Kokkos here: the kernels under test are plain CUDA.
// Catch2's runner comes first: with Catch2 2.x the single header must see CATCH_CONFIG_RUNNER
// before any other inclusion of it.
#if __has_include(<catch2/catch_session.hpp>)
#include <catch2/catch_session.hpp>
#else
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#endif

#include "tests/cuda/gpu_test_case.hpp"

#include <cuda_runtime.h>

#include <cstdio>

namespace galore::kernels::cuda::testing {

namespace {
int& registered_tests() {
  static int count = 0;
  return count;
}
}  // namespace

int count_gpu_test() { return ++registered_tests(); }
int gpu_test_count() { return registered_tests(); }

}  // namespace galore::kernels::cuda::testing

int main(int argc, char* argv[]) {
  constexpr int kSkipped = 77;
  int devices = 0;
  const cudaError_t status = cudaGetDeviceCount(&devices);
  if (status != cudaSuccess || devices == 0) {
    std::printf("no CUDA device: skipping %d GPU tests (%s)\n",
                galore::kernels::cuda::testing::gpu_test_count(),
                status != cudaSuccess ? cudaGetErrorString(status) : "no device found");
    return kSkipped;
  }
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, 0) == cudaSuccess) {
    std::printf("CUDA device 0: %s (sm_%d%d, %zu MiB)\n", prop.name, prop.major, prop.minor,
                prop.totalGlobalMem >> 20);
  }
  return Catch::Session().run(argc, argv);
}
