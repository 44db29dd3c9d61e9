// What a training run tells its user: a live progress line on a terminal (plain lines otherwise),
// and metrics as JSON lines in the output directory, one object per step and per evaluation.
#pragma once

#include "galore/core/phase_timer.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <fstream>
#include <ostream>
#include <string>

namespace galore {

struct StepMetrics {
  std::int64_t step = 0;  // 1-based count of completed optimizer steps
  std::int64_t total_steps = 0;
  double loss = 0;
  double lr = 0;
  double grad_norm = 0;
  double tokens_per_second = 0;
  double mfu = 0;  // achieved model FLOP/s over the measured GEMM peak
  std::int64_t resident_bytes = 0;
  double eta_seconds = 0;
  int skipped_parameters = 0;  // non-finite gradients skipped by the optimizer this step
  PhaseSeconds phase_seconds;  // the step's wall time split by phase (batch loading included)
};

struct EvalMetrics {
  std::int64_t step = 0;
  double validation_loss = 0;
  double unigram_entropy = 0;  // the loss of a model that ignores context
};

// {"forward": seconds, "backward": ..., "other": ...}: every phase, in Phase order.
nlohmann::json phase_seconds_json(const PhaseSeconds& seconds);
// "forward 21.0% | backward 48.3% | ... of 12.4 s": the phases that took any time.
std::string phase_split_line(const PhaseSeconds& seconds);

class ProgressLog {
 public:
  // `metrics_path` is created (truncated), or appended to when `append` (a resumed run);
  // `terminal` selects the redrawn single progress line.
  ProgressLog(std::ostream& console, bool terminal, const std::string& metrics_path,
              std::int64_t log_interval, bool append = false);
  ~ProgressLog();

  void step(const StepMetrics& m);  // JSON line always; console every log_interval steps
  void eval(const EvalMetrics& m);
  void message(const std::string& text);  // a line of its own on the console

 private:
  void end_live_line();

  std::ostream& console_;
  bool terminal_;
  std::int64_t log_interval_;
  bool live_line_ = false;
  std::ofstream metrics_;
};

}  // namespace galore
