// AllocationMeter: dropping the views nobody but the meter still references.
#include "galore/model/allocation_meter.hpp"

#include <utility>

namespace galore {

void AllocationMeter::release_unreferenced() {
  std::size_t kept = 0;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].use_count() > 1) {
      if (kept != i) entries_[kept] = std::move(entries_[i]);
      ++kept;
    } else {
      live_ -= entries_[i].bytes;
      kind_live_[index(entries_[i].kind)] -= entries_[i].bytes;
    }
  }
  entries_.resize(kept);
}

std::int64_t AllocationMeter::live_bytes() {
  release_unreferenced();
  return live_;
}

void AllocationMeter::reset_peak() {
  release_unreferenced();
  peak_ = live_;
  kind_peak_ = kind_live_;
}

}  // namespace galore
