// Per-component memory of a training step, from shapes alone (see memory_accounting.hpp).
#include "galore/train/memory_accounting.hpp"

#include "galore/core/error.hpp"
#include "galore/core/spelling.hpp"
#include "galore/model/llama_model.hpp"
#include "galore/optim/dynamic_quantization.hpp"
#include "galore/optim/projector.hpp"

#include <fmt/format.h>
#include <algorithm>

namespace galore {
namespace {

struct NamedMethod {
  const char* name;
  TrainingMethod method;
};
constexpr NamedMethod kMethods[] = {
    {"adamw", TrainingMethod::AdamW},
    {"adam8bit", TrainingMethod::Adam8bit},
    {"adafactor", TrainingMethod::Adafactor},
    {"galore_adamw", TrainingMethod::GaLoreAdamW},
    {"galore_adamw8bit", TrainingMethod::GaLoreAdamW8bit},
    {"galore_adafactor", TrainingMethod::GaLoreAdafactor},
    {"lora", TrainingMethod::LoRA},
};

bool is_galore(TrainingMethod m) {
  return m == TrainingMethod::GaLoreAdamW || m == TrainingMethod::GaLoreAdamW8bit ||
         m == TrainingMethod::GaLoreAdafactor;
}

OptimizerKind base_kind(TrainingMethod m) {
  switch (m) {
    case TrainingMethod::Adam8bit:
    case TrainingMethod::GaLoreAdamW8bit: return OptimizerKind::Adam8bit;
    case TrainingMethod::Adafactor:
    case TrainingMethod::GaLoreAdafactor: return OptimizerKind::Adafactor;
    default: return OptimizerKind::AdamW;
  }
}

// State of the element-wise optimizer on one [rows x cols] tensor (the weight, or its projection).
void add_moment_state(const MemoryQuery& q, OptimizerKind kind, std::int64_t rows,
                      std::int64_t cols, bool factored, MemoryBreakdown& out) {
  const std::int64_t n = rows * cols;
  switch (kind) {
    case OptimizerKind::AdamW: out.optimizer_states += 2 * n * q.moment_bytes; break;
    case OptimizerKind::Adam8bit:
      out.optimizer_states += 2 * n;  // one byte per value for m and for v
      out.quantization_scales +=
          2 * quantization_block_count(n, q.quantization_block_size) * std::int64_t(sizeof(float));
      break;
    case OptimizerKind::Adafactor:
      out.optimizer_states += (factored ? rows + cols : n) * q.moment_bytes;
      if (q.adafactor_first_moment) out.optimizer_states += n * q.moment_bytes;
      break;
  }
}

}  // namespace

std::vector<std::string> training_method_names() {
  std::vector<std::string> names;
  for (const auto& m : kMethods) names.emplace_back(m.name);
  return names;
}

const char* training_method_name(TrainingMethod method) {
  for (const auto& m : kMethods) {
    if (m.method == method) return m.name;
  }
  return "unknown";
}

TrainingMethod parse_training_method(const std::string& name) {
  for (const auto& m : kMethods) {
    if (name == m.name) return m.method;
  }
  const auto names = training_method_names();
  throw ConfigError(fmt::format("training method '{}' is unknown{}; valid: {}", name,
                                did_you_mean(name, names), fmt::join(names, ", ")));
}

MemoryQuery with_paper_precision(MemoryQuery query) {
  query.bf16 = true;
  query.gradient_bytes = 2;
  query.moment_bytes = 2;
  return query;
}

std::vector<WeightShape> llama_weight_shapes(const ModelConfig& m) {
  const std::int64_t h = m.hidden_size, i = m.intermediate_size, v = m.vocab_size;
  std::vector<WeightShape> w;
  w.push_back({"model.embed_tokens.weight", false, v, h});
  for (int l = 0; l < m.num_hidden_layers; ++l) {
    const std::string p = fmt::format("model.layers.{}.", l);
    w.push_back({p + "input_layernorm.weight", false, 1, h});
    for (const char* proj : {"q_proj", "k_proj", "v_proj", "o_proj"}) {
      w.push_back({p + "self_attn." + proj + ".weight", true, h, h});
    }
    w.push_back({p + "post_attention_layernorm.weight", false, 1, h});
    w.push_back({p + "mlp.gate_proj.weight", true, i, h});
    w.push_back({p + "mlp.up_proj.weight", true, i, h});
    w.push_back({p + "mlp.down_proj.weight", true, h, i});
  }
  w.push_back({"model.norm.weight", false, 1, h});
  w.push_back({"lm_head.weight", false, v, h});
  return w;
}

int paper_galore_rank(const std::string& preset) {
  if (preset == "60m") return 128;
  if (preset == "130m" || preset == "350m") return 256;
  if (preset == "1b") return 512;
  if (preset == "7b") return 1024;
  return std::min(128, model_preset(preset).hidden_size / 2);
}

MemoryBreakdown estimate_training_memory(const MemoryQuery& q) {
  q.model.validate();
  if (q.batch <= 0 || q.seq <= 0 || q.accumulation_steps <= 0) {
    throw ConfigError(fmt::format(
        "memory query: batch = {}, seq = {} and accumulation_steps = {} must be positive", q.batch,
        q.seq, q.accumulation_steps));
  }
  const std::int64_t weight_bytes = q.bf16 ? 2 : 4;
  const bool galore = is_galore(q.method);
  const bool lora = q.method == TrainingMethod::LoRA;
  const OptimizerKind kind = base_kind(q.method);

  MemoryBreakdown out;
  std::int64_t largest_gradient = 0, total_gradient = 0;
  std::int64_t scratch = 0;  // fp32 elements of the optimizer's scratch for one projected update
  for (const WeightShape& w : llama_weight_shapes(q.model)) {
    out.weights += w.numel() * weight_bytes;
    const bool adapted = (galore || lora) && w.projectable;
    if (adapted && (q.rank < 1 || q.rank > std::min(w.rows, w.cols))) {
      throw ConfigError(
          fmt::format("memory query: rank = {} is outside [1, min(m, n) = {}] for '{}' [{}x{}]",
                      q.rank, std::min(w.rows, w.cols), w.name, w.rows, w.cols));
    }
    const bool factored = w.rows > 1 && w.cols > 1;
    if (lora && w.projectable) {
      // Frozen W plus trainable A [r x in] and B [out x r], optimised with AdamW.
      const std::int64_t adapter = q.rank * (w.rows + w.cols);
      out.weights += adapter * weight_bytes;
      out.optimizer_states += 2 * adapter * q.moment_bytes;
      total_gradient += adapter;
      largest_gradient = std::max(largest_gradient, adapter);
      continue;
    }
    total_gradient += w.numel();
    largest_gradient = std::max(largest_gradient, w.numel());
    if (!adapted) {
      add_moment_state(q, kind, w.rows, w.cols, factored, out);
      continue;
    }
    const ProjectionSide side =
        projection_side(q.projection, static_cast<int>(w.rows), static_cast<int>(w.cols));
    const std::int64_t low_rows = side == ProjectionSide::Right ? w.rows : q.rank;
    const std::int64_t low_cols = side == ProjectionSide::Left ? w.cols : q.rank;
    add_moment_state(q, kind, low_rows, low_cols, true, out);
    std::int64_t basis = 0;
    if (side != ProjectionSide::Right) basis += w.rows * q.rank;
    if (side != ProjectionSide::Left) basis += q.rank * w.cols;
    out.projection_matrices += basis * weight_bytes;
    // Scratch: the low-rank buffer, fp32 copies of bf16 bases, the "full" intermediate.
    std::int64_t s = low_rows * low_cols + (q.bf16 ? basis : 0);
    if (side == ProjectionSide::Both) s += std::max(q.rank * w.cols, w.rows * q.rank);
    scratch = std::max(scratch, s);
  }
  if (!lora) {
    // The model's backward pass completes gate and up together, and q, k and v together
    // (model/decoder_block.cpp): per-layer updates release them together.
    const std::int64_t h = q.model.hidden_size, i = q.model.intermediate_size;
    largest_gradient = std::max({largest_gradient, 2 * i * h, 3 * h * h});
  }
  const bool one_at_a_time = q.per_layer && q.accumulation_steps <= 1;
  out.gradients = (one_at_a_time ? largest_gradient : total_gradient) * q.gradient_bytes;

  const MemoryEstimate model = LlamaModel<float>::estimate_memory(q.model, q.batch, q.seq, q.bf16,
                                                                  q.activation_checkpointing);
  out.activations = model.activations;
  out.workspace = model.workspace + scratch * std::int64_t(sizeof(float));
  return out;
}

}  // namespace galore
