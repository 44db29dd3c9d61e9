// Counts the bytes of the views a model allocates: live now, and the peak since the last reset.
//
// Why count our own views rather than use Kokkos::Tools or the process high-water mark: the Tools
// hooks are one global profiler per process (the tests run several models side by side), and RSS
// mixes in the allocator's and OpenBLAS's own buffers on host and says nothing about GPU memory.
// Counting the model's views measures exactly what LlamaModel::estimate_memory predicts, on every
// backend. Not counted: temporaries inside library calls (galore::gemm's bf16-output rounding
// buffer on host, any scratch of the attention kernels).
//
// A view counts as freed once the meter holds the only reference to it; the meter checks this
// before each new allocation, which is where a peak can occur.
#pragma once

#include "galore/core/tensor.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace galore {

class AllocationMeter {
 public:
  // A view of the given extents, zero-filled or left uninitialised (when every entry is written
  // before it is read).
  template <class View, class... Extents>
  View zeros(const std::string& label, Extents... extents) {
    return track(View(label, static_cast<std::size_t>(extents)...));
  }
  template <class View, class... Extents>
  View uninitialized(const std::string& label, Extents... extents) {
    return track(View(Kokkos::view_alloc(Kokkos::WithoutInitializing, label),
                      static_cast<std::size_t>(extents)...));
  }

  std::int64_t live_bytes();
  std::int64_t peak_bytes() const { return peak_; }
  void reset_peak();  // the peak restarts from the bytes live now

 private:
  struct Entry {
    std::int64_t bytes;
    std::function<int()> use_count;  // holds one reference to the view
  };

  template <class View>
  View track(View view) {
    release_unreferenced();
    const auto bytes = static_cast<std::int64_t>(view.span() * sizeof(typename View::value_type));
    entries_.push_back({bytes, [view] { return view.use_count(); }});
    live_ += bytes;
    if (live_ > peak_) peak_ = live_;
    return view;
  }
  void release_unreferenced();

  std::vector<Entry> entries_;
  std::int64_t live_ = 0;
  std::int64_t peak_ = 0;
};

}  // namespace galore
