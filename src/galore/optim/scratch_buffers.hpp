// Grow-only fp32 scratch shared by all parameters of an optimizer, so a step allocates nothing:
// the optimizer reserves the largest size each slot needs when it is built. Views handed out stay
// valid until the same slot is asked for a larger size.
#pragma once

#include "galore/core/tensor.hpp"

#include <array>
#include <cstddef>

namespace galore {

enum class ScratchSlot { LowRank, LeftBasis, RightBasis, Intermediate, Count };

class ScratchBuffers {
 public:
  // A [rows x cols] row-major view into `slot`'s buffer.
  Matrix<float> matrix(ScratchSlot slot, int rows, int cols) {
    Vector<float>& buffer = buffers_[static_cast<std::size_t>(slot)];
    const std::size_t need = static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols);
    if (buffer.extent(0) < need) buffer = Vector<float>("galore::optimizer_scratch", need);
    return Matrix<float>(buffer.data(), rows, cols);
  }
  void reserve(ScratchSlot slot, int rows, int cols) { matrix(slot, rows, cols); }

  std::size_t bytes() const {
    std::size_t total = 0;
    for (const auto& b : buffers_) total += b.extent(0) * sizeof(float);
    return total;
  }

 private:
  std::array<Vector<float>, static_cast<std::size_t>(ScratchSlot::Count)> buffers_;
};

}  // namespace galore
