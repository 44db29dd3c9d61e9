// One optimizer step over micro-batches: accumulation and per-layer updates must give the same
// weights as one large batch in the standard mode (the reference gets per-layer accumulation
// wrong).
#include "catch.hpp"

#include "galore/train/train_step.hpp"
#include "train/training_fixtures.hpp"

#include <cmath>
#include <string>
#include <vector>

namespace {

using training_fixtures::max_abs_difference;
using training_fixtures::rows_of_table;
using training_fixtures::tiny_config;
using training_fixtures::tiny_optimizer;
using training_fixtures::weights_of;

// Trains `steps` optimizer steps, each over `micro_batches` micro-batches covering the same
// 8 table rows, and returns the weights.
std::vector<double> train(const std::string& optimizer, bool per_layer, int micro_batches,
                          double grad_clip, int steps = 3) {
  const galore::ModelConfig config = tiny_config();
  const int rows = 8, seq = 6;
  galore::LlamaModel<float> model(config, 11);
  galore::Optimizer<float> opt(tiny_optimizer(optimizer, 2), model.parameters());
  galore::TrainStep<float> step(model, opt, per_layer, grad_clip);
  for (int s = 0; s < steps; ++s) {
    std::vector<galore::MicroBatch> batches;
    const int per = rows / micro_batches;
    for (int m = 0; m < micro_batches; ++m)
      batches.push_back(rows_of_table(s * rows + m * per, per, seq, config.vocab_size));
    const galore::StepOutcome outcome = step.run(galore::ExecSpace(), s, 0.01f, batches);
    REQUIRE(std::isfinite(outcome.loss));
    REQUIRE(outcome.report.skipped.empty());
  }
  return weights_of(model);
}

}  // namespace

TEST_CASE("four micro-batches equal one batch four times larger", "[train_step]") {
  for (const std::string optimizer : {"adamw", "galore_adamw"}) {
    for (const bool per_layer : {false, true}) {
      INFO(optimizer << (per_layer ? " per-layer" : " standard"));
      const auto one_batch = train(optimizer, per_layer, 1, 0.0);
      const auto accumulated = train(optimizer, per_layer, 4, 0.0);
      // Same gradients up to fp32 summation order; Adam's first steps amplify that to ~1e-6.
      CHECK(max_abs_difference(one_batch, accumulated) < 1e-5);
      // And the steps really moved the weights (a test that cannot fail otherwise).
      CHECK(max_abs_difference(one_batch, train(optimizer, per_layer, 1, 0.0, 0)) > 1e-3);
    }
  }
}

TEST_CASE("per-layer updates give the same weights as the standard step", "[train_step]") {
  for (const std::string optimizer :
       {"adamw", "galore_adamw", "galore_adamw8bit", "galore_adafactor"}) {
    INFO(optimizer);
    for (const int micro_batches : {1, 2}) {
      CHECK(max_abs_difference(train(optimizer, false, micro_batches, 0.0),
                               train(optimizer, true, micro_batches, 0.0)) < 1e-5);
    }
  }
}

TEST_CASE("clipping: standard clips by this step's norm, per-layer by the previous step's",
          "[train_step]") {
  // With a threshold far above the gradient norm, clipping is inactive in both modes.
  CHECK(max_abs_difference(train("adamw", false, 1, 1e6), train("adamw", false, 1, 0.0)) == 0.0);
  CHECK(max_abs_difference(train("adamw", true, 1, 1e6), train("adamw", true, 1, 0.0)) == 0.0);
  // A tight threshold changes the result; in the first step per-layer mode has no previous norm
  // and does not clip, so one step of per-layer clipping equals no clipping at all.
  CHECK(max_abs_difference(train("adamw", false, 1, 1e-3, 1), train("adamw", false, 1, 0.0, 1)) >
        1e-6);
  CHECK(max_abs_difference(train("adamw", true, 1, 1e-3, 1), train("adamw", true, 1, 0.0, 1)) ==
        0.0);
  CHECK(max_abs_difference(train("adamw", true, 1, 1e-3, 2), train("adamw", true, 1, 0.0, 2)) >
        1e-6);
}
