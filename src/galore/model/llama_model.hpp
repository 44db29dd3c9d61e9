// The LLaMA decoder-only transformer the GaLore paper pretrains, with hand-written backward.
//
// embed -> [RMSNorm -> causal RoPE attention -> +residual -> RMSNorm -> SwiGLU MLP -> +residual]
// x layers -> RMSNorm -> untied LM head -> softmax cross-entropy over the next token.
//
// Precision (docs/precision.md): T = bf16 stores weights and activations in bf16 with fp32
// accumulation, statistics and loss; T = float is the all-fp32 mode of the gradient tests.
// Gradients are always fp32.
#pragma once

#include "galore/core/parameter.hpp"
#include "galore/core/phase_timer.hpp"
#include "galore/model/allocation_meter.hpp"
#include "galore/model/config.hpp"
#include "galore/model/tokens.hpp"

#include <cstdint>
#include <functional>
#include <vector>

namespace galore {

struct LlamaModelOptions {
  // Keep only each block's input in the forward pass and recompute the block in the backward pass.
  bool activation_checkpointing = false;
  // Tokens per chunk of the fused LM head + cross-entropy ([chunk, vocab] fp32 logits at a time).
  int loss_chunk_tokens = 256;
};

// Bytes a training step holds at its peak (forward_backward in Accumulate mode with every
// gradient allocated). Temporaries inside galore::gemm and the attention kernels are not included.
struct MemoryEstimate {
  std::int64_t weights = 0;      // every parameter, in the storage type
  std::int64_t gradients = 0;    // fp32 gradient of every parameter
  std::int64_t activations = 0;  // saved by the forward pass for the backward pass
  std::int64_t workspace = 0;    // transient buffers of the backward pass, at their largest
  std::int64_t total() const { return weights + gradients + activations + workspace; }
};

// Accumulate: add every gradient into p.grad (micro-batch accumulation). Deliver: also call the
// callback with each parameter as soon as its gradient is complete (per-layer optimizer updates;
// starting a gradient's data-parallel all-reduce while the backward pass goes on).
enum class GradientMode { Accumulate, Deliver };

template <class T>
class LlamaModel {
 public:
  using TokenMatrix = galore::TokenMatrix;  // [batch, seq] int32
  using GradientMode = galore::GradientMode;
  using GradientCallback = std::function<void(Parameter<T>&)>;

  // Weights ~ normal(0, initializer_range) from CounterRng(seed, stream = parameter index), norm
  // weights 1: the same values on every backend and thread count.
  LlamaModel(const ModelConfig& config, std::uint64_t seed, LlamaModelOptions options = {});

  const ModelConfig& config() const { return config_; }
  const LlamaModelOptions& options() const { return options_; }

  // HF names and order: model.embed_tokens.weight, per layer i model.layers.{i}.input_layernorm,
  // self_attn.{q,k,v,o}_proj, post_attention_layernorm, mlp.{gate,up,down}_proj (".weight"),
  // then model.norm.weight, lm_head.weight.
  std::vector<Parameter<T>>& parameters() { return parameters_; }
  const std::vector<Parameter<T>>& parameters() const { return parameters_; }
  Parameter<T>& parameter(const std::string& name);  // ConfigError if no such parameter

  // Mean cross-entropy over the targets that are not kIgnoreIndex; forward only.
  float evaluate_loss(const ExecSpace& space, TokenMatrix inputs, TokenMatrix targets);

  // Next-token logits [batch*seq, vocab] in fp32 (materialised: small models, tests, sampling).
  Matrix<float> logits(const ExecSpace& space, TokenMatrix inputs);

  // Returns the mean loss and adds the gradients of grad_scale * loss into every p.grad
  // (allocating a zero-filled p.grad where it is empty). In Deliver mode on_gradient(p) runs as
  // soon as p's gradient is complete, in reverse parameters() order (lm_head and model.norm first,
  // the embedding last); it may release p.grad (assign an empty view) to free the memory.
  float forward_backward(const ExecSpace& space, TokenMatrix inputs, TokenMatrix targets,
                         float grad_scale, GradientMode mode,
                         const GradientCallback& on_gradient = {});

  // Releases every gradient (the next forward_backward allocates zeroed ones).
  void clear_gradients();

  // The peak bytes of forward_backward for this shape, before anything is allocated.
  static MemoryEstimate estimate_memory(
      const ModelConfig& config, int batch, int seq, bool bf16, bool activation_checkpointing,
      int loss_chunk_tokens = LlamaModelOptions{}.loss_chunk_tokens);

  // Live and peak bytes of every view this model has allocated (weights included).
  AllocationMeter& memory_meter() { return meter_; }

  // forward_backward charges its forward pass to Phase::Forward and the rest (loss, backward pass,
  // the Deliver callbacks unless they enter phases of their own) to Phase::Backward. nullptr
  // (the default): untimed.
  void set_phase_timer(PhaseTimer* timer) { timer_ = timer; }

 private:
  struct ForwardState;
  enum class Keep { Nothing, BlockInputs, Everything };

  ForwardState forward(const ExecSpace& space, TokenMatrix inputs, Keep keep);
  void check_batch(TokenMatrix inputs, const TokenMatrix* targets) const;

  ModelConfig config_;
  LlamaModelOptions options_;
  AllocationMeter meter_;
  std::vector<Parameter<T>> parameters_;
  PhaseTimer* timer_ = nullptr;
};

}  // namespace galore
