// Counts the bytes of the views a model allocates: live now, and the peak since the last reset, in
// total and per kind (weights, gradients, activations and workspace).
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

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace galore {

// What an allocation holds, for the per-kind peaks (galore-train --measure-memory).
enum class AllocationKind { Weights, Gradients, ActivationsAndWorkspace, Count };

class AllocationMeter {
 public:
  // Allocations made while a KindScope lives count as `kind`; outside any scope they count as
  // activations and workspace.
  class KindScope {
   public:
    KindScope(AllocationMeter& meter, AllocationKind kind) : meter_(meter), saved_(meter.kind_) {
      meter_.kind_ = kind;
    }
    ~KindScope() { meter_.kind_ = saved_; }
    KindScope(const KindScope&) = delete;
    KindScope& operator=(const KindScope&) = delete;

   private:
    AllocationMeter& meter_;
    AllocationKind saved_;
  };

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
  // The largest number of bytes of one kind live at once (not necessarily at the total's peak).
  std::int64_t peak_bytes(AllocationKind kind) const { return kind_peak_[index(kind)]; }
  void reset_peak();  // the peaks restart from the bytes live now

 private:
  struct Entry {
    std::int64_t bytes;
    AllocationKind kind;
    std::function<int()> use_count;  // holds one reference to the view
  };
  static std::size_t index(AllocationKind kind) { return static_cast<std::size_t>(kind); }

  template <class View>
  View track(View view) {
    release_unreferenced();
    const auto bytes = static_cast<std::int64_t>(view.span() * sizeof(typename View::value_type));
    entries_.push_back({bytes, kind_, [view] { return view.use_count(); }});
    live_ += bytes;
    if (live_ > peak_) peak_ = live_;
    std::int64_t& kind_live = kind_live_[index(kind_)];
    kind_live += bytes;
    if (kind_live > kind_peak_[index(kind_)]) kind_peak_[index(kind_)] = kind_live;
    return view;
  }
  void release_unreferenced();

  static constexpr std::size_t kKinds = static_cast<std::size_t>(AllocationKind::Count);
  std::vector<Entry> entries_;
  AllocationKind kind_ = AllocationKind::ActivationsAndWorkspace;
  std::int64_t live_ = 0;
  std::int64_t peak_ = 0;
  std::array<std::int64_t, kKinds> kind_live_{};
  std::array<std::int64_t, kKinds> kind_peak_{};
};

}  // namespace galore
