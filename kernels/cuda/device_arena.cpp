// The device arena's single allocation (see device_arena.hpp).
#include "kernels/cuda/device_arena.hpp"

#include "kernels/cuda/cuda_check.hpp"

#include <cuda_runtime.h>

#include <string>

namespace galore::kernels::cuda {

DeviceArena::DeviceArena(std::size_t capacity_bytes) : stack_(capacity_bytes) {
  if (capacity_bytes > 0) {
    check_cuda(cudaMalloc(reinterpret_cast<void**>(&base_), capacity_bytes),
               ("DeviceArena: cudaMalloc of " + std::to_string(capacity_bytes) + " bytes").c_str());
  }
}

DeviceArena::~DeviceArena() {
  if (base_ != nullptr) cudaFree(base_);  // nothing to report to from a destructor
}

void* DeviceArena::allocate(std::size_t bytes, std::size_t alignment) {
  // cudaMalloc returns 256-byte aligned memory, so aligned offsets give aligned pointers.
  require(alignment <= kDefaultAlignment, "DeviceArena::allocate",
          "alignment " + std::to_string(alignment) + " exceeds cudaMalloc's 256 bytes");
  return base_ + stack_.allocate(bytes, alignment);
}

}  // namespace galore::kernels::cuda
