// Training memory by component for any model shape and training method, without allocating
// anything: the figures behind the paper's memory claims (GaLore Fig. 1, Tables 2 and 11) and
// apps/galore-memory.
//
// Components:
//   weights              every parameter in the weight dtype (LoRA: frozen base + adapters)
//   gradients            trainable gradients; with per-layer updates only the largest single
//                        weight's gradient (or gate + up, or q + k + v, completed together by
//                        the backward pass) exists at a time, unless micro-batches are
//                        accumulated
//   optimizer_states     moments (fp32/bf16 or 8-bit codes) on full or projected shapes
//   projection_matrices  GaLore P/Q in the weight dtype
//   quantization_scales  one fp32 absmax per block of 8-bit state
//   activations          saved for the backward pass (LlamaModel::estimate_memory)
//   workspace            transient buffers: the model's backward pass at its largest, plus the
//                        optimizer's fp32 scratch for one projected update
//
// Precision: our policy keeps weight gradients and 32-bit moments in fp32 (docs/precision.md);
// the paper's BF16 runs keep both in bf16 (torch allocates them like the weights).
// with_paper_precision() sets that; the two differ only in gradient_bytes and moment_bytes.
#pragma once

#include "galore/model/config.hpp"
#include "galore/optim/optimizer_config.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace galore {

enum class TrainingMethod {
  AdamW,
  Adam8bit,
  Adafactor,
  GaLoreAdamW,
  GaLoreAdamW8bit,
  GaLoreAdafactor,
  LoRA
};

std::vector<std::string> training_method_names();  // adamw, adam8bit, ..., lora
const char* training_method_name(TrainingMethod method);
TrainingMethod parse_training_method(const std::string& name);  // ConfigError with a suggestion

struct MemoryQuery {
  ModelConfig model;
  TrainingMethod method = TrainingMethod::AdamW;
  int rank = 128;  // GaLore / LoRA rank, at most min(m, n) of every projected weight
  int batch = 1;   // sequences per micro-batch
  int seq = 256;
  bool bf16 = true;        // weights and activations in bf16 (fp32 otherwise)
  int gradient_bytes = 4;  // weight gradients: 4 (ours, fp32) or 2 (paper BF16)
  int moment_bytes = 4;    // 32-bit optimizer moments: 4 (ours) or 2 (paper BF16)
  bool per_layer = false;
  // Micro-batches per optimizer step. With per-layer updates, more than one keeps every gradient
  // at full size until the last micro-batch's backward pass (train_step.hpp).
  int accumulation_steps = 1;
  bool adafactor_first_moment = true;  // Adafactor keeps beta1's moment (our default)
  int quantization_block_size = 2048;
  ProjectionType projection = ProjectionType::Std;
  bool activation_checkpointing = false;
};

// bf16 weights, gradients and moments: the paper's BF16 setting.
MemoryQuery with_paper_precision(MemoryQuery query);

struct MemoryBreakdown {
  std::int64_t weights = 0;
  std::int64_t gradients = 0;
  std::int64_t optimizer_states = 0;
  std::int64_t projection_matrices = 0;
  std::int64_t quantization_scales = 0;
  std::int64_t activations = 0;
  std::int64_t workspace = 0;
  std::int64_t total() const {
    return weights + gradients + optimizer_states + projection_matrices + quantization_scales +
           activations + workspace;
  }
};

// Throws ConfigError for an invalid model, a rank outside [1, min(m, n)] of some projected weight
// (naming it), or non-positive batch/seq.
MemoryBreakdown estimate_training_memory(const MemoryQuery& query);

// The weights of a LLaMA model as the optimizer sees them: [rows x cols] in torch's [out, in]
// layout, vectors as [1 x n], with their HF names and roles.
struct WeightShape {
  std::string name;
  bool projectable;  // attention or MLP matrix (GaLore / LoRA target)
  std::int64_t rows, cols;
  std::int64_t numel() const { return rows * cols; }
};
std::vector<WeightShape> llama_weight_shapes(const ModelConfig& model);

// The paper's GaLore rank for a preset (60m: 128, 130m/350m: 256, 1b: 512, 7b: 1024), else 128
// capped at hidden_size / 2.
int paper_galore_rank(const std::string& preset);

}  // namespace galore
