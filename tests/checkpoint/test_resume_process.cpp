// End to end with the built galore-train, each run a new process: N steps straight versus k steps,
// stop, restart, resume to N (identical losses, bit-identical final checkpoints) for AdamW, 8-bit
// GaLore and GaLore-Adafactor with per-layer updates on and off; a writer SIGKILLed mid-write;
// SIGTERM; an incompatible resume; the weight export.
#include "catch.hpp"
#include "checkpoint_testing.hpp"
#include "io/scratch_directory.hpp"

#include "io/checkpoint/checkpoint_directory.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <sstream>
#include <thread>

extern char** environ;

using namespace checkpoint_test;
namespace fs = std::filesystem;

namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// galore-train as a child process, stdout and stderr into `log`.
class TrainProcess {
 public:
  TrainProcess(const std::vector<std::string>& arguments, const std::string& log,
               const std::vector<std::string>& extra_environment = {}) {
    std::vector<std::string> args = {GALORE_TRAIN_EXE};
    args.insert(args.end(), arguments.begin(), arguments.end());
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_strings(extra_environment);
    std::vector<char*> envp;
    for (std::string& e : env_strings) envp.push_back(e.data());
    for (char** e = environ; *e != nullptr; ++e) envp.push_back(*e);
    envp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    const int error =
        posix_spawn(&pid_, GALORE_TRAIN_EXE, &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    REQUIRE(error == 0);
  }
  ~TrainProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  TrainProcess(const TrainProcess&) = delete;
  TrainProcess& operator=(const TrainProcess&) = delete;

  void signal(int number) { REQUIRE(::kill(pid_, number) == 0); }

  // The exit status; -signal when killed by a signal.
  int wait() {
    int status = 0;
    REQUIRE(::waitpid(pid_, &status, 0) == pid_);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  }

 private:
  pid_t pid_ = -1;
};

// Polls until `ready()` or a minute has passed.
template <class Predicate>
bool wait_for(Predicate ready) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (ready()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return ready();
}

int run_train(const std::vector<std::string>& arguments, const std::string& log,
              const std::vector<std::string>& environment = {}) {
  TrainProcess process(arguments, log, environment);
  return process.wait();
}

// A tiny model on the built-in Lorenz-96 corpus: a run of a few steps takes well under a second.
// grad_clip 0.5 is below the gradient norms of this model, so per-layer runs clip with the
// previous step's norm (which a resume must restore); update_gap 2 refreshes GaLore subspaces on
// both sides of the interruption.
std::string write_config(const ScratchDirectory& dir, const std::string& optimizer, bool per_layer,
                         const std::string& dtype, std::int64_t steps,
                         std::int64_t interval_steps) {
  write_text(dir.file("tiny.json"),
             R"({"hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 2,
                 "num_hidden_layers": 2, "vocab_size": 258, "max_sequence_length": 64})");
  std::ostringstream toml;
  toml << "[model]\nconfig_json = \"tiny.json\"\ndtype = \"" << dtype << "\"\n"
       << "[optimizer]\nname = \"" << optimizer << "\"\nlr = 0.01\nrank = 8\nupdate_gap = 2\n"
       << "block_size = 256\ngrad_clip = 0.5\nper_layer = " << (per_layer ? "true" : "false")
       << "\n[schedule]\nwarmup_steps = 2\n"
       << "[batch]\nmicro_batch = 2\nglobal_batch = 4\nseq_len = 16\n"
       << "[run]\nsteps = " << steps << "\neval_interval = 0\neval_tokens = 64\nthreads = 1\n"
       << "seed = 7\nlog_interval = 1\n"
       << "[checkpoint]\ninterval_steps = " << interval_steps << "\n";
  const std::string path = dir.file(optimizer + (per_layer ? "-per-layer" : "") + ".toml");
  write_text(path, toml.str());
  return path;
}

struct TrainLine {
  std::int64_t step;
  double loss, lr, grad_norm;
  bool operator==(const TrainLine& o) const {
    return step == o.step && loss == o.loss && lr == o.lr && grad_norm == o.grad_norm;
  }
};

