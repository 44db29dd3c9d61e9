// Run configuration: defaults, TOML parsing, every error kind with its location and suggestion,
// command-line overrides, path anchoring, TOML round trip, and the generated help and docs.
#include "catch.hpp"

#include <fmt/format.h>
#include "require_error.hpp"

#include "galore/core/error.hpp"
#include "io/config/config_keys.hpp"
#include "io/config/run_config.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>

using galore::ConfigError;
using namespace galore::config;

namespace {

RunConfig parse(const std::string& text, const std::vector<std::string>& overrides = {}) {
  return parse_run_config(text, "run.toml", "", overrides);
}

}  // namespace

TEST_CASE("defaults follow the paper's recipe", "[config]") {
  const RunConfig config;
  CHECK(config.model.preset == "60m");
  CHECK(config.model.config_json.empty());
  CHECK(config.model.dtype == "bf16");
  CHECK(config.optimizer.name == "galore_adamw");
  CHECK(config.optimizer.lr == 0.01);
  CHECK(config.optimizer.rank == 128);
  CHECK(config.optimizer.update_gap == 200);
  CHECK(config.optimizer.scale == 0.25);
  CHECK(config.optimizer.beta1 == 0.9);
  CHECK(config.optimizer.beta2 == 0.999);
  CHECK(config.optimizer.proj_type == "std");
  CHECK_FALSE(config.optimizer.per_layer);
  CHECK(config.schedule.warmup_fraction == 0.1);
  CHECK(config.schedule.min_lr_ratio == 0.1);
  CHECK(config.batch.global_batch == 512);
  CHECK(config.batch.seq_len == 256);
  CHECK(config.data.source == "builtin:lorenz96");
  CHECK(config.total_steps() == 10000);
  CHECK(config.warmup_steps() == 1000);
  CHECK(config.accumulation_steps() == 512 / 8);
  CHECK_NOTHROW(validate(config));
  // Every documented key of the issue exists in the table.
  for (const char* name : {"model.preset",
                           "model.config_json",
                           "model.dtype",
                           "model.activation_checkpointing",
                           "optimizer.name",
                           "optimizer.lr",
                           "optimizer.weight_decay",
                           "optimizer.beta1",
                           "optimizer.beta2",
                           "optimizer.eps",
                           "optimizer.grad_clip",
                           "optimizer.rank",
                           "optimizer.update_gap",
                           "optimizer.scale",
                           "optimizer.proj_type",
                           "optimizer.refresh",
                           "optimizer.per_layer",
                           "optimizer.block_size",
                           "schedule.warmup_steps",
                           "schedule.warmup_fraction",
                           "schedule.min_lr_ratio",
                           "batch.micro_batch",
                           "batch.global_batch",
                           "batch.seq_len",
                           "run.steps",
                           "run.tokens",
                           "run.eval_interval",
                           "run.eval_tokens",
                           "run.seed",
                           "run.threads",
                           "run.output_dir",
                           "run.log_interval",
                           "data.source",
                           "data.validation",
                           "data.validation_fraction",
                           "data.dtype"}) {
    INFO(name);
    CHECK(find_key(name) != nullptr);
  }
}

TEST_CASE("a TOML file sets keys of every type", "[config]") {
  const RunConfig config = parse(R"(
[model]
config_json = "/models/tiny.json"
activation_checkpointing = true

[optimizer]
name = "galore_adamw8bit"
lr = 5e-3
grad_clip = 0      # an integer is accepted for a float key
rank = 1_024
per_layer = true

[batch]
micro_batch = 2
global_batch = 64

[run]
tokens = 1_000_000
output_dir = "out dir/\"quoted\""
)");
  CHECK(config.model.config_json == "/models/tiny.json");
  CHECK(config.model.activation_checkpointing);
  CHECK(config.optimizer.name == "galore_adamw8bit");
  CHECK(config.optimizer.lr == 0.005);
  CHECK(config.optimizer.grad_clip == 0.0);
  CHECK(config.optimizer.rank == 1024);
  CHECK(config.optimizer.per_layer);
  CHECK(config.run.output_dir == "out dir/\"quoted\"");
  CHECK(config.accumulation_steps() == 32);
  CHECK(config.accumulation_steps(4) == 8);
  // 1e6 tokens / (64 x 256) per step = 61.04 -> 62 steps; 10% warm-up = 6.
  CHECK(config.total_steps() == 62);
  CHECK(config.warmup_steps() == 6);
  CHECK(config.optimizer.beta2 == 0.999);  // untouched keys keep their defaults
}

