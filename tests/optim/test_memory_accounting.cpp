// Memory accounting: every component for a small model recomputed here from the shapes, error
// handling, and the paper's 7B headline figures.
#include "catch.hpp"

#include "galore/core/error.hpp"
#include "galore/model/llama_model.hpp"
#include "galore/train/memory_accounting.hpp"

#include <algorithm>

using galore::MemoryQuery;
using galore::TrainingMethod;

namespace {

galore::ModelConfig small_config() {
  galore::ModelConfig c;
  c.hidden_size = 64;
  c.intermediate_size = 176;
  c.num_attention_heads = 4;
  c.num_hidden_layers = 2;
  c.vocab_size = 100;
  c.max_sequence_length = 32;
  return c;
}

// Independent tallies for small_config(): h = 64, i = 176, V = 100, L = 2.
constexpr std::int64_t h = 64, i = 176, V = 100, L = 2;
constexpr std::int64_t kParams = 2 * V * h + L * (4 * h * h + 3 * h * i + 2 * h) + h;
constexpr std::int64_t kProjectable = L * (4 * h * h + 3 * h * i);
constexpr std::int64_t kPlain = kParams - kProjectable;  // embeddings, head, norms

MemoryQuery query(TrainingMethod method, int rank = 16) {
  MemoryQuery q;
  q.model = small_config();
  q.method = method;
  q.rank = rank;
  q.batch = 2;
  q.seq = 16;
  return q;
}

}  // namespace

TEST_CASE("memory components of the plain optimizers", "[memory]") {
  const auto adamw = galore::estimate_training_memory(query(TrainingMethod::AdamW));
  CHECK(adamw.weights == 2 * kParams);
  CHECK(adamw.gradients == 4 * kParams);  // our policy: fp32 gradients
  CHECK(adamw.optimizer_states == 2 * 4 * kParams);
  CHECK(adamw.projection_matrices == 0);
  CHECK(adamw.quantization_scales == 0);
  const auto model = galore::LlamaModel<float>::estimate_memory(small_config(), 2, 16, true, false);
  CHECK(adamw.activations == model.activations);
  CHECK(adamw.workspace == model.workspace);
  CHECK(adamw.total() == adamw.weights + adamw.gradients + adamw.optimizer_states +
                             adamw.activations + adamw.workspace);

  const auto paper =
      galore::estimate_training_memory(galore::with_paper_precision(query(TrainingMethod::AdamW)));
  CHECK(paper.gradients == 2 * kParams);
  CHECK(paper.optimizer_states == 2 * 2 * kParams);

  // 8-bit: one byte per moment value, one fp32 absmax per 2048-value block of each tensor.
  std::int64_t blocks = 2 * ((V * h + 2047) / 2048) + ((h + 2047) / 2048) * (2 * L + 1) +
                        L * (4 * ((h * h + 2047) / 2048) + 3 * ((h * i + 2047) / 2048));
  const auto a8 = galore::estimate_training_memory(query(TrainingMethod::Adam8bit));
  CHECK(a8.optimizer_states == 2 * kParams);
  CHECK(a8.quantization_scales == 2 * 4 * blocks);

  // Adafactor: rows + cols per matrix, n per vector, plus the first moment.
  const std::int64_t factored = 2 * (V + h) + L * (4 * (h + h) + 3 * (i + h)) + (2 * L + 1) * h;
  const auto af = galore::estimate_training_memory(query(TrainingMethod::Adafactor));
  CHECK(af.optimizer_states == 4 * (factored + kParams));
  auto no_beta1 = query(TrainingMethod::Adafactor);
  no_beta1.adafactor_first_moment = false;
  CHECK(galore::estimate_training_memory(no_beta1).optimizer_states == 4 * factored);
}

