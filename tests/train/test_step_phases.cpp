// Phase timers in a real training step: the phases of a step sum to its wall time, per-layer
// updates (run inside the backward pass) are charged to the optimizer, refresh time appears on
// subspace-refresh steps only, and collectives are charged to communication.
#include "catch.hpp"

#include "galore/core/timed_process_group.hpp"
#include "galore/train/train_step.hpp"
#include "train/training_fixtures.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

using galore::Phase;
using training_fixtures::rows_of_table;
using training_fixtures::tiny_config;
using training_fixtures::tiny_optimizer;
using Clock = std::chrono::steady_clock;

// One process that takes its time: every collective sleeps 1 ms (so communication time is known
// to be at least 1 ms per call) and leaves the data as it is (the mean over one rank).
void slow_collective(int& calls) {
  ++calls;
  std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

// Its non-blocking averaging: each tensor holds its mean (itself) once added.
class SlowSingleRankReducer final : public galore::BucketReducer {
 public:
  explicit SlowSingleRankReducer(int& calls) : calls_(calls) {}
  void add(const galore::ExecSpace&, const galore::Matrix<float>&) override {
    slow_collective(calls_);
    ++added_;
  }
  void flush(const galore::ExecSpace&) override {}
  std::size_t progress(const galore::ExecSpace&) override { return added_; }
  void wait(const galore::ExecSpace&, std::size_t) override {}
  void wait_all(const galore::ExecSpace&) override { added_ = 0; }

 private:
  int& calls_;
  std::size_t added_ = 0;
};

class SlowSingleRank final : public galore::ProcessGroup {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void average(const galore::ExecSpace&, const galore::Matrix<float>&) override { wait(); }
  void average_bucketed(const galore::ExecSpace&, const std::vector<galore::Matrix<float>>&,
                        std::size_t) override {
    wait();
  }
  std::unique_ptr<galore::BucketReducer> make_bucket_reducer(std::size_t) override {
    return std::make_unique<SlowSingleRankReducer>(calls);
  }
  double sum(double value) override {
    wait();
    return value;
  }
  bool any(bool value) override { return value; }
  void broadcast_host(void*, std::size_t) override {}
  void require_identical(std::uint64_t, const std::string&) override {}
  void barrier() override {}
  std::uint64_t bytes_reduced() const override { return 0; }
  int calls = 0;

 private:
  void wait() { slow_collective(calls); }
};

struct TimedStep {
  galore::PhaseSeconds split;
  double wall = 0;
  int refreshed = 0;
};

// Four GaLore-AdamW steps (subspace refresh every 2 steps: steps 0 and 2), each timed.
std::vector<TimedStep> timed_steps(bool per_layer, galore::ProcessGroup* group = nullptr) {
  const galore::ModelConfig config = tiny_config();
  galore::LlamaModel<float> model(config, 11);
  galore::Optimizer<float> optimizer(tiny_optimizer("galore_adamw", 2), model.parameters());
  galore::PhaseTimer timer{galore::ExecSpace()};
  std::optional<galore::TimedProcessGroup> timed_group;
  if (group != nullptr) timed_group.emplace(*group, &timer);
  galore::TrainStep<float> step(model, optimizer, per_layer, 0.0,
                                timed_group ? &*timed_group : nullptr);
  step.set_phase_timer(&timer);
  std::vector<TimedStep> steps;
  for (int s = 0; s < 4; ++s) {
    const std::vector<galore::MicroBatch> batches{rows_of_table(8 * s, 4, 6, config.vocab_size)};
    timer.lap();
    const Clock::time_point start = Clock::now();
    const galore::StepOutcome outcome = step.run(galore::ExecSpace(), s, 0.01f, batches);
    TimedStep t;
    t.split = timer.lap();
    t.wall = std::chrono::duration<double>(Clock::now() - start).count();
    t.refreshed = outcome.report.refreshed;
    steps.push_back(t);
  }
  return steps;
}

}  // namespace

TEST_CASE("a step's phases are exclusive and sum to its wall time", "[phase_timer]") {
  for (const bool per_layer : {false, true}) {
    const std::vector<TimedStep> steps = timed_steps(per_layer);
    for (std::size_t s = 0; s < steps.size(); ++s) {
      const TimedStep& t = steps[s];
      INFO((per_layer ? "per-layer" : "standard") << ", step " << s);
      CHECK(t.split.total() == Approx(t.wall).margin(1e-3));
      CHECK(t.split[Phase::Forward] > 0);
      CHECK(t.split[Phase::Backward] > 0);
      // In per-layer mode the updates run inside the backward pass and are still the optimizer's.
      CHECK(t.split[Phase::Optimizer] > 0);
      CHECK(t.split[Phase::Communication] == 0);
      CHECK(t.split[Phase::Io] == 0);
      // Refresh steps recompute every projected weight's subspace; the others none.
      const bool refresh_step = s % 2 == 0;
      CHECK((t.refreshed > 0) == refresh_step);
      if (refresh_step) {
        CHECK(t.split[Phase::Refresh] > 0);
      } else {
        CHECK(t.split[Phase::Refresh] == 0);
      }
    }
  }
}

TEST_CASE("collectives are charged to communication, not to the phase that calls them",
          "[phase_timer]") {
  for (const bool per_layer : {false, true}) {
    INFO((per_layer ? "per-layer" : "standard"));
    SlowSingleRank group;
    const std::vector<TimedStep> steps = timed_steps(per_layer, &group);
    double communication = 0, total = 0, wall = 0;
    for (const TimedStep& t : steps) {
      communication += t.split[Phase::Communication];
      total += t.split.total();
      wall += t.wall;
    }
    // Projected averaging (GaLore, no clipping): one average per parameter per step plus the
    // loss sum, each sleeping 1 ms.
    REQUIRE(group.calls > 4 * 10);
    CHECK(communication >= 1e-3 * group.calls);
    CHECK(total == Approx(wall).margin(1e-3 * steps.size()));
  }
}
