// A whole galore-train run through the library entry point: the validation loss falls, bad
// configurations are refused before any work, divergence and stop requests end the run cleanly,
// the batches and initial weights can be recorded for another implementation to replay.
#include "catch.hpp"

#include "galore/core/error.hpp"
#include "galore/train/training_run.hpp"
#include "io/data/open_token_source.hpp"
#include "io/data/window_sampler.hpp"
#if GALORE_ENABLE_HDF5
#include "io/checkpoint/weight_export.hpp"
#endif

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

// A small model on the built-in Lorenz-96 corpus that trains in a few seconds.
galore::config::RunConfig tiny_run(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("galore-test-" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "model.json") << R"({"hidden_size": 64, "intermediate_size": 176,
    "num_attention_heads": 4, "num_hidden_layers": 2, "vocab_size": 258,
    "max_sequence_length": 64})";
  const std::string toml = R"(
[model]
config_json = "model.json"
dtype = "fp32"
[optimizer]
name = "galore_adamw"
lr = 0.03
rank = 16
update_gap = 20
[batch]
micro_batch = 16
global_batch = 16
seq_len = 64
[run]
steps = 120
eval_interval = 60
eval_tokens = 4096
log_interval = 20
output_dir = "out"
)";
  auto config = galore::config::parse_run_config(toml, "tiny.toml", dir.string());
  config.run.output_dir = (dir / "out").string();
  return config;
}

std::vector<nlohmann::json> metrics(const galore::config::RunConfig& config) {
  std::ifstream in(fs::path(config.run.output_dir) / "metrics.jsonl");
  std::vector<nlohmann::json> records;
  for (std::string line; std::getline(in, line);) records.push_back(nlohmann::json::parse(line));
  return records;
}

nlohmann::json summary_file(const galore::config::RunConfig& config) {
  std::ifstream in(fs::path(config.run.output_dir) / "summary.json");
  return nlohmann::json::parse(in);
}

}  // namespace

TEST_CASE("a tiny run learns the Lorenz-96 corpus", "[training_run]") {
  const auto config = tiny_run("learns");
  std::atomic<bool> stop{false};
  std::ostringstream console;
  const galore::RunSummary s = galore::run_training(config, stop, console, false);
  INFO(console.str());
  CHECK(s.status == galore::RunSummary::Status::Completed);
  CHECK(s.steps_completed == 120);
  // Random init predicts ~ln(258) = 5.55; after 120 steps of GaLore-AdamW (123k tokens) the model
  // must have learned more than the token frequencies: well below the unigram entropy (4.82) of
  // the validation split. (Measured: 3.77.)
  CHECK(s.initial_validation_loss > 5.3);
  CHECK(s.final_validation_loss < s.unigram_entropy - 0.5);

  const auto records = metrics(config);
  int train_records = 0, eval_records = 0;
  for (const auto& r : records) {
    train_records += r["type"] == "train";
    eval_records += r["type"] == "eval";
  }
  CHECK(train_records == 120);
  CHECK(eval_records == 3);  // step 0, step 60, the final one
  CHECK(summary_file(config)["status"] == "completed");
  CHECK(fs::exists(fs::path(config.run.output_dir) / "config.toml"));
}

TEST_CASE("configurations that cannot run are refused before training", "[training_run]") {
  std::atomic<bool> stop{false};
  std::ostringstream console;
  auto config = tiny_run("refused");
  config.model.vocab_size = 100;  // the corpus uses 258 ids
  try {
    galore::run_training(config, stop, console, false);
    FAIL("no exception");
  } catch (const galore::ConfigError& e) {
    CHECK(std::string(e.what()).find("model.vocab_size") != std::string::npos);
    CHECK(std::string(e.what()).find("258") != std::string::npos);
  }
  config = tiny_run("refused");
  config.batch.seq_len = 128;  // the model's max_sequence_length is 64
  CHECK_THROWS_AS(galore::run_training(config, stop, console, false), galore::ConfigError);
  CHECK_FALSE(fs::exists(fs::path(config.run.output_dir) / "metrics.jsonl"));
}

