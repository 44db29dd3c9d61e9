// A whole pretraining run as galore-train performs it: resolve the model and data a RunConfig
// names, train with the learning-rate schedule, evaluate, log, and leave a consistent output
// directory (config.toml, metrics.jsonl, summary.json) whatever way the run ends.
#pragma once

#include "io/config/run_config.hpp"

#include <atomic>
#include <cstdint>
#include <ostream>
#include <string>

namespace galore {

struct RunSummary {
  enum class Status { Completed, Stopped, Diverged };
  Status status = Status::Completed;
  std::int64_t steps_completed = 0;
  double last_train_loss = 0;
  double initial_validation_loss = 0;
  double final_validation_loss = 0;
  double unigram_entropy = 0;  // validation split
  std::int64_t peak_resident_bytes = 0;
  std::string message;  // why a run stopped early
};

const char* status_name(RunSummary::Status status);

// Trains as `config` says. `stop_requested` is polled after every step (SIGINT/SIGTERM): the run
// then finishes the current step, evaluates, writes its outputs and returns Stopped. A non-finite
// loss ends the run as Diverged, naming the step. Bad configuration or data throw ConfigError or
// IoError before any step runs.
RunSummary run_training(const config::RunConfig& config, const std::atomic<bool>& stop_requested,
                        std::ostream& console, bool console_is_terminal);

}  // namespace galore