TEST_CASE("unknown keys and sections are refused with location and suggestion", "[config]") {
  require_error<ConfigError>(
      [] { parse("[optimizer]\nlr = 0.1\nrnak = 4\n"); },
      {"run.toml:3:1", "unknown key 'optimizer.rnak'", "did you mean 'optimizer.rank'"});
  require_error<ConfigError>(
      [] { parse("[optimiser]\nlr = 0.1\n"); },
      {"run.toml:1:2", "unknown section [optimiser]", "did you mean 'optimizer'"});
  require_error<ConfigError>(
      [] { parse("lr = 0.1\n"); },
      {"run.toml:1:1", "'lr' must be inside a [section]", "did you mean 'optimizer.lr'"});
  require_error<ConfigError>([] { parse("[batch]\nseq_length = 128\n"); },
                             {"run.toml:2:1", "batch.seq_length", "did you mean 'batch.seq_len'"});
  require_error<ConfigError>([] { parse("[optimizer.galore]\nrank = 4\n"); },
                             {"unknown key 'optimizer.galore'"});
}

TEST_CASE("values of the wrong type are refused", "[config]") {
  require_error<ConfigError>([] { parse("[optimizer]\nrank = \"128\"\n"); },
                             {"run.toml:2:1", "optimizer.rank expects an integer, got a string"});
  require_error<ConfigError>([] { parse("[optimizer]\nper_layer = 1\n"); },
                             {"optimizer.per_layer expects true or false, got an integer"});
  require_error<ConfigError>([] { parse("[optimizer]\nlr = \"high\"\n"); },
                             {"optimizer.lr expects a number, got a string"});
  require_error<ConfigError>([] { parse("[run]\ntokens = 1e9\n"); },
                             {"run.tokens expects an integer, got a float", "1_000_000"});
  require_error<ConfigError>([] { parse("[data]\nsource = [\"a\", \"b\"]\n"); },
                             {"data.source expects a string, got an array"});
}

TEST_CASE("values out of range or not among the choices are refused", "[config]") {
  require_error<ConfigError>([] { parse("[optimizer]\nlr = -1\n"); },
                             {"run.toml:2:1", "optimizer.lr = -1.0", "out of range (0, 10]"});
  require_error<ConfigError>([] { parse("[optimizer]\nbeta2 = 1.0\n"); },
                             {"optimizer.beta2 = 1.0", "[0, 1)"});
  require_error<ConfigError>([] { parse("[optimizer]\nrank = 0\n"); },
                             {"optimizer.rank = 0", "[1, 65536]"});
  require_error<ConfigError>([] { parse("[optimizer]\nlr = nan\n"); }, {"optimizer.lr = nan"});
  require_error<ConfigError>(
      [] { parse("[optimizer]\nname = \"galore_adam\"\n"); },
      {"optimizer.name = \"galore_adam\"", "one of adamw", "did you mean 'galore_adamw'"});
  require_error<ConfigError>([] { parse("[model]\ndtype = \"fp16\"\n"); },
                             {"model.dtype", "one of bf16, fp32"});
  require_error<ConfigError>([] { parse("[run]\noutput_dir = \"\"\n"); },
                             {"run.output_dir", "must not be empty"});
}

TEST_CASE("keys that depend on each other are checked together", "[config]") {
  require_error<ConfigError>(
      [] { parse("[batch]\nmicro_batch = 3\nglobal_batch = 512\n"); },
      {"batch.global_batch = 512", "not a multiple of batch.micro_batch", "3 x 1 = 3"});
  const RunConfig config = parse("[batch]\nmicro_batch = 8\nglobal_batch = 64\n");
  CHECK_NOTHROW(validate(config, 2));
  require_error<ConfigError>([&] { validate(config, 3); }, {"8 x 3 = 24"});
  require_error<ConfigError>([] { parse("[run]\nsteps = 100\n[schedule]\nwarmup_steps = 100\n"); },
                             {"schedule.warmup_steps = 100", "100 steps"});
  require_error<ConfigError>([] { parse("[run]\neval_tokens = 100\n"); },
                             {"run.eval_tokens = 100", "batch.seq_len = 256"});
  require_error<ConfigError>([] { parse("[data]\nvalidation = \"val.tok\"\n"); },
                             {"data.validation", "builtin:lorenz96"});
  CHECK(parse("[data]\nsource = \"t.tok\"\nvalidation = \"v.tok\"\n").data.validation == "v.tok");
}

TEST_CASE("TOML syntax errors and missing files name the file", "[config]") {
  require_error<ConfigError>([] { parse("[optimizer]\nlr = = 3\n"); },
                             {"run.toml:2", "TOML syntax error"});
  require_error<ConfigError>([] { load_run_config("/nonexistent/run.toml"); },
                             {"/nonexistent/run.toml", "cannot open"});
  CHECK(load_run_config("").optimizer.rank == 128);
}

