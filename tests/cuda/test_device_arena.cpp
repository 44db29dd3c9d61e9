// GPU: the device arena hands out 256-byte aligned, usable memory from one allocation, releases
// scopes like a stack, reports its peak and refuses what does not fit.
#include "kernels/cuda/cuda_check.hpp"
#include "kernels/cuda/device_arena.hpp"
#include "tests/cuda/gpu_test_case.hpp"

#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

using namespace galore::kernels::cuda;

GALORE_GPU_TEST_CASE("device arena allocates aligned memory and reports its peak",
                     "[cuda][arena]") {
  DeviceArena arena(1 << 20);
  float* a = arena.allocate_array<float>(100);
  CHECK(reinterpret_cast<std::uintptr_t>(a) % 256 == 0);
  {
    DeviceArena::Scope scope(arena);
    auto* b = static_cast<unsigned char*>(arena.allocate(3000));
    CHECK(reinterpret_cast<std::uintptr_t>(b) % 256 == 0);
    CHECK(b >= reinterpret_cast<unsigned char*>(a + 100));
    check_cuda(cudaMemset(b, 0x5a, 3000), "cudaMemset");
    std::vector<unsigned char> host(3000);
    check_cuda(cudaMemcpy(host.data(), b, host.size(), cudaMemcpyDeviceToHost), "cudaMemcpy");
    CHECK(host == std::vector<unsigned char>(3000, 0x5a));
    CHECK(arena.used_bytes() == 512 + 3000);
  }
  CHECK(arena.used_bytes() == 400);
  CHECK(arena.peak_bytes() == 512 + 3000);
  CHECK(arena.allocate_array<float>(100) == a + 128);  // 400 bytes, rounded up to 512
  CHECK_THROWS_AS(arena.allocate(1 << 20), ArenaExhausted);
}
