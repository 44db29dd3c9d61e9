// Whole runs (run_training) on 2 ranks: the same losses as one process with twice the micro-batch
// (the per-rank data layout of BatchLoader), only rank 0 writing, and a checkpoint written at 2
// ranks resumed by one process and by 2 ranks, each continuing as the uninterrupted 2-rank run.
#include "catch.hpp"

#include "galore/dist/communicator.hpp"
#include "galore/train/training_run.hpp"

#include <nlohmann/json.hpp>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

namespace {

namespace fs = std::filesystem;

fs::path test_directory() { return fs::temp_directory_path() / "galore-test-dist-run"; }

// A tiny model on the built-in Lorenz-96 corpus: 8 steps of 8 sequences.
galore::config::RunConfig tiny_run(const std::string& name, int micro_batch) {
  const fs::path dir = test_directory();
  const std::string toml = R"(
[model]
config_json = "model.json"
dtype = "fp32"
[optimizer]
name = "galore_adamw"
lr = 0.01
rank = 8
update_gap = 3
grad_clip = 0.0
[batch]
global_batch = 8
seq_len = 32
[run]
steps = 8
eval_interval = 0
eval_tokens = 1024
log_interval = 1
[checkpoint]
interval_steps = 0
)";
  auto config = galore::config::parse_run_config(toml, "tiny.toml", dir.string());
  config.batch.micro_batch = micro_batch;
  config.run.output_dir = (dir / name).string();
  return config;
}

// Step -> training loss, from metrics.jsonl.
std::map<std::int64_t, double> train_losses(const galore::config::RunConfig& config) {
  std::ifstream in(fs::path(config.run.output_dir) / "metrics.jsonl");
  std::map<std::int64_t, double> losses;
  for (std::string line; std::getline(in, line);) {
    const auto entry = nlohmann::json::parse(line);
    if (entry["type"] == "train") losses[entry["step"]] = entry["loss"];
  }
  return losses;
}

void check_close(const std::map<std::int64_t, double>& expected,
                 const std::map<std::int64_t, double>& actual, std::int64_t first_step) {
  for (const auto& [step, loss] : expected) {
    if (step < first_step) continue;
    INFO("step " << step);
    REQUIRE(actual.count(step) == 1);
    CHECK(std::abs(actual.at(step) - loss) < 1e-5);
  }
}

}  // namespace

TEST_CASE("2-rank runs equal 1-process runs; a 2-rank checkpoint resumes on 1 process",
          "[dist][training_run]") {
  galore::dist::Communicator world;
  REQUIRE(world.size() == 2);
  if (world.rank() == 0) {
    fs::remove_all(test_directory());
    fs::create_directories(test_directory());
    std::ofstream(test_directory() / "model.json")
        << R"({"hidden_size": 32, "intermediate_size": 88, "num_attention_heads": 2,
          "num_hidden_layers": 2, "vocab_size": 258, "max_sequence_length": 32})";
  }
  world.barrier();
  std::atomic<bool> stop{false};
  std::ostringstream console;

  // Uninterrupted: 2 ranks x micro-batch 2 (accumulation 2), consistency checked every step.
  auto straight = tiny_run("straight-np2", 2);
  straight.run.consistency_check_interval = 1;
  const galore::RunSummary s2 = galore::run_training(straight, stop, console, false, &world);
  CHECK(s2.status == galore::RunSummary::Status::Completed);
  CHECK(s2.steps_completed == 8);

  // 4 steps at 2 ranks, stopped with a checkpoint (session_steps), then resumed by rank 0 alone.
  auto first_half = tiny_run("resumed", 2);
  first_half.run.session_steps = 4;
  const galore::RunSummary h = galore::run_training(first_half, stop, console, false, &world);
  CHECK(h.status == galore::RunSummary::Status::Stopped);
#if GALORE_ENABLE_HDF5
  // The same checkpoint resumed by 2 ranks (rank 0 loads first, then rank 1; the replicas'
  // checksums are compared after loading), into a copy of the directory.
  world.barrier();
  if (world.rank() == 0) {
    fs::copy(first_half.run.output_dir, test_directory() / "resumed-np2",
             fs::copy_options::recursive);
  }
  world.barrier();
  auto second_half_np2 = tiny_run("resumed-np2", 2);
  second_half_np2.checkpoint.resume = "auto";
  const galore::RunSummary r2 = galore::run_training(second_half_np2, stop, console, false, &world);
  CHECK(r2.steps_completed == 8);
#endif
  world.barrier();
  if (world.rank() == 0) {
    INFO(console.str());
    // Only rank 0 wrote: one metrics line per step, not two.
    CHECK(train_losses(straight).size() == 8);
    // Projected averaging sends less than the full gradients; refresh steps send them whole.
    std::ifstream summary_file(fs::path(straight.run.output_dir) / "summary.json");
    const auto summary = nlohmann::json::parse(summary_file);
    CHECK(summary["ranks"] == 2);
    CHECK(summary["reduced_bytes_per_step"].get<double>() > 0);
    CHECK(summary["reduced_bytes_per_step"].get<double>() <
          summary["reduced_bytes_per_refresh_step"].get<double>());
    const auto single = tiny_run("straight-np1", 4);
    const galore::RunSummary s1 = galore::run_training(single, stop, console, false);
    CHECK(s1.steps_completed == 8);
    check_close(train_losses(single), train_losses(straight), 1);
    CHECK(std::abs(s1.final_validation_loss - s2.final_validation_loss) < 1e-5);
    CHECK(train_losses(single).at(8) < train_losses(single).at(1) - 0.1);  // it trained

#if GALORE_ENABLE_HDF5
    auto second_half = tiny_run("resumed", 4);
    second_half.checkpoint.resume = "auto";
    const galore::RunSummary r = galore::run_training(second_half, stop, console, false);
    CHECK(r.steps_completed == 8);
    const auto resumed = train_losses(second_half);
    CHECK(resumed.size() == 8);
    check_close(train_losses(straight), resumed, 5);
    CHECK(std::abs(r.final_validation_loss - s2.final_validation_loss) < 1e-5);
    check_close(train_losses(straight), train_losses(second_half_np2), 5);
    CHECK(std::abs(r2.final_validation_loss - s2.final_validation_loss) < 1e-5);
#endif
  }
  world.barrier();
}