TEST_CASE("a diverging run stops with the step named and a consistent output directory",
          "[training_run]") {
  auto config = tiny_run("diverges");
  config.optimizer.name = "adamw";
  config.optimizer.lr = 1e30;  // the first update makes every weight ~1e30: the loss overflows
  std::atomic<bool> stop{false};
  std::ostringstream console;
  const galore::RunSummary s = galore::run_training(config, stop, console, false);
  CHECK(s.status == galore::RunSummary::Status::Diverged);
  CHECK(s.message.find("at step " + std::to_string(s.steps_completed + 1)) != std::string::npos);
  CHECK(summary_file(config)["status"] == "diverged");
  CHECK(metrics(config).size() == static_cast<std::size_t>(1 + s.steps_completed));
}

TEST_CASE("a stop request finishes the current step and returns", "[training_run]") {
  const auto config = tiny_run("stops");
  std::atomic<bool> stop{true};
  std::ostringstream console;
  const galore::RunSummary s = galore::run_training(config, stop, console, false);
  CHECK(s.status == galore::RunSummary::Status::Stopped);
  CHECK(s.steps_completed == 1);
  CHECK(summary_file(config)["status"] == "stopped");
}

// run.record_batches: the .npy holds, step by step, the windows the sampler hands out (recomputed
// here from the sampler itself), targets being the inputs shifted by one.
TEST_CASE("the batches of every step are recorded as a .npy array", "[training_run][record]") {
  auto config = tiny_run("record");
  config.run.steps = 3;
  config.batch.micro_batch = 4;
  config.batch.global_batch = 8;  // two micro-batches per step
  config.run.record_batches = "batches.npy";
  std::atomic<bool> stop{false};
  std::ostringstream console;
  REQUIRE(galore::run_training(config, stop, console, false).steps_completed == 3);

  std::ifstream in(fs::path(config.run.output_dir) / "batches.npy", std::ios::binary);
  std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE(file.size() > 10);
  CHECK(file.compare(0, 8, std::string("\x93NUMPY\x01\x00", 8)) == 0);
  const std::size_t header_bytes =
      10 + static_cast<unsigned char>(file[8]) + 256 * static_cast<unsigned char>(file[9]);
  CHECK(header_bytes % 64 == 0);
  const std::string header = file.substr(10, header_bytes - 10);
  CHECK(header.find("'descr': '<i4'") != std::string::npos);
  CHECK(header.find("'shape': (3, 2, 4, 65)") != std::string::npos);
  CHECK(header.back() == '\n');
  const std::size_t values = 3 * 2 * 4 * 65;
  REQUIRE(file.size() == header_bytes + values * sizeof(std::int32_t));
  std::vector<std::int32_t> recorded(values);
  std::memcpy(recorded.data(), file.data() + header_bytes, file.size() - header_bytes);

  galore::data::DataSpec spec;
  spec.source = config.data.source;
  const auto split = galore::data::open_train_validation(spec);
  galore::data::RandomWindowSampler sampler(split.train, 64, config.run.seed);
  std::vector<std::int32_t> inputs(64), targets(64);
  for (std::size_t window = 0; window < 3 * 2 * 4; ++window) {
    sampler.next_batch(1, inputs.data(), targets.data());
    const std::int32_t* row = recorded.data() + window * 65;
    INFO("window " << window);
    CHECK(std::equal(inputs.begin(), inputs.end(), row));
    CHECK(std::equal(targets.begin(), targets.end(), row + 1));
  }
}

#if GALORE_ENABLE_HDF5
TEST_CASE("checkpoint.at_start writes the initial weights as step 0", "[training_run][record]") {
  auto config = tiny_run("at-start");
  config.run.steps = 2;
  config.checkpoint.at_start = true;
  config.checkpoint.interval_steps = 0;
  config.checkpoint.at_exit = false;
  std::atomic<bool> stop{false};
  std::ostringstream console;
  REQUIRE(galore::run_training(config, stop, console, false).steps_completed == 2);
  const fs::path checkpoints = fs::path(config.run.output_dir) / "checkpoints";
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(checkpoints)) {
    names.push_back(entry.path().filename().string());
  }
  REQUIRE(names == std::vector<std::string>{"step-000000000000.h5"});
  const auto exported = galore::checkpoint::export_weights(
      (checkpoints / names[0]).string(), (fs::path(config.run.output_dir) / "hf").string());
  CHECK(exported.step == 0);
  CHECK(exported.tensors == 2 * 9 + 3);  // per layer 7 projections + 2 norms; embed, norm, head
}
#endif
