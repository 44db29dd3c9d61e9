// The whole LLaMA model: parameters and initialisation, central finite differences of the loss
// w.r.t. every parameter, a golden forward computed independently in numpy, bf16 against fp32,
// gradient delivery, grad_scale accumulation, activation checkpointing, and the memory estimate.
#include "galore/model/llama_model.hpp"

#include "catch.hpp"
#include "galore/core/error.hpp"
#include "golden/golden_model.hpp"
#include "model_testing.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <string>
#include <vector>

namespace {

using galore::bf16;
using galore::ExecSpace;
using galore::GradientMode;
using galore::LlamaModel;
using galore::ModelConfig;
using galore::Parameter;
using model_testing::make_tokens;
using model_testing::relative_error;
using model_testing::to_host;

// The 2-block model of the gradient checks.
ModelConfig tiny_config(float initializer_range = 0.2f) {
  ModelConfig c;
  c.hidden_size = 16;
  c.intermediate_size = 24;
  c.num_attention_heads = 2;
  c.num_hidden_layers = 2;
  c.vocab_size = 37;
  c.max_sequence_length = 8;
  c.initializer_range = initializer_range;
  return c;
}

// Random ids in [0, vocab) from a fixed LCG; every `ignore_every`-th target is -100.
struct Batch {
  galore::TokenMatrix inputs, targets;
  std::vector<std::int32_t> target_ids;  // host copy of targets
};
Batch random_batch(int batch, int seq, int vocab, unsigned seed, int ignore_every = 0) {
  std::vector<std::int32_t> inputs, targets;
  unsigned state = seed;
  const auto next = [&] {
    state = state * 1664525u + 1013904223u;
    return static_cast<std::int32_t>((state >> 8) % static_cast<unsigned>(vocab));
  };
  for (int k = 0; k < batch * seq; ++k) {
    inputs.push_back(next());
    targets.push_back(ignore_every > 0 && k % ignore_every == ignore_every - 1 ? -100 : next());
  }
  return {make_tokens(batch, seq, inputs), make_tokens(batch, seq, targets), targets};
}

template <class T>
std::map<std::string, std::vector<double>> gradients(const LlamaModel<T>& model) {
  std::map<std::string, std::vector<double>> out;
  for (const auto& p : model.parameters()) out[p.name] = to_host(p.grad);
  return out;
}

}  // namespace

TEST_CASE("parameters carry HF names, roles and shapes and a seeded initialisation", "[model]") {
  const ModelConfig c = tiny_config(0.02f);
  LlamaModel<float> model(c, 11);
  const auto& params = model.parameters();
  REQUIRE(params.size() == 1 + 9 * 2 + 2);
  std::int64_t count = 0;
  for (const auto& p : params) count += p.value.size();
  CHECK(count == c.parameter_count());

  CHECK(params[0].name == "model.embed_tokens.weight");
  CHECK(params[0].role == galore::ParamRole::Embedding);
  CHECK(params[1].name == "model.layers.0.input_layernorm.weight");
  CHECK(params[2].name == "model.layers.0.self_attn.q_proj.weight");
  CHECK(params[5].name == "model.layers.0.self_attn.o_proj.weight");
  CHECK(params[5].role == galore::ParamRole::Attention);
  CHECK(params[6].name == "model.layers.0.post_attention_layernorm.weight");
  CHECK(params[7].name == "model.layers.0.mlp.gate_proj.weight");
  CHECK(params[9].name == "model.layers.0.mlp.down_proj.weight");
  CHECK(params[9].role == galore::ParamRole::Mlp);
  CHECK(params[9].value.extent(0) == 16);
  CHECK(params[9].value.extent(1) == 24);
  CHECK(params[18].name == "model.layers.1.mlp.down_proj.weight");
  CHECK(params[18].layer == 1);
  CHECK(params[19].name == "model.norm.weight");
  CHECK(params[20].name == "lm_head.weight");
  CHECK(params[20].role == galore::ParamRole::Head);
  CHECK(&model.parameter("lm_head.weight") == &params[20]);
  CHECK_THROWS_AS(model.parameter("lm_head"), galore::ConfigError);

  // Norm weights 1; the rest normal(0, 0.02): check the sample moments of the embedding.
  for (double w : to_host(params[1].value)) CHECK(w == 1.0);
  const auto embed = to_host(params[0].value);
  double mean = 0, square = 0;
  for (double w : embed) {
    mean += w / embed.size();
    square += w * w / embed.size();
  }
  CHECK(std::abs(mean) < 0.002);
  CHECK(std::sqrt(square - mean * mean) == Approx(0.02).epsilon(0.1));

  LlamaModel<float> same(c, 11), other(c, 12);
  CHECK(to_host(same.parameters()[7].value) == to_host(params[7].value));
  CHECK(to_host(other.parameters()[7].value) != to_host(params[7].value));
  // Each parameter has its own RNG stream: q and k of one layer differ.
  CHECK(to_host(params[2].value) != to_host(params[3].value));
}

