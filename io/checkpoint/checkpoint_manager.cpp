// Resume selection, write scheduling and pruning for the trainer.
#include "io/checkpoint/checkpoint_manager.hpp"

#include "galore/core/error.hpp"
#include "io/checkpoint/checkpoint_directory.hpp"

#include <fmt/format.h>

#include <filesystem>

namespace galore::checkpoint {

template <class T>
CheckpointManager<T>::CheckpointManager(const config::RunConfig& config, TrainingState<T> state,
                                        Report report)
    : config_(config),
      state_(state),
      report_(std::move(report)),
      directory_(checkpoint_directory(config.run.output_dir)),
      last_time_(std::chrono::steady_clock::now()) {
  for (const std::string& path : remove_interrupted_writes(directory_)) {
    report_("checkpoint: removed " + path + " (left by a write that did not finish)");
  }
}

template <class T>
TrainProgress CheckpointManager<T>::load(const ExecSpace& space, const std::string& path) {
  const TrainProgress progress = load_checkpoint(space, path, state_);
  last_step_ = progress.step;
  report_(fmt::format("resumed from {} (step {}, {} tokens seen)", path, progress.step,
                      progress.tokens_seen));
  return progress;
}

template <class T>
std::optional<TrainProgress> CheckpointManager<T>::resume(const ExecSpace& space) {
  const config::CheckpointSection& c = config_.checkpoint;
  const std::vector<CheckpointEntry> existing = list_checkpoints(directory_);
  if (c.resume == "none") {
    // A fresh run: an earlier run's checkpoints here would be pruned with (or resumed instead
    // of) this run's, so they are moved aside, not deleted.
    const bool writes = c.interval_steps > 0 || c.interval_minutes > 0 || c.at_exit || c.at_start;
    if (writes && !existing.empty()) {
      const std::string aside = set_aside_checkpoints(directory_);
      report_(fmt::format(
          "checkpoint.resume = none: moved {} checkpoint(s) of an earlier run (newest: step {}) "
          "to {}; continue a run with --resume auto",
          existing.size(), existing.front().step, aside));
    }
    return std::nullopt;
  }
  if (c.resume != "auto") return load(space, c.resume);
  for (const CheckpointEntry& entry : existing) {
    try {
      return load(space, entry.path);
    } catch (const IoError& e) {
      // Renamed rather than deleted (it may be worth a look), and out of the way of pruning.
      const std::string aside = entry.path + ".corrupt";
      std::error_code ignored;
      std::filesystem::rename(entry.path, aside, ignored);
      report_(fmt::format("checkpoint: {} is unusable and was renamed {}: {}", entry.path, aside,
                          e.what()));
    }
  }
  report_("checkpoint.resume = auto: no usable checkpoint in " + directory_ +
          "; starting from step 0");
  return std::nullopt;
}

template <class T>
bool CheckpointManager<T>::due(std::int64_t step) const {
  const config::CheckpointSection& c = config_.checkpoint;
  if (c.interval_steps > 0 && step % c.interval_steps == 0) return true;
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - last_time_;
  return c.interval_minutes > 0 && elapsed.count() >= 60.0 * c.interval_minutes;
}

template <class T>
bool CheckpointManager<T>::write(const ExecSpace& space, const TrainProgress& progress) {
  if (progress.step == last_step_) return true;
  const auto start = std::chrono::steady_clock::now();
  const std::string path =
      (std::filesystem::path(directory_) / checkpoint_file_name(progress.step)).string();
  try {
    std::filesystem::create_directories(directory_);
    write_checkpoint(space, path, state_, progress);
  } catch (const std::exception& e) {
    report_(
        fmt::format("checkpoint at step {} failed: {}; training goes on (earlier "
                    "checkpoints are intact)",
                    progress.step, e.what()));
    return false;
  }
  last_step_ = progress.step;
  last_time_ = std::chrono::steady_clock::now();
  const std::chrono::duration<double> seconds = last_time_ - start;
  report_(fmt::format("checkpoint: step {} -> {} ({:.1f} MiB, {:.2f} s)", progress.step, path,
                      std::filesystem::file_size(path) / 1048576.0, seconds.count()));
  for (const std::string& removed : prune_checkpoints(directory_, config_.checkpoint.keep_last)) {
    report_("checkpoint: removed " + removed +
            " (checkpoint.keep_last = " + std::to_string(config_.checkpoint.keep_last) + ")");
  }
  return true;
}

template class CheckpointManager<float>;
template class CheckpointManager<bf16>;

}  // namespace galore::checkpoint
