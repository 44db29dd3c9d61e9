// A whole pretraining run as galore-train performs it: resolve the model and data a RunConfig
// names, resume from a checkpoint if asked, train with the learning-rate schedule, evaluate, log,
// checkpoint, and leave a consistent output directory (config.toml, metrics.jsonl, summary.json,
// checkpoints/) whatever way the run ends.
#pragma once

#include "galore/core/process_group.hpp"
#include "galore/optim/optimizer_config.hpp"
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

// The optimizer settings that the [optimizer] section (and run.seed, the sketch seed of the
// randomized refresh) of a run configuration names.
OptimizerConfig optimizer_config(const config::RunConfig& config);

// Trains as `config` says. `stop_requested` is polled after every step (SIGINT/SIGTERM): the run
// then finishes the current step, writes a checkpoint (checkpoint.at_exit), evaluates, writes its
// outputs and returns Stopped; run.session_steps stops it the same way. A non-finite loss ends
// the run as Diverged, naming the step (no checkpoint of that state is written). Bad
// configuration or data, and a checkpoint that cannot be resumed, throw ConfigError or IoError
// before any step runs. A resumed run continues metrics.jsonl from the checkpoint's step and
// continues bit-exactly (docs/checkpoints.md).
//
// Data parallelism: with a `group` of N ranks every rank calls run_training with the same config;
// each trains on its own part of every global batch (BatchLoader::next) with gradients averaged
// (TrainStep), so the run equals a one-process run of the same global batch. Rank 0 alone writes
// the output directory and checkpoints; every rank resumes from the checkpoint rank 0 chose, and
// the replicas' weights are compared after resuming and every run.consistency_check_interval
// steps (galore::Error naming the ranks on a mismatch). A stop request on any rank stops all.
RunSummary run_training(const config::RunConfig& config, const std::atomic<bool>& stop_requested,
                        std::ostream& console, bool console_is_terminal,
                        ProcessGroup* group = nullptr);

}  // namespace galore