TEST_CASE("memory components of GaLore and LoRA", "[memory]") {
  const std::int64_t r = 16;
  // std: q/k/v/o [h x h] and gate/up [i x h] project on the right (state rows x r, Q r x cols);
  // down [h x i] on the left (state r x i, P h x r).
  const std::int64_t low = L * (4 * h * r + 2 * i * r + r * i);
  const std::int64_t basis = L * (4 * r * h + 2 * r * h + h * r);
  const auto g = galore::estimate_training_memory(query(TrainingMethod::GaLoreAdamW));
  CHECK(g.weights == 2 * kParams);
  CHECK(g.gradients == 4 * kParams);
  CHECK(g.optimizer_states == 2 * 4 * (low + kPlain));
  CHECK(g.projection_matrices == 2 * basis);

  const auto g8 = galore::estimate_training_memory(query(TrainingMethod::GaLoreAdamW8bit));
  CHECK(g8.optimizer_states == 2 * (low + kPlain));
  CHECK(g8.projection_matrices == 2 * basis);
  CHECK(g8.quantization_scales > 0);

  auto full = query(TrainingMethod::GaLoreAdamW);
  full.projection = galore::ProjectionType::Full;  // r x r states, both bases
  const auto gf = galore::estimate_training_memory(full);
  CHECK(gf.optimizer_states == 2 * 4 * (L * 7 * r * r + kPlain));
  CHECK(gf.projection_matrices == 2 * L * (4 * 2 * r * h + 3 * r * (h + i)));

  // Per-layer: gradients are freed as they are consumed; the backward pass completes gate and up
  // together, so the peak is those two (2*i*h = 22528 > 3*h*h and > V*h = 6400).
  auto per_layer = query(TrainingMethod::GaLoreAdamW8bit);
  per_layer.per_layer = true;
  CHECK(galore::estimate_training_memory(per_layer).gradients == 4 * 2 * i * h);
  // Accumulating micro-batches keeps every gradient until the last backward pass.
  per_layer.accumulation_steps = 4;
  CHECK(galore::estimate_training_memory(per_layer).gradients == 4 * kParams);

  // LoRA: frozen weights plus A [r x in] and B [out x r] per adapted matrix, trained with AdamW
  // together with the embeddings, norms and head.
  const std::int64_t adapters = L * (4 * r * 2 * h + 3 * r * (h + i));
  const auto lora = galore::estimate_training_memory(query(TrainingMethod::LoRA));
  CHECK(lora.weights == 2 * (kParams + adapters));
  CHECK(lora.gradients == 4 * (adapters + kPlain));
  CHECK(lora.optimizer_states == 2 * 4 * (adapters + kPlain));
}

TEST_CASE("memory queries with bad ranks or names are refused", "[memory]") {
  try {
    galore::estimate_training_memory(query(TrainingMethod::GaLoreAdamW, 65));
    FAIL("rank 65 > 64 accepted");
  } catch (const galore::ConfigError& e) {
    const std::string msg = e.what();
    CHECK(msg.find("rank = 65") != std::string::npos);
    CHECK(msg.find("self_attn.q_proj") != std::string::npos);
  }
  CHECK_THROWS_AS(galore::estimate_training_memory(query(TrainingMethod::LoRA, 0)),
                  galore::ConfigError);
  CHECK_THROWS_AS(galore::parse_training_method("galore_adam"), galore::ConfigError);
  CHECK(galore::parse_training_method("galore_adamw8bit") == TrainingMethod::GaLoreAdamW8bit);
}

TEST_CASE("LLaMA 7B reproduces the paper's memory headlines", "[memory]") {
  MemoryQuery q;
  q.model = galore::model_preset("7b");
  q.batch = 1;
  q.seq = 256;
  q.rank = 1024;
  const std::int64_t params = q.model.parameter_count();
  CHECK(params == 6738415616);

  // BF16 AdamW: weights 13.5 GB, gradients 13.5 GB, Adam states 27 GB (the paper rounds 7B to 14
  // GB per copy: 14 + 42 + 2 = 58 GB). Our exact count gives 54-56 GB in that setting, and our
  // fp32 gradients and moments need well over 58 GB.
  q.method = TrainingMethod::AdamW;
  const auto paper_adamw = galore::estimate_training_memory(galore::with_paper_precision(q));
  CHECK(paper_adamw.weights == 2 * params);
  CHECK(paper_adamw.optimizer_states == 4 * params);
  CHECK(paper_adamw.total() / 1e9 > 54.0);
  CHECK(paper_adamw.total() / 1e9 < 60.0);
  CHECK(galore::estimate_training_memory(q).total() / 1e9 >= 58.0);

  // 8-bit GaLore, rank 1024, per-layer updates: about 22 GB or less in both settings.
  q.method = TrainingMethod::GaLoreAdamW8bit;
  q.per_layer = true;
  const auto ours = galore::estimate_training_memory(q);
  const auto paper = galore::estimate_training_memory(galore::with_paper_precision(q));
  CHECK(ours.total() / 1e9 <= 22.0);
  CHECK(paper.total() / 1e9 <= 22.0);
  // "8-bit GaLore reduces total training memory by 63.3% against the BF16 baseline".
  CHECK(1.0 - double(paper.total()) / double(paper_adamw.total()) == Approx(0.633).margin(0.02));

  // "GaLore reduces optimizer-state memory by up to 65.5%" (states plus projection matrices).
  q.method = TrainingMethod::GaLoreAdamW;
  q.per_layer = false;
  const auto galore_bf16 = galore::estimate_training_memory(galore::with_paper_precision(q));
  const double reduction =
      1.0 - double(galore_bf16.optimizer_states + galore_bf16.projection_matrices) /
                double(paper_adamw.optimizer_states);
  CHECK(reduction == Approx(0.655).margin(0.02));
}
