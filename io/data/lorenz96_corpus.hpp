// The built-in scientific corpus: quantized Lorenz-96 trajectories serialized as tokens, generated
// deterministically (no download) for the first training run.
//
// Serialization (docs/data.md): each trajectory starts with kTrajectoryStart; each recorded time
// step is kStepSeparator followed by the N variables x_0 .. x_{N-1}, each quantized to one of
// `levels` value tokens. Next-token prediction is then "predict x_i(t) from x_i(t - dt) one period
// (N + 1 tokens) back, its neighbours x_{i-2}, x_{i-1}, x_{i+1} and the trend", which a tiny
// transformer learns quickly and which is far below the unigram entropy.
// Training and validation trajectories start from different random initial conditions.
#pragma once

#include <cstdint>
#include <vector>

namespace galore::data {

struct Lorenz96CorpusOptions {
  int variables = 8;         // N
  double forcing = 8.0;      // F (8: the classic chaotic regime)
  double dt = 0.01;          // RK4 step
  int steps_per_record = 2;  // RK4 steps between recorded states (record interval 0.02)
  int spinup_steps = 2000;   // steps discarded so each trajectory starts on the attractor
  int levels = 256;          // value tokens 0 .. levels-1
  double value_min = -10.0;  // quantization range; values outside are clamped to the ends
  double value_max = 15.0;
  std::int64_t records_per_trajectory = 1000;
  std::int64_t train_tokens = 2000000;
  std::int64_t validation_tokens = 200000;
  std::uint64_t seed = 1;

  // Special tokens follow the value tokens.
  std::int32_t step_separator() const { return levels; }
  std::int32_t trajectory_start() const { return levels + 1; }
  std::int64_t vocab_size() const { return levels + 2; }
  // ConfigError naming the first invalid field.
  void validate() const;
};

struct TokenCorpus {
  std::vector<std::int32_t> train;
  std::vector<std::int32_t> validation;
  std::int64_t vocab_size = 0;
};

// Value token of x: floor((x - min) / (max - min) * levels), clamped to [0, levels - 1].
std::int32_t quantize_lorenz96_value(double x, const Lorenz96CorpusOptions& options);

// Exactly options.train_tokens and options.validation_tokens tokens (the last trajectory of each
// split is cut off), identical for identical options.
TokenCorpus generate_lorenz96_corpus(const Lorenz96CorpusOptions& options);

}  // namespace galore::data
