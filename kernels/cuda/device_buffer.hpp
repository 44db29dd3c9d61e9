// An owning, typed device allocation (one cudaMalloc) with blocking host transfers, for workspaces
// that live as long as an object (cuBLASLt workspace, projector-refresh buffers) and for tests.
// Per-step activations and temporaries come from DeviceArena instead.
#pragma once

#include "kernels/cuda/cuda_check.hpp"

#include <cuda_runtime.h>

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace galore::kernels::cuda {

template <class T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(std::size_t count) : count_(count) {
    if (count_ > 0) {
      check_cuda(cudaMalloc(reinterpret_cast<void**>(&data_), count_ * sizeof(T)),
                 ("cudaMalloc of " + std::to_string(count_ * sizeof(T)) + " bytes").c_str());
    }
  }
  explicit DeviceBuffer(const std::vector<T>& host) : DeviceBuffer(host.size()) { upload(host); }
  ~DeviceBuffer() {
    if (data_ != nullptr) cudaFree(data_);  // a destructor cannot report; the pointer is ours
  }
  DeviceBuffer(DeviceBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), count_(std::exchange(other.count_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
    if (this != &other) {
      if (data_ != nullptr) cudaFree(data_);
      data_ = std::exchange(other.data_, nullptr);
      count_ = std::exchange(other.count_, 0);
    }
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  T* data() { return data_; }
  const T* data() const { return data_; }
  std::size_t size() const { return count_; }
  std::size_t bytes() const { return count_ * sizeof(T); }

  // Blocking copies (they synchronise with the legacy default stream).
  void upload(const std::vector<T>& host) {
    require(host.size() == count_, "DeviceBuffer::upload",
            "host vector has " + std::to_string(host.size()) + " elements, buffer " +
                std::to_string(count_));
    if (count_ > 0) {
      check_cuda(cudaMemcpy(data_, host.data(), bytes(), cudaMemcpyHostToDevice), "cudaMemcpy H2D");
    }
  }
  std::vector<T> download() const {
    std::vector<T> host(count_);
    if (count_ > 0) {
      check_cuda(cudaMemcpy(host.data(), data_, bytes(), cudaMemcpyDeviceToHost), "cudaMemcpy D2H");
    }
    return host;
  }
  void fill_zero() {
    if (count_ > 0) check_cuda(cudaMemset(data_, 0, bytes()), "cudaMemset");
  }

 private:
  T* data_ = nullptr;
  std::size_t count_ = 0;
};

}  // namespace galore::kernels::cuda
