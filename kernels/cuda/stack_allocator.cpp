// Bump allocation with stack release (see stack_allocator.hpp).
#include "kernels/cuda/stack_allocator.hpp"

#include <string>

namespace galore::kernels::cuda {

std::size_t StackAllocator::allocate(std::size_t bytes, std::size_t alignment) {
  if (alignment == 0 || (alignment & (alignment - 1)) != 0) {
    throw std::invalid_argument("StackAllocator::allocate: alignment " + std::to_string(alignment) +
                                " is not a power of two");
  }
  const std::size_t offset = (used_ + alignment - 1) & ~(alignment - 1);
  if (offset < used_ || offset > capacity_ || bytes > capacity_ - offset) {
    throw ArenaExhausted("device arena exhausted: " + std::to_string(bytes) +
                         " bytes (aligned to " + std::to_string(alignment) + ") requested with " +
                         std::to_string(used_) + " of " + std::to_string(capacity_) +
                         " bytes in use");
  }
  used_ = offset + bytes;
  if (used_ > peak_) peak_ = used_;
  return offset;
}

void StackAllocator::release_to(std::size_t mark) {
  if (mark > used_) {
    throw std::invalid_argument("StackAllocator::release_to: mark " + std::to_string(mark) +
                                " lies beyond the " + std::to_string(used_) + " bytes in use");
  }
  used_ = mark;
}

}  // namespace galore::kernels::cuda