namespace {

// The mean next-token loss computed here in double from the model's fp32 logits. The model's own
// loss is returned as a float, whose rounding (2.4e-7 at loss 4) divided by the step would be
// noise of the same size as the smallest gradient entries; this objective is smooth to ~1e-8.
double loss_from_logits(LlamaModel<float>& model, const Batch& batch) {
  const auto logits = to_host(model.logits(ExecSpace(), batch.inputs));
  const int vocab = model.config().vocab_size;
  double sum = 0;
  int counted = 0;
  for (std::size_t t = 0; t < batch.target_ids.size(); ++t) {
    if (batch.target_ids[t] == galore::kIgnoreIndex) continue;
    const double* row = &logits[t * vocab];
    const double max_logit = *std::max_element(row, row + vocab);
    double sum_exp = 0;
    for (int v = 0; v < vocab; ++v) sum_exp += std::exp(row[v] - max_logit);
    sum += max_logit + std::log(sum_exp) - row[batch.target_ids[t]];
    ++counted;
  }
  return sum / counted;
}

}  // namespace

TEST_CASE("whole-model gradients match central finite differences for every parameter",
          "[model][gradient]") {
  LlamaModel<float> model(tiny_config(), 8);
  const Batch batch = random_batch(3, 8, 37, 89, 5);
  model.forward_backward(ExecSpace(), batch.inputs, batch.targets, 1.0f, GradientMode::Accumulate);
  const auto objective = [&] { return loss_from_logits(model, batch); };
  unsigned state = 3;
  for (auto& p : model.parameters()) {
    const auto grad = to_host(p.grad);
    const int cols = p.value.extent(1);
    // The three largest gradient entries and three at random.
    std::vector<int> entries(grad.size());
    std::iota(entries.begin(), entries.end(), 0);
    std::partial_sort(entries.begin(), entries.begin() + 3, entries.end(),
                      [&](int a, int b) { return std::abs(grad[a]) > std::abs(grad[b]); });
    entries.resize(3);
    for (int sample = 0; sample < 3; ++sample) {
      state = state * 1664525u + 1013904223u;
      entries.push_back(static_cast<int>((state >> 8) % grad.size()));
    }
    std::vector<double> analytic, numeric;
    for (int e : entries) {
      analytic.push_back(grad[e]);
      numeric.push_back(
          model_testing::central_difference(p.value, e / cols, e % cols, 1e-2, objective));
    }
    const double error = relative_error(numeric, analytic);
    INFO(p.name << ": relative error " << error);
    CHECK(error < 1e-3);
  }
}

TEST_CASE("golden forward: logits and loss equal an independent numpy implementation",
          "[model][golden]") {
  // Produced once by tests/model/golden/llama_reference.py (float64 numpy, written from the HF
  // LlamaForCausalLM definition) from the weights export_golden_weights writes for this model;
  // the script's docstring has the commands.
  constexpr double kGoldenLoss = 4.3525522;
  // logits[b, s, 0:8] for (b, s) in checked_rows
  const double kGoldenLogits[][8] = {
      {1.87553399, -0.365451576, -0.673082642, 1.12438629, -1.19686326, 0.689893865, -1.14915723,
       -0.209858379},
      {2.43869865, -1.30480029, -0.314456098, 0.70685007, -1.60977814, 0.850968684, 0.453555383,
       0.188452571},
      {2.39699171, -1.23524974, -1.73890575, 2.03867123, -0.679186212, 0.283821393, -0.876332745,
       -0.249975669},
      {-0.510995488, 0.659632699, 0.826860844, -0.401579233, 0.550467215, -2.17344122, -0.326100735,
       -0.380203168},
  };
  const int checked_rows[][2] = {{0, 0}, {0, 6}, {1, 3}, {1, 6}};

  LlamaModel<float> model(golden::config(), golden::kSeed);
  const auto inputs = make_tokens(golden::kBatch, golden::kSeq, golden::inputs());
  const auto targets = make_tokens(golden::kBatch, golden::kSeq, golden::targets());
  const auto logits = to_host(model.logits(ExecSpace(), inputs));
  const int vocab = golden::config().vocab_size;
  for (int r = 0; r < 4; ++r) {
    const int row = checked_rows[r][0] * golden::kSeq + checked_rows[r][1];
    for (int v = 0; v < 8; ++v) {
      INFO("row " << row << ", token " << v);
      CHECK(logits[row * vocab + v] == Approx(kGoldenLogits[r][v]).margin(2e-5));
    }
  }
  CHECK(model.evaluate_loss(ExecSpace(), inputs, targets) == Approx(kGoldenLoss).epsilon(1e-5));
}

