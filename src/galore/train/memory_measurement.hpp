// galore-train --measure-memory: the settings that turn a run configuration into a measurement of
// its peak memory in a few real training steps, rather than the training run it describes.
//
// Kept from the configuration: model, dtype, optimizer (rank, per-layer updates, ...), micro-batch,
// sequence length, data, threads. Changed:
//   run.steps = `steps` (2 by default: step 1 computes every GaLore subspace, step 2 is a plain
//     step); run.tokens and run.session_steps off
//   batch.global_batch = batch.micro_batch: one micro-batch per optimizer step, as the paper's
//     per-layer recipe steps (accumulating micro-batches only adds time, and with per-layer
//     updates it holds every gradient at full size: train_step.hpp)
//   no warm-up, no periodic evaluation, run.eval_tokens = one window, log every step
//   no checkpoints, no resume; run.output_dir gets the suffix "-memory" so a measurement never
//     writes into the training run's own directory
// The run then ends with its usual summary, whose memory table (memory_report.hpp) is the result.
#pragma once

#include "io/config/run_config.hpp"

#include <cstdint>

namespace galore {

// ConfigError if steps < 1.
config::RunConfig memory_measurement_config(config::RunConfig config, std::int64_t steps);

}  // namespace galore
