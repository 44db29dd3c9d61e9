// The key table (single source of truth for the run configuration) and the per-key checks.
#include "io/config/config_keys.hpp"

#include "galore/core/error.hpp"
#include "galore/core/spelling.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <utility>

namespace galore::config {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Closed and half-open ranges, named so the table reads like the docs.
Range closed(double min, double max) { return {min, max, false, false}; }
Range above(double min, double max) { return {min, max, true, false}; }  // (min, max]
Range below(double min, double max) { return {min, max, false, true}; }  // [min, max)
Range open_range(double min, double max) { return {min, max, true, true}; }

ConfigKey boolean_key(std::string name, bool value, std::string doc, bool& (*field)(RunConfig&)) {
  return {std::move(name), KeyType::boolean, value, {}, {}, false, std::move(doc), field};
}

ConfigKey integer_key(std::string name, std::int64_t value, Range range, std::string doc,
                      std::int64_t& (*field)(RunConfig&)) {
  return {std::move(name), KeyType::integer, value, range, {}, false, std::move(doc), field};
}

ConfigKey real_key(std::string name, double value, Range range, std::string doc,
                   double& (*field)(RunConfig&)) {
  return {std::move(name), KeyType::real, value, range, {}, false, std::move(doc), field};
}

ConfigKey text_key(KeyType type, std::string name, std::string value, bool allow_empty,
                   std::string doc, std::string& (*field)(RunConfig&)) {
  return {std::move(name), type, std::move(value), {}, {}, allow_empty, std::move(doc), field};
}

ConfigKey choice_key(std::string name, std::string value, std::vector<std::string> choices,
                     std::string doc, std::string& (*field)(RunConfig&)) {
  return {std::move(name),    KeyType::choice, std::move(value), {},
          std::move(choices), false,           std::move(doc),   field};
}

std::vector<ConfigKey> make_keys() {
  using T = KeyType;
  return {
      // [model]
      text_key(
          T::string, "model.preset", "60m", false,
          "Model preset (9m, 20m, 60m, 130m, 350m, 1b, 7b); used when model.config_json "
          "is empty.",
          [](RunConfig & c) -> auto& { return c.model.preset; }),
      text_key(
          T::path, "model.config_json", "", true,
          "HF LlamaConfig JSON file; when set it replaces model.preset.",
          [](RunConfig & c) -> auto& { return c.model.config_json; }),
      integer_key(
          "model.vocab_size", 0, closed(0, 2147483647),
          "0 keeps the preset's or JSON's vocabulary; otherwise replaces it (the data's "
          "ids must fit).",
          [](RunConfig & c) -> auto& { return c.model.vocab_size; }),
      choice_key(
          "model.dtype", "bf16", {"bf16", "fp32"},
          "Weights and activations (accumulation is always fp32, docs/precision.md).",
          [](RunConfig & c) -> auto& { return c.model.dtype; }),
      boolean_key(
          "model.activation_checkpointing", false,
          "Recompute each block's activations in the backward pass to save memory.",
          [](RunConfig & c) -> auto& { return c.model.activation_checkpointing; }),
      // [optimizer]
      choice_key(
          "optimizer.name", "galore_adamw",
          {"adamw", "adam8bit", "adafactor", "galore_adamw", "galore_adamw8bit",
           "galore_adafactor"},
          "Optimizer; the galore_ ones project the 2-D attention and MLP weights.",
          [](RunConfig & c) -> auto& { return c.optimizer.name; }),
      real_key(
          "optimizer.lr", 0.01, above(0, 10),
          "Peak learning rate (GaLore weights move by lr x scale).",
          [](RunConfig & c) -> auto& { return c.optimizer.lr; }),
      real_key(
          "optimizer.weight_decay", 0.0, closed(0, 10), "Decoupled (AdamW) weight decay.",
          [](RunConfig & c) -> auto& { return c.optimizer.weight_decay; }),
      real_key(
          "optimizer.beta1", 0.9, below(0, 1), "First-moment decay.",
          [](RunConfig & c) -> auto& { return c.optimizer.beta1; }),
      real_key(
          "optimizer.beta2", 0.999, below(0, 1), "Second-moment decay.",
          [](RunConfig & c) -> auto& { return c.optimizer.beta2; }),
      real_key(
          "optimizer.eps", 1e-8, above(0, 1), "Denominator epsilon.",
          [](RunConfig & c) -> auto& { return c.optimizer.eps; }),
      real_key(
          "optimizer.grad_clip", 1.0, below(0, kInf),
          "Clip the global gradient norm to this value; 0 disables clipping.",
          [](RunConfig & c) -> auto& { return c.optimizer.grad_clip; }),
      integer_key(
          "optimizer.rank", 128, closed(1, 65536), "GaLore projection rank r.",
          [](RunConfig & c) -> auto& { return c.optimizer.rank; }),
      integer_key(
          "optimizer.update_gap", 200, closed(1, 1e9),
          "GaLore subspace refresh interval T in steps.",
          [](RunConfig & c) -> auto& { return c.optimizer.update_gap; }),
      real_key(
          "optimizer.scale", 0.25, above(0, 1000), "GaLore update scale alpha.",
          [](RunConfig & c) -> auto& { return c.optimizer.scale; }),
      choice_key(
          "optimizer.proj_type", "std", {"std", "reverse_std", "left", "right", "full"},
          "Projection side; std projects the smaller dimension.",
          [](RunConfig & c) -> auto& { return c.optimizer.proj_type; }),
      choice_key(
          "optimizer.refresh", "svd", {"svd", "randomized"},
          "How the subspace is recomputed: exact thin SVD or randomized range finder.",
          [](RunConfig & c) -> auto& { return c.optimizer.refresh; }),
      boolean_key(
          "optimizer.per_layer", false,
          "Update each weight during the backward pass and free its gradient at once.",
          [](RunConfig & c) -> auto& { return c.optimizer.per_layer; }),
      integer_key(
          "optimizer.block_size", 2048, closed(16, 1048576),
          "Elements per absmax block of the 8-bit optimizer states.",
          [](RunConfig & c) -> auto& { return c.optimizer.block_size; }),
      // [schedule]
      integer_key(
          "schedule.warmup_steps", 0, closed(0, 1e12),
          "Linear warm-up steps; 0 uses schedule.warmup_fraction instead.",
          [](RunConfig & c) -> auto& { return c.schedule.warmup_steps; }),
      real_key(
          "schedule.warmup_fraction", 0.1, below(0, 1),
          "Warm-up length as a fraction of the run (when schedule.warmup_steps is 0).",
          [](RunConfig & c) -> auto& { return c.schedule.warmup_fraction; }),
      real_key(
          "schedule.min_lr_ratio", 0.1, closed(0, 1),
          "Cosine decay ends at this fraction of the peak learning rate.",
          [](RunConfig & c) -> auto& { return c.schedule.min_lr_ratio; }),
      // [batch]
      integer_key(
          "batch.micro_batch", 8, closed(1, 1048576), "Sequences per forward/backward pass.",
          [](RunConfig & c) -> auto& { return c.batch.micro_batch; }),
      integer_key(
          "batch.global_batch", 512, closed(1, 1073741824),
          "Sequences per optimizer step (a multiple of micro_batch x ranks).",
          [](RunConfig & c) -> auto& { return c.batch.global_batch; }),
      integer_key(
          "batch.seq_len", 256, closed(1, 1048576), "Tokens per training sequence.",
          [](RunConfig & c) -> auto& { return c.batch.seq_len; }),
      // [run]
      integer_key(
          "run.steps", 10000, closed(1, 1e12), "Optimizer steps.",
          [](RunConfig & c) -> auto& { return c.run.steps; }),
      integer_key(
          "run.tokens", 0, closed(0, 1e15),
          "Token budget; when > 0 it replaces run.steps (rounded up to whole steps).",
          [](RunConfig & c) -> auto& { return c.run.tokens; }),
      integer_key(
          "run.eval_interval", 1000, closed(0, 1e12),
          "Steps between validation evaluations; 0 evaluates only at the end.",
          [](RunConfig & c) -> auto& { return c.run.eval_interval; }),
      integer_key(
          "run.eval_tokens", 1048576, closed(1, 1e15),
          "Validation tokens per evaluation (fixed windows, the same every time).",
          [](RunConfig & c) -> auto& { return c.run.eval_tokens; }),
      integer_key(
          "run.seed", 42, closed(0, 1e18),
          "Seed of initialisation, data sampling and randomized projections.",
          [](RunConfig & c) -> auto& { return c.run.seed; }),
      integer_key(
          "run.threads", 0, closed(0, 4096),
          "Host threads; 0 keeps the Kokkos default (OMP_NUM_THREADS or all cores).",
          [](RunConfig & c) -> auto& { return c.run.threads; }),
      text_key(
          T::string, "run.output_dir", "runs/galore", false,
          "Directory for metrics, the resolved config and checkpoints (relative to the "
          "working directory).",
          [](RunConfig & c) -> auto& { return c.run.output_dir; }),
      integer_key(
          "run.log_interval", 10, closed(1, 1e9), "Steps between progress lines.",
          [](RunConfig & c) -> auto& { return c.run.log_interval; }),
      integer_key(
          "run.session_steps", 0, closed(0, 1e12),
          "Stop after this many steps in this process, as on SIGTERM (checkpoint, exit 0); "
          "0: no limit. Splits a long run into jobs that resume with checkpoint.resume = auto.",
          [](RunConfig & c) -> auto& { return c.run.session_steps; }),
      integer_key(
          "run.consistency_check_interval", 0, closed(0, 1e12),
          "Data parallelism (mpiexec): steps between checks that every rank holds identical "
          "weights (a checksum; a mismatch stops the run naming the ranks); 0: only after resume.",
          [](RunConfig & c) -> auto& { return c.run.consistency_check_interval; }),
      text_key(
          T::string, "run.record_batches", "", true,
          "NumPy file (relative: inside run.output_dir) recording the token windows each step "
          "of this process trains on: int32 [steps, micro-batches, micro_batch, seq_len + 1], "
          "inputs [..., :-1], targets [..., 1:] (rank 0's share under mpiexec); empty: off.",
          [](RunConfig & c) -> auto& { return c.run.record_batches; }),
      // [checkpoint]
      integer_key(
          "checkpoint.interval_steps", 1000, closed(0, 1e12),
          "Steps between checkpoints (HDF5, docs/checkpoints.md); 0 disables step-based ones.",
          [](RunConfig & c) -> auto& { return c.checkpoint.interval_steps; }),
      real_key(
          "checkpoint.interval_minutes", 0.0, closed(0, 1e9),
          "Wall-clock minutes between checkpoints; 0 disables time-based ones.",
          [](RunConfig & c) -> auto& { return c.checkpoint.interval_minutes; }),
      integer_key(
          "checkpoint.keep_last", 3, closed(1, 1e9),
          "Checkpoints kept in run.output_dir/checkpoints; older ones are deleted.",
          [](RunConfig & c) -> auto& { return c.checkpoint.keep_last; }),
      text_key(
          T::string, "checkpoint.resume", "none", false,
          "none (a fresh run; earlier checkpoints in run.output_dir are moved aside); auto "
          "(the newest valid checkpoint in run.output_dir, else a fresh start); or a "
          "checkpoint file (relative to the working directory).",
          [](RunConfig & c) -> auto& { return c.checkpoint.resume; }),
      boolean_key(
          "checkpoint.at_exit", true,
          "Write a checkpoint when the run completes or stops (SIGINT, SIGTERM, "
          "run.session_steps).",
          [](RunConfig & c) -> auto& { return c.checkpoint.at_exit; }),
      boolean_key(
          "checkpoint.at_start", false,
          "Write a checkpoint of the initial weights (step 0) before a fresh run's first step, "
          "e.g. for galore-train --export-weights.",
          [](RunConfig & c) -> auto& { return c.checkpoint.at_start; }),
      // [data]
      text_key(
          T::path, "data.source", "builtin:lorenz96", false,
          "Training tokens: builtin:lorenz96, a token file, or file.h5:/dataset.",
          [](RunConfig & c) -> auto& { return c.data.source; }),
      text_key(
          T::path, "data.validation", "", true,
          "Validation tokens (same forms as data.source); empty holds out "
          "data.validation_fraction of the source.",
          [](RunConfig & c) -> auto& { return c.data.validation; }),
      real_key(
          "data.validation_fraction", 0.01, open_range(0, 1),
          "Tail fraction held out when data.validation is empty (builtin corpora ship "
          "their own validation split).",
          [](RunConfig & c) -> auto& { return c.data.validation_fraction; }),
      choice_key(
          "data.dtype", "auto", {"auto", "uint16", "uint32"},
          "Token dtype of headerless raw files; auto reads it from the file header.",
          [](RunConfig & c) -> auto& { return c.data.dtype; }),
  };
}

// Shortest %g spelling that reads back as the same double ("1000" rather than "1e+03").
std::string format_real(double value) {
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  std::string shortest;
  for (int precision = 1; precision <= 17; ++precision) {
    char text[32];
    std::snprintf(text, sizeof(text), "%.*g", precision, value);
    const bool exact = std::strtod(text, nullptr) == value || std::isnan(value);
    if (exact && (shortest.empty() || std::strlen(text) < shortest.size())) shortest = text;
  }
  return shortest;
}

// Integer ranges print as integers up to a million, beyond that as 1e+09 etc.
std::string format_bound(double value, KeyType type) {
  if (type == KeyType::integer && std::fabs(value) < 1e6) {
    return std::to_string(static_cast<std::int64_t>(value));
  }
  return format_real(value);
}

bool in_range(double value, const Range& range) {
  const bool above_min = range.min_open ? value > range.min : value >= range.min;
  const bool below_max = range.max_open ? value < range.max : value <= range.max;
  return above_min && below_max;
}

std::string quoted(const std::string& text) {
  std::string out = "\"";
  for (const char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          char escape[8];
          std::snprintf(escape, sizeof(escape), "\\u%04x", static_cast<unsigned char>(c));
          out += escape;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

}  // namespace

const std::vector<ConfigKey>& run_config_keys() {
  static const std::vector<ConfigKey> keys = make_keys();
  return keys;
}

std::vector<std::string> run_config_sections() {
  std::vector<std::string> sections;
  for (const ConfigKey& key : run_config_keys()) {
    if (sections.empty() || sections.back() != key.section()) sections.push_back(key.section());
  }
  return sections;
}

const ConfigKey* find_key(const std::string& name) {
  for (const ConfigKey& key : run_config_keys()) {
    if (key.name == name) return &key;
  }
  return nullptr;
}

std::string suggest_key(const std::string& name) {
  const std::string leaf = name.substr(name.rfind('.') + 1);
  std::vector<std::string> names;
  for (const ConfigKey& key : run_config_keys()) {
    if (key.leaf() == leaf) return " (did you mean '" + key.name + "'?)";
    names.push_back(key.name);
  }
  return did_you_mean(name, names);
}

const char* type_name(KeyType type) {
  switch (type) {
    case KeyType::boolean: return "bool";
    case KeyType::integer: return "integer";
    case KeyType::real: return "float";
    case KeyType::string: return "string";
    case KeyType::path: return "path";
    case KeyType::choice: return "choice";
  }
  return "?";
}

std::string describe_allowed(const ConfigKey& key) {
  switch (key.type) {
    case KeyType::boolean: return "true or false";
    case KeyType::integer:
    case KeyType::real:
      return std::string(key.range.min_open ? "(" : "[") + format_bound(key.range.min, key.type) +
             ", " + format_bound(key.range.max, key.type) + (key.range.max_open ? ")" : "]");
    case KeyType::choice: {
      std::string list = "one of ";
      for (std::size_t i = 0; i < key.choices.size(); ++i) {
        list += (i == 0 ? "" : ", ") + key.choices[i];
      }
      return list;
    }
    case KeyType::string:
    case KeyType::path: return key.allow_empty ? "any" : "not empty";
  }
  return "";
}

std::string format_value(const KeyValue& value) {
  if (const auto* b = std::get_if<bool>(&value)) return *b ? "true" : "false";
  if (const auto* i = std::get_if<std::int64_t>(&value)) return std::to_string(*i);
  if (const auto* d = std::get_if<double>(&value)) {
    std::string text = format_real(*d);
    // TOML floats need a '.' or an exponent to stay floats.
    if (text.find_first_of(".eni") == std::string::npos) text += ".0";
    return text;
  }
  return quoted(std::get<std::string>(value));
}

void set_value(RunConfig& config, const ConfigKey& key, const KeyValue& value,
               const std::string& where) {
  const std::string prefix = where + ": " + key.name + " = " + format_value(value);
  if (key.type == KeyType::integer || key.type == KeyType::real) {
    const double number = key.type == KeyType::integer
                              ? static_cast<double>(std::get<std::int64_t>(value))
                              : std::get<double>(value);
    if (!std::isfinite(number) || !in_range(number, key.range)) {
      throw ConfigError(prefix + " is out of range " + describe_allowed(key));
    }
  } else if (key.type == KeyType::choice) {
    const std::string& text = std::get<std::string>(value);
    bool known = false;
    for (const std::string& choice : key.choices) known = known || choice == text;
    if (!known) {
      throw ConfigError(prefix + " is not " + describe_allowed(key) +
                        did_you_mean(text, key.choices));
    }
  } else if (key.type != KeyType::boolean && !key.allow_empty &&
             std::get<std::string>(value).empty()) {
    throw ConfigError(prefix + " must not be empty");
  }
  std::visit(
      [&](auto access) {
        using Stored = std::remove_reference_t<decltype(access(config))>;
        access(config) = std::get<Stored>(value);
      },
      key.field);
}

KeyValue get_value(const RunConfig& config, const ConfigKey& key) {
  // The accessors hand out mutable references; reading through one leaves `config` unchanged.
  RunConfig& readable = const_cast<RunConfig&>(config);
  return std::visit([&](auto access) { return KeyValue(access(readable)); }, key.field);
}

}  // namespace galore::config