std::vector<TrainLine> train_lines(const std::string& output_dir) {
  std::vector<TrainLine> lines;
  std::ifstream in(output_dir + "/metrics.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line, nullptr, false);  // a line may be half-written
    if (!j.is_discarded() && j["type"] == "train") {
      lines.push_back({j["step"], j["loss"], j["lr"], j["grad_norm"]});
    }
  }
  return lines;
}

std::string checkpoint_path(const std::string& output_dir, std::int64_t step) {
  return galore::checkpoint::checkpoint_directory(output_dir) + "/" +
         galore::checkpoint::checkpoint_file_name(step);
}

nlohmann::json summary(const std::string& output_dir) {
  return nlohmann::json::parse(read_text(output_dir + "/summary.json"));
}

}  // namespace

TEST_CASE("train N steps straight equals train k, restart, resume to N", "[resume][process]") {
  struct Case {
    const char* optimizer;
    const char* dtype;
  };
  for (const Case c : {Case{"adamw", "fp32"}, Case{"galore_adamw8bit", "bf16"},
                       Case{"galore_adafactor", "fp32"}}) {
    for (const bool per_layer : {false, true}) {
      INFO(c.optimizer << " " << c.dtype << (per_layer ? " per-layer" : ""));
      ScratchDirectory dir;
      const std::string config = write_config(dir, c.optimizer, per_layer, c.dtype, 6, 0);
      const std::string straight = dir.file("straight"), split = dir.file("split");
      REQUIRE(run_train({"-c", config, "--run.output_dir", straight}, dir.file("a.log")) == 0);
      REQUIRE(run_train({"-c", config, "--run.output_dir", split, "--run.session_steps", "3"},
                        dir.file("b.log")) == 0);
      CHECK(summary(split)["status"] == "stopped");
      REQUIRE(fs::exists(checkpoint_path(split, 3)));
      REQUIRE(run_train({"-c", config, "--run.output_dir", split, "--resume", "auto"},
                        dir.file("c.log")) == 0);
      INFO(read_text(dir.file("c.log")));
      CHECK(summary(split)["status"] == "completed");
      CHECK(summary(split)["start_step"] == 3);

      const std::vector<TrainLine> expected = train_lines(straight);
      REQUIRE(expected.size() == 6);
      CHECK(expected.front().loss != expected.back().loss);
      CHECK(train_lines(split) == expected);
      require_identical(file_contents(checkpoint_path(straight, 6)),
                        file_contents(checkpoint_path(split, 6)));
    }
  }
}

TEST_CASE("a writer killed mid-write leaves the previous checkpoint to resume from",
          "[resume][process][crash]") {
  ScratchDirectory dir;
  const std::string config = write_config(dir, "galore_adamw8bit", false, "fp32", 6, 2);
  const std::string straight = dir.file("straight"), killed = dir.file("killed");
  REQUIRE(run_train({"-c", config, "--run.output_dir", straight}, dir.file("a.log")) == 0);

  const std::string temporary = checkpoint_path(killed, 4) + ".tmp";
  {
    TrainProcess writer({"-c", config, "--run.output_dir", killed}, dir.file("b.log"),
                        {"GALORE_TEST_CHECKPOINT_STALL_STEP=4"});
    REQUIRE(wait_for(
        [&] { return read_text(dir.file("b.log")).find("stalled") != std::string::npos; }));
    writer.signal(SIGKILL);
    CHECK(writer.wait() == -SIGKILL);
  }
  CHECK(fs::exists(checkpoint_path(killed, 2)));
  CHECK_FALSE(fs::exists(checkpoint_path(killed, 4)));
  REQUIRE(fs::exists(temporary));
  CHECK(fs::file_size(temporary) > 0);

  REQUIRE(run_train({"-c", config, "--run.output_dir", killed, "--resume", "auto"},
                    dir.file("c.log")) == 0);
  const std::string log = read_text(dir.file("c.log"));
  INFO(log);
  CHECK(log.find("removed " + temporary) != std::string::npos);
  CHECK(log.find("resumed from " + checkpoint_path(killed, 2)) != std::string::npos);
  CHECK(train_lines(killed) == train_lines(straight));
  require_identical(file_contents(checkpoint_path(straight, 6)),
                    file_contents(checkpoint_path(killed, 6)));
}

