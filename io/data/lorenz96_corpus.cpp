// Lorenz-96 corpus generation: random initial condition per trajectory, spin-up, RK4 integration,
// quantization and serialization into token vectors.
#include "io/data/lorenz96_corpus.hpp"

#include "galore/core/error.hpp"
#include "galore/core/rng.hpp"
#include "io/data/lorenz96.hpp"

#include <algorithm>
#include <cmath>
#include <string>

namespace galore::data {

namespace {

// RNG streams: initial conditions of training and validation trajectories never coincide.
constexpr std::uint64_t kTrainStream = 0x4C393654ull;       // "L96T"
constexpr std::uint64_t kValidationStream = 0x4C393656ull;  // "L96V"

void append_split(const Lorenz96CorpusOptions& options, std::uint64_t stream, std::int64_t tokens,
                  std::vector<std::int32_t>& out) {
  out.reserve(static_cast<std::size_t>(tokens));
  Lorenz96 system(options.variables, options.forcing);
  std::vector<double> x(options.variables);
  for (std::uint64_t trajectory = 0; static_cast<std::int64_t>(out.size()) < tokens; ++trajectory) {
    // Independent initial condition per trajectory: F + N(0, 1) per variable.
    const CounterRng rng(options.seed, stream);
    for (int i = 0; i < options.variables; ++i) {
      x[i] = options.forcing + rng.normal(trajectory * options.variables + i);
    }
    for (int step = 0; step < options.spinup_steps; ++step) system.rk4_step(x, options.dt);
    out.push_back(options.trajectory_start());
    for (std::int64_t record = 0; record < options.records_per_trajectory; ++record) {
      out.push_back(options.step_separator());
      for (int i = 0; i < options.variables; ++i) {
        out.push_back(quantize_lorenz96_value(x[i], options));
      }
      for (int step = 0; step < options.steps_per_record; ++step) system.rk4_step(x, options.dt);
    }
  }
  out.resize(static_cast<std::size_t>(tokens));
}

}  // namespace

void Lorenz96CorpusOptions::validate() const {
  auto require = [](bool ok, const std::string& what) {
    if (!ok) throw ConfigError("Lorenz-96 corpus: " + what);
  };
  require(variables >= 4 && variables <= 1024,
          "variables = " + std::to_string(variables) + " is not in [4, 1024]");
  require(std::isfinite(forcing), "forcing must be finite");
  require(dt > 0.0 && dt <= 0.1, "dt = " + std::to_string(dt) + " is not in (0, 0.1]");
  require(steps_per_record >= 1, "steps_per_record must be at least 1");
  require(spinup_steps >= 0, "spinup_steps must not be negative");
  require(levels >= 2 && levels <= 65534,
          "levels = " + std::to_string(levels) + " is not in [2, 65534]");
  require(value_max > value_min, "value_max must exceed value_min");
  require(records_per_trajectory >= 1, "records_per_trajectory must be at least 1");
  require(train_tokens >= 0 && validation_tokens >= 0, "token counts must not be negative");
}

std::int32_t quantize_lorenz96_value(double x, const Lorenz96CorpusOptions& options) {
  if (!std::isfinite(x)) {
    throw NumericError("Lorenz-96 integration diverged (value " + std::to_string(x) +
                       "); lower dt or the forcing");
  }
  const double unit = (x - options.value_min) / (options.value_max - options.value_min);
  const double level = std::floor(unit * options.levels);
  return static_cast<std::int32_t>(std::clamp(level, 0.0, options.levels - 1.0));
}

TokenCorpus generate_lorenz96_corpus(const Lorenz96CorpusOptions& options) {
  options.validate();
  TokenCorpus corpus;
  corpus.vocab_size = options.vocab_size();
  append_split(options, kTrainStream, options.train_tokens, corpus.train);
  append_split(options, kValidationStream, options.validation_tokens, corpus.validation);
  return corpus;
}

}  // namespace galore::data
