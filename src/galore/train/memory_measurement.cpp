// The run settings of galore-train --measure-memory (see memory_measurement.hpp).
#include "galore/train/memory_measurement.hpp"

#include "galore/core/error.hpp"

namespace galore {

config::RunConfig memory_measurement_config(config::RunConfig c, std::int64_t steps) {
  if (steps < 1) {
    throw ConfigError(
        "--measure-memory=N: N must be at least 1 (2 pass a subspace refresh and a plain step)");
  }
  c.run.steps = steps;
  c.run.tokens = 0;
  c.run.session_steps = 0;
  c.run.eval_interval = 0;
  c.run.eval_tokens = c.batch.seq_len;
  c.run.log_interval = 1;
  c.run.output_dir += "-memory";
  c.batch.global_batch = c.batch.micro_batch;
  c.schedule.warmup_steps = 0;
  c.schedule.warmup_fraction = 0;
  c.checkpoint.interval_steps = 0;
  c.checkpoint.interval_minutes = 0;
  c.checkpoint.at_exit = false;
  c.checkpoint.resume = "none";
  return c;
}

}  // namespace galore
