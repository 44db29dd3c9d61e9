// The two documents generated from the key table: the --help text and docs/config.md.
#include "io/config/config_keys.hpp"
#include "io/config/run_config.hpp"

namespace galore::config {

namespace {

// "float, default 0.01, range (0, 10]"
std::string key_summary(const ConfigKey& key) {
  std::string summary =
      std::string(type_name(key.type)) + ", default " + format_value(key.default_value);
  if (key.type == KeyType::integer || key.type == KeyType::real) {
    summary += ", range " + describe_allowed(key);
  } else if (key.type != KeyType::boolean) {
    summary += ", " + describe_allowed(key);
  }
  return summary;
}

}  // namespace

std::string run_config_help() {
  std::string text =
      "Run configuration: a TOML file (--config run.toml) with the sections below; any key can\n"
      "be overridden on the command line as --section.key=value or --section.key value (or\n"
      "--key value when no other section has that key). Relative paths in the file are relative\n"
      "to the file. Unknown keys and out-of-range values stop the run before it starts.\n";
  std::string section;
  for (const ConfigKey& key : run_config_keys()) {
    if (key.section() != section) {
      section = key.section();
      text += "\n[" + section + "]\n";
    }
    text += "  --" + key.name + "  (" + key_summary(key) + ")\n      " + key.doc + "\n";
  }
  return text;
}

std::string run_config_markdown() {
  std::string text =
      "# Run configuration reference\n"
      "\n"
      "<!-- Generated from the key table in io/config/config_keys.cpp by run_config_markdown();\n"
      "     do not edit by hand. Regenerate with:\n"
      "     GALORE_UPDATE_DOCS=1 <build>/tests/io/test_io_config \"[docs]\" -->\n"
      "\n"
      "`galore-train --config run.toml` reads a TOML file with the sections below (examples in\n"
      "`examples/`). Any key can be overridden on the command line as `--section.key=value` or\n"
      "`--section.key value`, or `--key value` when no other section has that key; overrides\n"
      "apply after the file. Unknown keys, values of the wrong type and values out of range are\n"
      "refused before any work starts, with the file, line and column and a \"did you mean\"\n"
      "suggestion. `galore-train --help` prints the same table.\n"
      "\n"
      "Rules that involve several keys:\n"
      "\n"
      "- `batch.global_batch` must be a multiple of `batch.micro_batch` times the number of\n"
      "  data-parallel ranks; each optimizer step accumulates `global_batch / (micro_batch x "
      "ranks)`\n"
      "  micro-batches per rank.\n"
      "- `run.tokens > 0` sets the step count to `ceil(tokens / (global_batch x seq_len))`.\n"
      "- Warm-up lasts `schedule.warmup_steps` steps, or `round(warmup_fraction x steps)` when\n"
      "  that is 0, and must end before the run does.\n"
      "- Learning rate at step s (0-based) of S steps with W warm-up steps and peak `lr`:\n"
      "  `lr x (s + 1) / W` for s < W, then cosine decay\n"
      "  `lr x (m + (1 - m) x (1 + cos(pi x p)) / 2)` with `p = (s - W) / (S - 1 - W)` and\n"
      "  `m = schedule.min_lr_ratio`, so the last step runs at `m x lr`\n"
      "  (io/config/lr_schedule.hpp).\n"
      "- `run.eval_tokens` must hold at least one window of `batch.seq_len` tokens.\n"
      "- `data.validation` cannot be combined with a `builtin:` source (it has its own split).\n"
      "- Relative paths (`model.config_json`, `data.source`, `data.validation`) are relative to\n"
      "  the TOML file's directory; on the command line, to the working directory.\n"
      "  `run.output_dir` is always relative to the working directory.\n";
  std::string section;
  for (const ConfigKey& key : run_config_keys()) {
    if (key.section() != section) {
      section = key.section();
      text += "\n## [" + section +
              "]\n\n| key | type | default | allowed | description |\n"
              "| --- | --- | --- | --- | --- |\n";
    }
    text += "| `" + key.leaf() + "` | " + type_name(key.type) + " | `" +
            format_value(key.default_value) + "` | " + describe_allowed(key) + " | " + key.doc +
            " |\n";
  }
  return text;
}

}  // namespace galore::config
