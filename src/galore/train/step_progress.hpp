// Progress inside one long optimizer step (a large model on a CPU; a step that recomputes every
// GaLore subspace takes many minutes at 7B): a console line at most every `interval_seconds`,
// counting the parameters updated so far. Fed by Optimizer::set_update_observer.
#pragma once

#include "galore/train/progress_log.hpp"

#include <fmt/format.h>
#include <Kokkos_Timer.hpp>

#include <cstdint>
#include <string>

namespace galore {

class StepProgress {
 public:
  StepProgress(ProgressLog& log, int parameters, double interval_seconds)
      : log_(log), parameters_(parameters), interval_(interval_seconds) {}

  void begin(std::int64_t step) {  // 1-based, as the step lines count
    step_ = step;
    updated_ = refreshed_ = 0;
    last_report_ = 0;
    clock_.reset();
  }

  void parameter_updated(const std::string& name, bool refreshed) {
    ++updated_;
    if (refreshed) ++refreshed_;
    const double now = clock_.seconds();
    if (now - last_report_ < interval_) return;
    last_report_ = now;
    log_.message(
        fmt::format("step {}: {} of {} parameters updated ({} subspaces recomputed), "
                    "last {}, {:.0f} s into the step",
                    step_, updated_, parameters_, refreshed_, name, now));
  }

 private:
  ProgressLog& log_;
  int parameters_;
  double interval_;
  std::int64_t step_ = 0;
  int updated_ = 0, refreshed_ = 0;
  double last_report_ = 0;
  Kokkos::Timer clock_;
};

}  // namespace galore