TEST_CASE("bf16 forward and gradients stay close to fp32", "[model][bf16]") {
  ModelConfig c = tiny_config(0.1f);
  c.hidden_size = 64;
  c.num_attention_heads = 4;
  c.intermediate_size = 176;
  c.vocab_size = 300;
  c.max_sequence_length = 32;
  LlamaModel<float> fp32(c, 21);
  LlamaModel<bf16> bf16_model(c, 21);  // the same fp32 draws, rounded to bf16
  const Batch batch = random_batch(2, 32, c.vocab_size, 5);
  const float loss32 = fp32.forward_backward(ExecSpace(), batch.inputs, batch.targets, 1.0f,
                                             GradientMode::Accumulate);
  const float loss16 = bf16_model.forward_backward(ExecSpace(), batch.inputs, batch.targets, 1.0f,
                                                   GradientMode::Accumulate);
  INFO("fp32 loss " << loss32 << ", bf16 loss " << loss16);
  // Tolerances: bf16 keeps 8 significant bits (relative rounding 2^-9 = 0.2%) per stored tensor.
  CHECK(std::abs(loss16 - loss32) < 0.01 * loss32);
  CHECK(bf16_model.evaluate_loss(ExecSpace(), batch.inputs, batch.targets) == loss16);

  const auto logits32 = to_host(fp32.logits(ExecSpace(), batch.inputs));
  const auto logits16 = to_host(bf16_model.logits(ExecSpace(), batch.inputs));
  const double logit_error = relative_error(logits16, logits32);
  INFO("logits relative error " << logit_error);
  CHECK(logit_error < 0.03);

  const auto g32 = gradients(fp32), g16 = gradients(bf16_model);
  for (const auto& [name, grad] : g32) {
    const double error = relative_error(g16.at(name), grad);
    INFO(name << ": relative error " << error);
    CHECK(error < 0.05);
  }
}

TEST_CASE("Deliver mode gives the Accumulate gradients, in reverse parameter order",
          "[model][deliver]") {
  for (bool checkpointing : {false, true}) {
    INFO("checkpointing " << checkpointing);
    LlamaModel<float> accumulate(tiny_config(), 8, {false, 5});
    LlamaModel<float> deliver(tiny_config(), 8, {checkpointing, 5});
    const Batch batch = random_batch(2, 7, 37, 17, 4);
    const float loss_a = accumulate.forward_backward(ExecSpace(), batch.inputs, batch.targets, 1.0f,
                                                     GradientMode::Accumulate);
    std::vector<std::string> order;
    std::map<std::string, std::vector<double>> delivered;
    // What a per-layer optimizer update does: change the weight, release the gradient.
    // Gradients delivered later must not see the changed weight.
    const auto update_and_release = [&](Parameter<float>& p) {
      order.push_back(p.name);
      delivered[p.name] = to_host(p.grad);
      Kokkos::deep_copy(p.value, 1e3f);
      p.grad = galore::Matrix<float>();
    };
    const float loss_d = deliver.forward_backward(ExecSpace(), batch.inputs, batch.targets, 1.0f,
                                                  GradientMode::Deliver, update_and_release);
    CHECK(loss_d == loss_a);
    CHECK(delivered == gradients(accumulate));  // bitwise
    std::vector<std::string> reversed;
    for (auto it = deliver.parameters().rbegin(); it != deliver.parameters().rend(); ++it)
      reversed.push_back(it->name);
    CHECK(order == reversed);
    // Every gradient was released: only the weights remain.
    CHECK(deliver.memory_meter().live_bytes() == 4 * tiny_config().parameter_count());
  }
  LlamaModel<float> model(tiny_config(), 8);
  const Batch batch = random_batch(1, 7, 37, 2);
  CHECK_THROWS_AS(
      model.forward_backward(ExecSpace(), batch.inputs, batch.targets, 1.0f, GradientMode::Deliver),
      galore::ConfigError);
}

