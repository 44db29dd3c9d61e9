// What galore-train does with checkpoints (the [checkpoint] keys of the run configuration):
// resume as checkpoint.resume says, write one every checkpoint.interval_steps steps or
// checkpoint.interval_minutes minutes, keep the newest checkpoint.keep_last, and clean up after a
// writer that died mid-write. Messages for the user go to the `report` callback.
#pragma once

#include "io/checkpoint/checkpoint.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <string>

namespace galore::checkpoint {

template <class T>
class CheckpointManager {
 public:
  using Report = std::function<void(const std::string&)>;

  // Removes temporary files of interrupted writes from <run.output_dir>/checkpoints.
  CheckpointManager(const config::RunConfig& config, TrainingState<T> state, Report report);

  // checkpoint.resume = "none": nullopt; checkpoints of an earlier run in the directory are moved
  // to a subdirectory. "auto": loads the newest checkpoint that loads; each newer one that is
  // corrupt or truncated is reported and renamed <name>.corrupt; nullopt when there is none. A
  // path: that checkpoint (IoError if it cannot be loaded). ConfigError for an incompatible
  // checkpoint.
  std::optional<TrainProgress> resume(const ExecSpace& space);

  // Whether a checkpoint is due after `step` completed steps: a multiple of interval_steps, or
  // interval_minutes elapsed since the last checkpoint (or since this process started).
  bool due(std::int64_t step) const;

  // Writes the checkpoint of progress.step (unless this process already wrote or loaded that
  // step), then prunes. A failed write is reported and returns false: the run goes on, the
  // previous checkpoints are intact.
  bool write(const ExecSpace& space, const TrainProgress& progress);

  const std::string& directory() const { return directory_; }

 private:
  TrainProgress load(const ExecSpace& space, const std::string& path);

  const config::RunConfig& config_;
  TrainingState<T> state_;
  Report report_;
  std::string directory_;
  std::int64_t last_step_ = -1;
  std::chrono::steady_clock::time_point last_time_;
};

}  // namespace galore::checkpoint