TEST_CASE("command-line overrides apply after the file", "[config]") {
  const RunConfig config =
      parse("[optimizer]\nlr = 0.1\nrank = 64\n",
            {"--optimizer.lr=0.02", "--run.steps", "500", "--per_layer", "true",
             "--model.config_json=rel/model.json", "--name=adam8bit", "--seed", "7"});
  CHECK(config.optimizer.lr == 0.02);
  CHECK(config.optimizer.rank == 64);
  CHECK(config.run.steps == 500);
  CHECK(config.optimizer.per_layer);
  CHECK(config.model.config_json == "rel/model.json");  // overrides stay relative to the cwd
  CHECK(config.optimizer.name == "adam8bit");
  CHECK(config.run.seed == 7);

  require_error<ConfigError>([] { parse("", {"--optimizer.rnak=3"}); },
                             {"command line --optimizer.rnak", "did you mean 'optimizer.rank'"});
  require_error<ConfigError>(
      [] {
        parse("", {"--dtype", "fp32"});
      },
      {"'dtype' is ambiguous", "model.dtype", "data.dtype"});
  require_error<ConfigError>([] { parse("", {"--run.steps=ten"}); },
                             {"command line --run.steps", "expects an integer, got 'ten'"});
  require_error<ConfigError>([] { parse("", {"--run.steps=12x"}); }, {"got '12x'"});
  require_error<ConfigError>([] { parse("", {"--optimizer.lr=20"}); },
                             {"command line --optimizer.lr", "out of range"});
  require_error<ConfigError>([] { parse("", {"--per_layer=yes"}); }, {"expects true or false"});
  require_error<ConfigError>([] { parse("", {"--run.steps"}); }, {"--run.steps", "missing value"});
  require_error<ConfigError>([] { parse("", {"steps=4"}); }, {"unexpected argument 'steps=4'"});
  require_error<ConfigError>([] { parse("", {"--batch.micro_batch=7"}); },
                             {"not a multiple of batch.micro_batch"});
}

TEST_CASE("relative paths in a file are anchored at the file's directory", "[config]") {
  const RunConfig config = parse_run_config(
      "[model]\nconfig_json = \"models/tiny.json\"\n[data]\nsource = \"../data/x.h5:/tokens\"\n"
      "validation = \"/abs/val.tok\"\n[run]\noutput_dir = \"out\"\n",
      "configs/run.toml", "configs");
  CHECK(config.model.config_json == "configs/models/tiny.json");
  CHECK(config.data.source == "data/x.h5:/tokens");
  CHECK(config.data.validation == "/abs/val.tok");
  CHECK(config.run.output_dir == "out");
  CHECK(parse_run_config("", "c/run.toml", "c").data.source == "builtin:lorenz96");
}

TEST_CASE("to_toml writes every key and reads back to the same configuration", "[config]") {
  RunConfig config = parse(
      "[optimizer]\nname = \"galore_adafactor\"\nlr = 0.0123456789\n"
      "eps = 1e-30\nper_layer = true\n[run]\noutput_dir = \"a\\\\b \\\"c\\\"\"\n"
      "tokens = 123456789\n");
  const std::string text = to_toml(config);
  for (const ConfigKey& key : run_config_keys()) {
    INFO(key.name);
    CHECK(text.find(fmt::format("\n{} = ", key.leaf())) != std::string::npos);
  }
  const RunConfig again = parse(text);
  CHECK(to_toml(again) == text);
  CHECK(again.optimizer.name == "galore_adafactor");
  CHECK(again.optimizer.lr == 0.0123456789);
  CHECK(again.optimizer.eps == 1e-30);
  CHECK(again.run.output_dir == "a\\b \"c\"");
  CHECK(again.run.tokens == 123456789);
}

TEST_CASE("--help text documents every key with its default and doc", "[config][docs]") {
  const std::string help = run_config_help();
  for (const ConfigKey& key : run_config_keys()) {
    INFO(key.name);
    const std::size_t at = help.find("--" + key.name + "  (");
    REQUIRE(at != std::string::npos);
    const std::string entry = help.substr(at, help.find('\n', help.find('\n', at) + 1) - at);
    CHECK(entry.find("default " + format_value(key.default_value)) != std::string::npos);
    CHECK(entry.find(key.doc) != std::string::npos);
    if (key.type == KeyType::choice) {
      for (const std::string& choice : key.choices) CHECK(entry.find(choice) != std::string::npos);
    }
  }
  CHECK(help.find("[optimizer]") != std::string::npos);
  CHECK(help.find("range (0, 10]") != std::string::npos);
}

TEST_CASE("docs/config.md is the generated reference", "[config][docs]") {
  const std::string path = std::string(GALORE_SOURCE_DIR) + "/docs/config.md";
  const std::string generated = run_config_markdown();
  if (std::getenv("GALORE_UPDATE_DOCS") != nullptr) {
    std::ofstream(path) << generated;
  }
  std::ifstream file(path);
  std::stringstream checked_in;
  checked_in << file.rdbuf();
  INFO(
      "docs/config.md is out of date; regenerate with GALORE_UPDATE_DOCS=1 test_io_config "
      "\"[docs]\"");
  CHECK(checked_in.str() == generated);
  for (const ConfigKey& key : run_config_keys()) {
    CHECK(generated.find("| `" + key.leaf() + "` |") != std::string::npos);
  }
}
