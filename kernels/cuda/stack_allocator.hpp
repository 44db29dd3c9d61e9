// Offset bookkeeping of the device arena: a bump allocator with stack-like release and a peak
// gauge. Host-only arithmetic (no CUDA), so it is tested without a GPU.
#pragma once

#include <cstddef>
#include <stdexcept>

namespace galore::kernels::cuda {

class ArenaExhausted : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class StackAllocator {
 public:
  explicit StackAllocator(std::size_t capacity) : capacity_(capacity) {}

  // Offset of `bytes` new bytes aligned to `alignment` (a power of two). Throws ArenaExhausted,
  // naming the request and the state, when the capacity would be exceeded; throws
  // std::invalid_argument for an alignment that is not a power of two.
  std::size_t allocate(std::size_t bytes, std::size_t alignment);

  // Everything allocated after mark() is released by release_to(mark).
  std::size_t mark() const { return used_; }
  void release_to(std::size_t mark);
  void reset() { used_ = 0; }

  std::size_t capacity() const { return capacity_; }
  std::size_t used() const { return used_; }
  std::size_t peak() const { return peak_; }
  void reset_peak() { peak_ = used_; }

 private:
  std::size_t capacity_;
  std::size_t used_ = 0;
  std::size_t peak_ = 0;
};

}  // namespace galore::kernels::cuda
