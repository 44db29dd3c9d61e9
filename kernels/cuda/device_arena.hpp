// One caching arena for activations and temporaries: a single cudaMalloc sized up front (from the
// model's memory accounting), carved by bump allocation and released like a stack, so the peak
// device memory of a step is fixed and reported (peak_bytes()).
//
// Stream-ordered use: memory released here may be handed out again at once. That is safe for
// work enqueued on the same stream (it runs after the kernels that used the memory); work on
// another stream must be ordered after them (an event) before it uses re-handed memory.
#pragma once

#include "kernels/cuda/stack_allocator.hpp"

#include <cstddef>

namespace galore::kernels::cuda {

class DeviceArena {
 public:
  static constexpr std::size_t kDefaultAlignment = 256;  // cuBLASLt's preferred operand alignment

  explicit DeviceArena(std::size_t capacity_bytes);
  ~DeviceArena();
  DeviceArena(const DeviceArena&) = delete;
  DeviceArena& operator=(const DeviceArena&) = delete;

  // `alignment` is a power of two up to 256 (cudaMalloc's own alignment). Throws ArenaExhausted
  // when the arena is full.
  void* allocate(std::size_t bytes, std::size_t alignment = kDefaultAlignment);
  template <class T>
  T* allocate_array(std::size_t count) {
    return static_cast<T*>(allocate(count * sizeof(T)));
  }

  // Releases everything allocated after it was made (scope of a layer's temporaries).
  class Scope {
   public:
    explicit Scope(DeviceArena& arena) : arena_(arena), mark_(arena.stack_.mark()) {}
    ~Scope() { arena_.stack_.release_to(mark_); }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    DeviceArena& arena_;
    std::size_t mark_;
  };

  void reset() { stack_.reset(); }
  void reset_peak() { stack_.reset_peak(); }
  std::size_t capacity_bytes() const { return stack_.capacity(); }
  std::size_t used_bytes() const { return stack_.used(); }
  std::size_t peak_bytes() const { return stack_.peak(); }

 private:
  unsigned char* base_ = nullptr;
  StackAllocator stack_;
};

}  // namespace galore::kernels::cuda
