// Linear warm-up + cosine decay (formula in lr_schedule.hpp).
#include "io/config/lr_schedule.hpp"

#include <algorithm>
#include <cmath>

namespace galore::config {

double LrSchedule::at(std::int64_t step) const {
  if (step < warmup_steps) {
    return peak_lr * static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
  }
  const double decay_steps =
      static_cast<double>(std::max<std::int64_t>(1, total_steps - 1 - warmup_steps));
  const double progress = std::min(1.0, static_cast<double>(step - warmup_steps) / decay_steps);
  const double pi = std::acos(-1.0);
  return peak_lr * (min_lr_ratio + (1.0 - min_lr_ratio) * 0.5 * (1.0 + std::cos(pi * progress)));
}

LrSchedule lr_schedule(const RunConfig& config) {
  return {config.optimizer.lr, config.warmup_steps(), config.total_steps(),
          config.schedule.min_lr_ratio};
}

}  // namespace galore::config
