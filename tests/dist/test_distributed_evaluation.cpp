// Validation on 2 ranks: the micro-batches of one process's evaluation dealt out round robin,
// the result equal to one process evaluating every window.
#include "catch.hpp"

#include "galore/dist/communicator.hpp"
#include "galore/train/evaluation.hpp"
#include "io/data/token_source.hpp"
#include "train/training_fixtures.hpp"

#include <cmath>
#include <memory>
#include <vector>

namespace {

// 20 windows of 8 tokens (161 tokens: window k reads tokens 8k ... 8k + 8).
galore::data::EvaluationWindows twenty_windows(int vocab) {
  std::vector<std::int32_t> tokens(161);
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    tokens[i] = static_cast<std::int32_t>((i * 7 + i * i / 3) % vocab);
  }
  auto source =
      std::make_shared<galore::data::InMemoryTokenSource>("table", std::move(tokens), vocab);
  return galore::data::EvaluationWindows(source, 8);
}

}  // namespace

TEST_CASE("distributed evaluation equals one process evaluating every window",
          "[dist][evaluation]") {
  galore::dist::Communicator world;
  REQUIRE(world.size() == 2);
  const galore::ExecSpace space;
  const galore::ModelConfig config = training_fixtures::tiny_config();
  const auto windows = twenty_windows(config.vocab_size);
  REQUIRE(windows.count() == 20);
  galore::BatchLoader loader(3, 8, 1);  // 7 micro-batches, the last with 2 windows
  galore::LlamaModel<float> model(config, 11);

  const double single = galore::evaluate(space, model, loader, windows);
  const double distributed = galore::evaluate(space, model, loader, windows, &world);
  CHECK(distributed == Approx(single).epsilon(1e-12));

  // Which windows each rank evaluates: with a different model on rank 1 the result mixes the two
  // models' losses, batch k from rank k mod 2.
  galore::LlamaModel<float> other(config, 12);
  galore::LlamaModel<float>& mine = world.rank() == 0 ? model : other;
  const double mixed = galore::evaluate(space, mine, loader, windows, &world);
  double loss_tokens = 0, tokens = 0;
  for (int k = 0; k < 7; ++k) {
    galore::LlamaModel<float>& evaluator = k % 2 == 0 ? model : other;
    const std::int64_t rows = loader.load_evaluation(windows, 3 * k);
    const galore::MicroBatch& batch = loader.first();
    loss_tokens += double(evaluator.evaluate_loss(space, batch.inputs, batch.targets)) * rows * 8;
    tokens += rows * 8.0;
  }
  CHECK(tokens == 160.0);
  CHECK(mixed == Approx(loss_tokens / tokens).epsilon(1e-12));
  CHECK(std::abs(mixed - single) > 1e-4);  // the two models do differ
}