TEST_CASE("SIGTERM finishes the step, writes a checkpoint and exits 0", "[resume][process]") {
  ScratchDirectory dir;
  const std::string config = write_config(dir, "galore_adamw", true, "fp32", 100000, 0);
  const std::string out = dir.file("run");
  {
    TrainProcess run({"-c", config, "--run.output_dir", out}, dir.file("a.log"));
    REQUIRE(wait_for([&] { return train_lines(out).size() >= 2; }));
    run.signal(SIGTERM);
    CHECK(run.wait() == 0);
  }
  const nlohmann::json s = summary(out);
  CHECK(s["status"] == "stopped");
  const std::int64_t k = s["steps_completed"];
  REQUIRE(fs::exists(checkpoint_path(out, k)));
  CHECK(
      galore::checkpoint::list_checkpoints(galore::checkpoint::checkpoint_directory(out)).size() ==
      1);

  REQUIRE(run_train({"-c", config, "--run.output_dir", out, "--resume", "auto",
                     "--run.session_steps", "2"},
                    dir.file("b.log")) == 0);
  CHECK(summary(out)["start_step"] == k);
  CHECK(summary(out)["steps_completed"] == k + 2);
  const std::vector<TrainLine> lines = train_lines(out);
  REQUIRE(lines.size() == static_cast<std::size_t>(k + 2));
  for (std::size_t i = 0; i < lines.size(); ++i) CHECK(lines[i].step == std::int64_t(i) + 1);
}

TEST_CASE("galore-train refuses an incompatible resume, exports weights, starts afresh",
          "[resume][process]") {
  ScratchDirectory dir;
  const std::string config = write_config(dir, "galore_adamw", false, "bf16", 3, 0);
  const std::string out = dir.file("run");
  REQUIRE(run_train({"-c", config, "--run.output_dir", out}, dir.file("a.log")) == 0);

  CHECK(run_train({"-c", config, "--run.output_dir", out, "--resume", "auto", "--optimizer.rank",
                   "4", "--model.dtype", "fp32"},
                  dir.file("b.log")) == 2);
  const std::string refused = read_text(dir.file("b.log"));
  INFO(refused);
  CHECK(refused.find("optimizer.rank: checkpoint 8, this run 4") != std::string::npos);
  CHECK(refused.find("model.dtype: checkpoint 'bfloat16', this run 'float32'") !=
        std::string::npos);
  // More steps are a compatible change.
  CHECK(run_train({"-c", config, "--run.output_dir", out, "--resume", "auto", "--run.steps", "4"},
                  dir.file("d.log")) == 0);
  CHECK(summary(out)["steps_completed"] == 4);

  const std::string weights = dir.file("w.safetensors");
  REQUIRE(run_train({"--export-weights", checkpoint_path(out, 4), weights}, dir.file("e.log")) ==
          0);
  CHECK(read_text(dir.file("e.log")).find("exported 21 bfloat16 tensors") != std::string::npos);
  CHECK(fs::file_size(weights) > 37152 * 2);

  // A fresh run into the same directory moves the earlier checkpoints aside.
  REQUIRE(run_train({"-c", config, "--run.output_dir", out}, dir.file("f.log")) == 0);
  CHECK(read_text(dir.file("f.log")).find("moved 2 checkpoint(s) of an earlier run") !=
        std::string::npos);
  const auto kept =
      galore::checkpoint::list_checkpoints(galore::checkpoint::checkpoint_directory(out));
  REQUIRE(kept.size() == 1);
  CHECK(kept[0].step == 3);
}