TEST_CASE("gradients accumulate: two passes at grad_scale 0.5 equal one at 1", "[model]") {
  LlamaModel<float> twice(tiny_config(), 4), once(tiny_config(), 4);
  const Batch batch = random_batch(2, 6, 37, 23, 3);
  for (int k = 0; k < 2; ++k) {
    twice.forward_backward(ExecSpace(), batch.inputs, batch.targets, 0.5f,
                           GradientMode::Accumulate);
  }
  once.forward_backward(ExecSpace(), batch.inputs, batch.targets, 1.0f, GradientMode::Accumulate);
  // Scaling by a power of two is exact; only the order of the fp32 additions differs.
  const auto g_once = gradients(once);
  for (const auto& [name, grad] : gradients(twice)) {
    INFO(name);
    CHECK(relative_error(grad, g_once.at(name)) < 1e-6);
  }
  once.clear_gradients();
  for (const auto& p : once.parameters()) CHECK(p.grad.data() == nullptr);
}

TEST_CASE("activation checkpointing recomputes exactly the saved activations", "[model]") {
  const Batch batch = random_batch(2, 8, 37, 31, 6);
  LlamaModel<bf16> saved(tiny_config(), 9, {false, 3}), recomputed(tiny_config(), 9, {true, 3});
  const float a = saved.forward_backward(ExecSpace(), batch.inputs, batch.targets, 1.0f,
                                         GradientMode::Accumulate);
  const float b = recomputed.forward_backward(ExecSpace(), batch.inputs, batch.targets, 1.0f,
                                              GradientMode::Accumulate);
  CHECK(a == b);
  CHECK(gradients(saved) == gradients(recomputed));
}

TEST_CASE("the memory estimate agrees with the measured peak within 5%", "[model][memory]") {
  struct Case {
    int vocab, chunk;  // a small vocabulary: the block phase peaks; a large one: the loss phase
    bool checkpointing;
  };
  for (const Case& k :
       {Case{300, 16, false}, Case{300, 16, true}, Case{4000, 64, false}, Case{4000, 64, true}}) {
    ModelConfig c = tiny_config();
    c.hidden_size = 64;
    c.num_attention_heads = 4;
    c.intermediate_size = 176;
    c.num_hidden_layers = 3;
    c.vocab_size = k.vocab;
    c.max_sequence_length = 32;
    const Batch batch = random_batch(2, 32, k.vocab, 3);
    const auto check = [&](auto& model, bool bf16_mode) {
      INFO("vocab " << k.vocab << ", checkpointing " << k.checkpointing << ", bf16 " << bf16_mode);
      const auto estimate = std::decay_t<decltype(model)>::estimate_memory(
          c, 2, 32, bf16_mode, k.checkpointing, k.chunk);
      CHECK(model.memory_meter().live_bytes() == estimate.weights);
      model.forward_backward(ExecSpace(), batch.inputs, batch.targets, 1.0f,
                             GradientMode::Accumulate);
      CHECK(model.memory_meter().peak_bytes() <= estimate.total());  // gradients were still growing
      model.memory_meter().reset_peak();
      model.forward_backward(ExecSpace(), batch.inputs, batch.targets, 1.0f,
                             GradientMode::Accumulate);
      const double measured = model.memory_meter().peak_bytes();
      INFO("estimate " << estimate.total() << " bytes, measured " << measured);
      CHECK(std::abs(measured - estimate.total()) < 0.05 * estimate.total());
    };
    LlamaModel<float> fp32(c, 1, {k.checkpointing, k.chunk});
    check(fp32, false);
    LlamaModel<bf16> bf16_model(c, 1, {k.checkpointing, k.chunk});
    check(bf16_model, true);
  }
  // Checkpointing trades recomputation for memory: at the 60m shape it must save most of it.
  const auto full =
      LlamaModel<bf16>::estimate_memory(galore::model_preset("60m"), 8, 256, true, false);
  const auto lean =
      LlamaModel<bf16>::estimate_memory(galore::model_preset("60m"), 8, 256, true, true);
  CHECK(lean.activations < full.activations / 4);
}

TEST_CASE("the model refuses batches that do not fit", "[model]") {
  LlamaModel<float> model(tiny_config(), 1);
  const Batch too_long = random_batch(1, 9, 37, 1);  // max_sequence_length 8
  CHECK_THROWS_AS(model.evaluate_loss(ExecSpace(), too_long.inputs, too_long.targets),
                  galore::ShapeError);
  const Batch a = random_batch(1, 4, 37, 1), b = random_batch(2, 4, 37, 1);
  CHECK_THROWS_AS(model.evaluate_loss(ExecSpace(), a.inputs, b.targets), galore::ShapeError);
  const auto bad = make_tokens(1, 2, {3, 37});
  CHECK_THROWS_AS(model.logits(ExecSpace(), bad), galore::ShapeError);
  CHECK_THROWS_AS(LlamaModel<float>(tiny_config(), 1, {false, 0}), galore::ConfigError);
}
