// The paper's learning-rate schedule: linear warm-up to the peak, then cosine decay to
// min_lr_ratio x peak (10% in the paper) at the last step.
//   s < W:  lr(s) = peak (s + 1) / W                      (step 0 already trains)
//   s >= W: lr(s) = peak (m + (1 - m) (1 + cos(pi p)) / 2),  p = (s - W) / max(1, S - 1 - W)
// with s the 0-based step, S total steps, W warm-up steps, m = min_lr_ratio; p is clamped to 1,
// so steps past the end stay at m x peak.
#pragma once

#include "io/config/run_config.hpp"

#include <cstdint>

namespace galore::config {

struct LrSchedule {
  double peak_lr = 0.0;
  std::int64_t warmup_steps = 0;
  std::int64_t total_steps = 0;
  double min_lr_ratio = 0.1;

  // Learning rate of 0-based step `step`.
  double at(std::int64_t step) const;
};

// optimizer.lr, warmup_steps(), total_steps() and schedule.min_lr_ratio of a run.
LrSchedule lr_schedule(const RunConfig& config);

}  // namespace galore::config
