// One HDF5 file per checkpoint, holding everything a run needs to continue bit-exactly: model
// weights, every optimizer state tensor (moments, 8-bit codes and absmax, Adafactor factors, GaLore
// bases), per-parameter step counts, the learning-rate schedule position, the data sampler and
// seed, and the full run configuration. The group layout is documented in docs/checkpoints.md:
//
//   /            format, format_version, library_version, hdf5_version, step, created_utc
//   /run         config_toml (the whole RunConfig), seed
//   /train       step, total_steps, tokens_seen, sampler.*, lr_schedule.*, clip_reference_norm, ...
//   /model       shape and dtype attributes; one dataset per weight under its HF LLaMA name
//   /optimizer   name and hyper-parameters; one group per parameter: attribute step, one dataset
//                per state tensor in its real shape; galore.left / galore.right carry the
//                projector attributes (side, rank, update_gap, scale, refresh_step)
//
// Writes are crash-safe (temporary file, fsync, rename: durable_commit.hpp); every dataset is
// Fletcher32-checksummed and verified on load (hdf5_file.hpp).
#pragma once

#include "galore/core/parameter.hpp"
#include "galore/model/config.hpp"
#include "galore/optim/optimizer.hpp"
#include "io/config/run_config.hpp"
#include "io/data/window_sampler.hpp"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace galore::checkpoint {

inline constexpr const char* kFormatName = "galore-kokkos checkpoint";
inline constexpr std::int64_t kFormatVersion = 1;

// Where a run stands, beyond the tensors.
struct TrainProgress {
  std::int64_t step = 0;         // completed optimizer steps = the schedule position
  std::int64_t total_steps = 0;  // of the run that wrote the checkpoint
  std::int64_t tokens_seen = 0;
  data::SamplerState sampler;
  double clip_reference_norm = -1;  // per-layer clipping: the previous step's norm (< 0: none)
  double initial_validation_loss = std::numeric_limits<double>::quiet_NaN();
  double last_train_loss = std::numeric_limits<double>::quiet_NaN();
  double train_seconds = 0;  // wall-clock time spent in training steps, over all sessions
};

// The live objects a checkpoint is written from and loaded into (in place).
template <class T>
struct TrainingState {
  const config::RunConfig& config;
  const ModelConfig& model;
  std::vector<Parameter<T>>& parameters;
  Optimizer<T>& optimizer;
};

// Writes `path` crash-safely: `path`.tmp in the same directory, synced, then renamed.
// IoError naming the file on failure (the temporary file is removed; `path` is untouched).
template <class T>
void write_checkpoint(const ExecSpace& space, const std::string& path, TrainingState<T>& state,
                      const TrainProgress& progress);

// Fills the model weights and optimizer state of `state` from `path` and returns the progress.
// IoError: unreadable, truncated, not a checkpoint, or a checksum mismatch (the objects may then
// hold part of the file: load another checkpoint or start afresh). ConfigError: the checkpoint
// was written by an incompatible run (listing every setting that differs, see
// run_compatibility.hpp) or holds other tensors than `state` (naming them).
template <class T>
TrainProgress load_checkpoint(const ExecSpace& space, const std::string& path,
                              TrainingState<T>& state);

// The weight's shape as HF stores it: vectors (norm weights, stored [1 x n] by the model) are
// 1-D [n]; matrices keep [out, in].
template <class T>
std::vector<std::int64_t> hf_shape(const Parameter<T>& parameter);

}  // namespace galore::checkpoint
