// Samplers: windows in bounds with targets shifted by one, determinism per seed, exact resume from
// a saved (seed, samples_drawn) state, and the fixed evaluation windows.
#include "catch.hpp"
#include "require_error.hpp"

#include "galore/core/error.hpp"
#include "io/data/token_source.hpp"
#include "io/data/window_sampler.hpp"

#include <map>
#include <memory>
#include <numeric>

using namespace galore::data;

namespace {

// Token i has id i: every id tells where it came from.
TokenSourcePtr ramp(std::int64_t size) {
  std::vector<std::int32_t> tokens(static_cast<std::size_t>(size));
  std::iota(tokens.begin(), tokens.end(), 0);
  return std::make_shared<InMemoryTokenSource>("ramp", std::move(tokens), size);
}

struct Batch {
  std::vector<std::int32_t> inputs;
  std::vector<std::int32_t> targets;
};

Batch draw(RandomWindowSampler& sampler, std::int64_t rows) {
  Batch batch{std::vector<std::int32_t>(static_cast<std::size_t>(rows * sampler.seq_len())),
              std::vector<std::int32_t>(static_cast<std::size_t>(rows * sampler.seq_len()))};
  sampler.next_batch(rows, batch.inputs.data(), batch.targets.data());
  return batch;
}

}  // namespace

TEST_CASE("random windows stay in bounds and targets are inputs shifted by one",
          "[data][sampler]") {
  const std::int64_t size = 20;
  const std::int64_t seq_len = 4;
  RandomWindowSampler sampler(ramp(size), seq_len, 7);
  std::map<std::int32_t, int> starts;
  const int samples = 3200;
  const Batch batch = draw(sampler, samples);
  for (int row = 0; row < samples; ++row) {
    const std::int32_t* inputs = batch.inputs.data() + row * seq_len;
    const std::int32_t* targets = batch.targets.data() + row * seq_len;
    REQUIRE(inputs[0] >= 0);
    REQUIRE(targets[seq_len - 1] <= size - 1);
    for (int i = 0; i < seq_len; ++i) {
      REQUIRE(inputs[i] == inputs[0] + i);
      REQUIRE(targets[i] == inputs[i] + 1);
    }
    CHECK(sampler.window_offset(static_cast<std::uint64_t>(row)) == inputs[0]);
    ++starts[inputs[0]];
  }
  // Every start 0..size-seq_len-1 occurs, roughly uniformly (expected 200 each).
  REQUIRE(starts.size() == static_cast<std::size_t>(size - seq_len));
  CHECK(starts.begin()->first == 0);
  CHECK(starts.rbegin()->first == size - seq_len - 1);
  for (const auto& [start, count] : starts) {
    INFO("start " << start);
    CHECK(count > 120);
    CHECK(count < 280);
  }
  CHECK(sampler.state().samples_drawn == static_cast<std::uint64_t>(samples));
}

TEST_CASE("the sampler is deterministic per seed and resumes exactly", "[data][sampler]") {
  const auto source = ramp(100000);
  RandomWindowSampler a(source, 16, 1234);
  RandomWindowSampler b(source, 16, 1234);
  RandomWindowSampler other(source, 16, 1235);
  const Batch from_a = draw(a, 8);
  CHECK(from_a.inputs == draw(b, 8).inputs);
  CHECK(from_a.inputs != draw(other, 8).inputs);

  // Uninterrupted: 5 batches of 4. Interrupted: 3 batches, save, a new sampler restores, 2 more.
  RandomWindowSampler straight(source, 16, 99);
  std::vector<Batch> expected;
  for (int step = 0; step < 5; ++step) expected.push_back(draw(straight, 4));

  RandomWindowSampler first_run(source, 16, 99);
  for (int step = 0; step < 3; ++step) CHECK(draw(first_run, 4).inputs == expected[step].inputs);
  const SamplerState saved = first_run.state();
  CHECK(saved.seed == 99);
  CHECK(saved.samples_drawn == 12);

  RandomWindowSampler resumed(source, 16, 0);  // the seed comes back with the state
  resumed.restore(saved);
  for (int step = 3; step < 5; ++step) {
    const Batch batch = draw(resumed, 4);
    CHECK(batch.inputs == expected[step].inputs);
    CHECK(batch.targets == expected[step].targets);
  }

  // skip() leaves the same positions as drawing.
  RandomWindowSampler skipping(source, 16, 99);
  skipping.skip(12);
  CHECK(draw(skipping, 4).inputs == expected[3].inputs);
}

TEST_CASE("evaluation windows are fixed, non-overlapping and capped by eval tokens",
          "[data][sampler]") {
  const auto source = ramp(35);
  EvaluationWindows all(source, 8);
  CHECK(all.count() == 4);  // starts 0, 8, 16, 24; the last target is token 32 < 35
  EvaluationWindows capped(source, 8, 17);
  CHECK(capped.count() == 2);
  EvaluationWindows tiny(source, 8, 3);
  CHECK(tiny.count() == 1);

  std::vector<std::int32_t> inputs(3 * 8);
  std::vector<std::int32_t> targets(3 * 8);
  CHECK(all.fill(0, 3, inputs.data(), targets.data()) == 3);
  for (int row = 0; row < 3; ++row) {
    for (int i = 0; i < 8; ++i) {
      CHECK(inputs[row * 8 + i] == row * 8 + i);
      CHECK(targets[row * 8 + i] == row * 8 + i + 1);
    }
  }
  CHECK(all.fill(3, 3, inputs.data(), targets.data()) == 1);  // only window 3 is left
  CHECK(inputs[0] == 24);
  CHECK(targets[7] == 32);
  CHECK(all.fill(4, 3, inputs.data(), targets.data()) == 0);
}

TEST_CASE("a tail split keeps training windows out of the validation part", "[data][sampler]") {
  const TrainValidationSplit split = split_tail(ramp(1000), 0.1);
  REQUIRE(split.train->size() == 900);
  RandomWindowSampler sampler(split.train, 32, 5);
  const Batch batch = draw(sampler, 500);
  for (const std::int32_t id : batch.targets) REQUIRE(id < 900);
  EvaluationWindows validation(split.validation, 32);
  std::vector<std::int32_t> inputs(32);
  std::vector<std::int32_t> targets(32);
  validation.fill(0, 1, inputs.data(), targets.data());
  CHECK(inputs[0] == 900);
  require_error<galore::IoError>([&] { split_tail(ramp(1000), 1.0); }, {"ramp", "(0, 1)"});
}
