// The run configuration of galore-train: a TOML file plus --section.key=value overrides.
//
// Every key (type, default, allowed values, one-line doc) is declared once, in the key table of
// config_keys.cpp; parsing, validation, `galore-train --help` (run_config_help()) and
// docs/config.md (run_config_markdown()) are all generated from it. A default-constructed
// RunConfig holds every key's default.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace galore::config {

// Sections: fields are zero until RunConfig() fills in the key table's defaults.
struct ModelSection {
  std::string preset;         // 9m, 20m, 60m, 130m, 350m, 1b, 7b (checked by galore::model_preset)
  std::string config_json;    // HF LlamaConfig JSON; when set it replaces preset
  std::int64_t vocab_size{};  // 0: the preset's or JSON's value
  std::string dtype;          // bf16 | fp32
  bool activation_checkpointing{};
};

struct OptimizerSection {
  std::string
      name;  // adamw | adam8bit | adafactor | galore_adamw | galore_adamw8bit | galore_adafactor
  double lr{};
  double weight_decay{};
  double beta1{};
  double beta2{};
  double eps{};
  double grad_clip{};  // 0 disables clipping
  std::int64_t rank{};
  std::int64_t update_gap{};  // T: steps between projector refreshes
  double scale{};             // alpha
  std::string proj_type;      // std | reverse_std | left | right | full
  std::string refresh;        // svd | randomized
  bool per_layer{};
  std::int64_t block_size{};  // 8-bit quantization block
};

struct ScheduleSection {
  std::int64_t warmup_steps{};  // > 0 replaces warmup_fraction
  double warmup_fraction{};
  double min_lr_ratio{};
};

struct BatchSection {
  std::int64_t micro_batch{};
  std::int64_t global_batch{};
  std::int64_t seq_len{};
};

struct RunSection {
  std::int64_t steps{};
  std::int64_t tokens{};  // > 0 replaces steps
  std::int64_t eval_interval{};
  std::int64_t eval_tokens{};
  std::int64_t seed{};
  std::int64_t threads{};  // 0: the Kokkos default
  std::string output_dir;
  std::int64_t log_interval{};
  std::int64_t session_steps{};  // 0: no limit; else stop (and checkpoint) after this many steps
  std::int64_t consistency_check_interval{};  // data parallelism: steps between weight checks
  std::string record_batches;                 // .npy of every step's token windows; empty: off
};

struct CheckpointSection {
  std::int64_t interval_steps{};  // 0: no step-based checkpoints
  double interval_minutes{};      // 0: no wall-clock checkpoints
  std::int64_t keep_last{};
  std::string resume;  // none | auto | path of a checkpoint file
  bool at_exit{};      // checkpoint when the run completes or is stopped
  bool at_start{};     // checkpoint the initial weights (step 0) of a fresh run
};

struct DataSection {
  std::string source;      // builtin:lorenz96 | token file | file.h5:/dataset
  std::string validation;  // separate validation source; empty: hold out validation_fraction
  double validation_fraction{};
  std::string dtype;  // auto | uint16 | uint32 (raw files need one)
};

struct RunConfig {
  RunConfig();  // every key at its default

  ModelSection model;
  OptimizerSection optimizer;
  ScheduleSection schedule;
  BatchSection batch;
  RunSection run;
  CheckpointSection checkpoint;
  DataSection data;

  // Micro-batches per optimizer step (per data-parallel rank).
  std::int64_t accumulation_steps(int ranks = 1) const;
  // run.steps, or ceil(run.tokens / (global_batch * seq_len)) when run.tokens > 0.
  std::int64_t total_steps() const;
  // schedule.warmup_steps when > 0, else round(warmup_fraction * total_steps()).
  std::int64_t warmup_steps() const;
};

// Reads `toml_path` (empty: start from the defaults), then applies `overrides`, then checks the
// keys that depend on each other (validate()). Relative paths in the file (model.config_json,
// data.source, data.validation) are taken relative to the file's directory; relative paths in
// overrides and run.output_dir relative to the working directory.
// Throws ConfigError naming the key, with file:line:column for file errors and a "did you mean"
// suggestion for unknown keys and choices.
RunConfig load_run_config(const std::string& toml_path,
                          const std::vector<std::string>& overrides = {});

// The same from TOML text; `source_name` appears in messages, `base_directory` anchors relative
// paths ("" keeps them as written).
RunConfig parse_run_config(std::string_view toml_text, const std::string& source_name,
                           const std::string& base_directory,
                           const std::vector<std::string>& overrides = {});

// Applies command-line overrides: "--section.key=value", "--section.key value", and "--key value"
// when `key` names exactly one key. ConfigError for anything else.
void apply_overrides(RunConfig& config, const std::vector<std::string>& overrides);

// Checks across keys: global_batch a multiple of micro_batch x ranks, a positive step count,
// warm-up shorter than the run, eval_tokens at least seq_len. ConfigError naming the keys.
void validate(const RunConfig& config, int data_parallel_ranks = 1);

// The full configuration as TOML (every key, table order): parse_run_config() of it gives back
// an equal configuration. Written to the output directory and into checkpoints.
std::string to_toml(const RunConfig& config);

// Every key with its type, default, allowed values and doc: the `galore-train --help` section.
std::string run_config_help();
// The same as Markdown: the content of docs/config.md.
std::string run_config_markdown();

}  // namespace galore::config
