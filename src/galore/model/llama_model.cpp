// LlamaModel: parameters, initialisation, the forward pass, the backward pass with per-parameter
// gradient delivery, activation checkpointing, and the memory estimate that mirrors them.
#include "galore/model/llama_model.hpp"

#include "galore/core/error.hpp"
#include "galore/core/gemm.hpp"
#include "galore/core/rng.hpp"
#include "galore/model/cross_entropy.hpp"
#include "galore/model/decoder_block.hpp"
#include "galore/model/embedding.hpp"
#include "galore/model/rms_norm.hpp"

#include <algorithm>
#include <type_traits>
#include <utility>

namespace galore {

namespace {

// parameters() layout: embedding, kBlockWeightCount per block, final norm, LM head.
int block_offset(int layer) { return 1 + layer * kBlockWeightCount; }

BlockShape block_shape(const ModelConfig& c, int batch, int seq) {
  return BlockShape{AttentionShape{batch, seq, c.num_attention_heads, c.head_dim()},
                    c.intermediate_size, c.rms_norm_eps, c.rope_theta};
}

template <class M>
auto row(const M& vector_parameter) {
  return Kokkos::subview(vector_parameter, 0, Kokkos::ALL);
}

template <class T>
class ModelGradientSink final : public GradientSink<T> {
 public:
  ModelGradientSink(AllocationMeter& meter, GradientMode mode,
                    const std::function<void(Parameter<T>&)>& on_gradient)
      : meter_(meter), mode_(mode), on_gradient_(on_gradient) {}

  Matrix<float>& gradient(Parameter<T>& p) override {
    if (p.grad.data() == nullptr) {
      const AllocationMeter::KindScope kind(meter_, AllocationKind::Gradients);
      p.grad = meter_.zeros<Matrix<float>>(p.name + ".grad", p.value.extent(0), p.value.extent(1));
    } else if (p.grad.extent(0) != p.value.extent(0) || p.grad.extent(1) != p.value.extent(1)) {
      throw ShapeError("gradient of " + p.name + " has shape " + shape_string(p.grad) +
                       ", the parameter " + shape_string(p.value));
    }
    return p.grad;
  }

  void complete(Parameter<T>& p) override {
    if (mode_ == GradientMode::Deliver) on_gradient_(p);
  }

 private:
  AllocationMeter& meter_;
  GradientMode mode_;
  const std::function<void(Parameter<T>&)>& on_gradient_;
};

}  // namespace

template <class T>
struct LlamaModel<T>::ForwardState {
  std::vector<Matrix<T>> residuals;         // x_0 (embeddings) ... x_L, the block inputs/outputs
  std::vector<BlockActivations<T>> blocks;  // Keep::Everything only
  Matrix<T> normed;                         // final RMSNorm(x_L), the LM head's input
  Vector<float> rstd;
};

template <class T>
LlamaModel<T>::LlamaModel(const ModelConfig& config, std::uint64_t seed, LlamaModelOptions options)
    : config_(config), options_(options) {
  config_.validate();
  if (options_.loss_chunk_tokens <= 0) {
    throw ConfigError("LlamaModelOptions: loss_chunk_tokens must be positive, got " +
                      std::to_string(options_.loss_chunk_tokens));
  }
  const int h = config_.hidden_size;
  const int i = config_.intermediate_size;
  const int v = config_.vocab_size;
  const AllocationMeter::KindScope kind(meter_, AllocationKind::Weights);
  const auto add = [&](std::string name, ParamRole role, int layer, int rows, int cols) {
    Matrix<T> value = meter_.uninitialized<Matrix<T>>(name, rows, cols);
    parameters_.push_back(Parameter<T>{std::move(name), role, layer, value, Matrix<float>()});
  };
  add("model.embed_tokens.weight", ParamRole::Embedding, -1, v, h);
  for (int l = 0; l < config_.num_hidden_layers; ++l) {
    const std::string prefix = "model.layers." + std::to_string(l) + ".";
    add(prefix + "input_layernorm.weight", ParamRole::Norm, l, 1, h);
    for (const char* proj : {"q_proj", "k_proj", "v_proj", "o_proj"}) {
      add(prefix + "self_attn." + proj + ".weight", ParamRole::Attention, l, h, h);
    }
    add(prefix + "post_attention_layernorm.weight", ParamRole::Norm, l, 1, h);
    add(prefix + "mlp.gate_proj.weight", ParamRole::Mlp, l, i, h);
    add(prefix + "mlp.up_proj.weight", ParamRole::Mlp, l, i, h);
    add(prefix + "mlp.down_proj.weight", ParamRole::Mlp, l, h, i);
  }
  add("model.norm.weight", ParamRole::Norm, -1, 1, h);
  add("lm_head.weight", ParamRole::Head, -1, v, h);

  const ExecSpace space;
  for (std::size_t index = 0; index < parameters_.size(); ++index) {
    Parameter<T>& p = parameters_[index];
    if (p.role == ParamRole::Norm) {
      Kokkos::deep_copy(space, p.value, from_float<T>(1.0f));
    } else {
      fill_normal(space, p.value, CounterRng(seed, index), 0.0f, config_.initializer_range);
    }
  }
  space.fence();
}

template <class T>
Parameter<T>& LlamaModel<T>::parameter(const std::string& name) {
  for (Parameter<T>& p : parameters_) {
    if (p.name == name) return p;
  }
  throw ConfigError("the model has no parameter named \"" + name + "\"");
}

template <class T>
void LlamaModel<T>::check_batch(TokenMatrix inputs, const TokenMatrix* targets) const {
  if (inputs.extent(0) == 0 || inputs.extent(1) == 0 ||
      inputs.extent(1) > static_cast<std::size_t>(config_.max_sequence_length)) {
    throw ShapeError("LlamaModel: inputs" + shape_string(inputs) +
                     " must be [batch >= 1, 1 <= seq <= max_sequence_length = " +
                     std::to_string(config_.max_sequence_length) + "]");
  }
  if (targets != nullptr &&
      (targets->extent(0) != inputs.extent(0) || targets->extent(1) != inputs.extent(1))) {
    throw ShapeError("LlamaModel: targets" + shape_string(*targets) + " must match inputs" +
                     shape_string(inputs));
  }
}

template <class T>
typename LlamaModel<T>::ForwardState LlamaModel<T>::forward(const ExecSpace& space,
                                                            TokenMatrix inputs, Keep keep) {
  const BlockShape shape = block_shape(config_, inputs.extent(0), inputs.extent(1));
  const int n = shape.tokens();
  const int h = shape.hidden();
  ForwardState state;
  state.residuals.push_back(meter_.uninitialized<Matrix<T>>("residual", n, h));
  embedding_forward<T>(space, inputs, parameters_.front().value, state.residuals.back());
  const auto mlp_scratch = meter_.uninitialized<Matrix<T>>("mlp_scratch", n, shape.intermediate);
  for (int l = 0; l < config_.num_hidden_layers; ++l) {
    BlockActivations<T> saved = BlockActivations<T>::allocate(meter_, shape);
    const auto y = meter_.uninitialized<Matrix<T>>("residual", n, h);
    decoder_block_forward<T>(space, shape, &parameters_[block_offset(l)], state.residuals.back(),
                             saved, mlp_scratch, y);
    if (keep == Keep::Everything) state.blocks.push_back(std::move(saved));
    if (keep == Keep::Nothing) {
      state.residuals.back() = y;
    } else {
      state.residuals.push_back(y);
    }
  }
  state.normed = meter_.uninitialized<Matrix<T>>("final_normed", n, h);
  state.rstd = meter_.uninitialized<Vector<float>>("final_rstd", n);
  rms_norm_forward<T>(space, config_.rms_norm_eps, state.residuals.back(),
                      row(parameters_[parameters_.size() - 2].value), state.normed, state.rstd);
  return state;
}

template <class T>
float LlamaModel<T>::evaluate_loss(const ExecSpace& space, TokenMatrix inputs,
                                   TokenMatrix targets) {
  check_batch(inputs, &targets);
  const ForwardState state = forward(space, inputs, Keep::Nothing);
  const int chunk = std::min<int>(options_.loss_chunk_tokens, state.normed.extent(0));
  const auto logits = meter_.uninitialized<Matrix<float>>("loss_logits", chunk, config_.vocab_size);
  return lm_head_cross_entropy_forward<T>(space, state.normed, parameters_.back().value, targets,
                                          logits);
}

template <class T>
Matrix<float> LlamaModel<T>::logits(const ExecSpace& space, TokenMatrix inputs) {
  check_batch(inputs, nullptr);
  const ForwardState state = forward(space, inputs, Keep::Nothing);
  auto out =
      meter_.uninitialized<Matrix<float>>("logits", state.normed.extent(0), config_.vocab_size);
  gemm(space, Op::N, Op::T, 1.0f, state.normed, parameters_.back().value, 0.0f, out);
  return out;
}

template <class T>
float LlamaModel<T>::forward_backward(const ExecSpace& space, TokenMatrix inputs,
                                      TokenMatrix targets, float grad_scale, GradientMode mode,
                                      const GradientCallback& on_gradient) {
  check_batch(inputs, &targets);
  if (mode == GradientMode::Deliver && !on_gradient) {
    throw ConfigError("forward_backward: GradientMode::Deliver needs an on_gradient callback");
  }
  const bool checkpointing = options_.activation_checkpointing;
  ForwardState state = [&] {
    const PhaseScope phase(timer_, Phase::Forward);
    return forward(space, inputs, checkpointing ? Keep::BlockInputs : Keep::Everything);
  }();
  const PhaseScope phase(timer_, Phase::Backward);
  const BlockShape shape = block_shape(config_, inputs.extent(0), inputs.extent(1));
  const int n = shape.tokens();
  const int h = shape.hidden();
  ModelGradientSink<T> sink(meter_, mode, on_gradient);
  const auto d_residual = meter_.zeros<Matrix<T>>("d_residual", n, h);

  float loss = 0.0f;
  {
    const int chunk = std::min(options_.loss_chunk_tokens, n);
    const auto logits =
        meter_.uninitialized<Matrix<float>>("loss_logits", chunk, config_.vocab_size);
    Matrix<T> d_logits;
    if constexpr (std::is_same_v<T, float>) {
      d_logits = logits;  // the softmax gradient overwrites the logits row by row
    } else {
      d_logits = meter_.uninitialized<Matrix<T>>("loss_d_logits", chunk, config_.vocab_size);
    }
    const auto d_normed = meter_.uninitialized<Matrix<T>>("final_d_normed", n, h);
    Parameter<T>& head = parameters_.back();
    loss = lm_head_cross_entropy_forward_backward<T>(space, state.normed, head.value, targets,
                                                     logits, d_logits, grad_scale, d_normed,
                                                     sink.gradient(head));
    sink.complete(head);
    Parameter<T>& norm = parameters_[parameters_.size() - 2];
    rms_norm_backward<T>(space, state.residuals.back(), row(norm.value), state.rstd, d_normed,
                         d_residual, row(sink.gradient(norm)));
    sink.complete(norm);
  }

  BlockWorkspace<T> work = BlockWorkspace<T>::allocate(meter_, shape);
  for (int l = config_.num_hidden_layers - 1; l >= 0; --l) {
    Parameter<T>* weights = &parameters_[block_offset(l)];
    const Matrix<T>& x = state.residuals[l];
    BlockActivations<T> saved;
    if (checkpointing) {
      saved = BlockActivations<T>::allocate(meter_, shape);
      decoder_block_forward<T>(space, shape, weights, x, saved, MatrixRef<T>(), MatrixRef<T>());
    } else {
      saved = std::move(state.blocks.back());
      state.blocks.pop_back();
    }
    decoder_block_backward<T>(space, shape, weights, x, saved, work, d_residual, sink);
    state.residuals.pop_back();  // x_{l+1}: no longer read
  }
  Parameter<T>& embedding = parameters_.front();
  embedding_backward<T>(space, inputs, d_residual, sink.gradient(embedding));
  sink.complete(embedding);
  return loss;
}

template <class T>
void LlamaModel<T>::clear_gradients() {
  for (Parameter<T>& p : parameters_) p.grad = Matrix<float>();
}

template <class T>
MemoryEstimate LlamaModel<T>::estimate_memory(const ModelConfig& config, int batch, int seq,
                                              bool bf16, bool activation_checkpointing,
                                              int loss_chunk_tokens) {
  config.validate();
  const std::int64_t value_bytes = bf16 ? 2 : 4;
  const std::int64_t n = static_cast<std::int64_t>(batch) * seq;
  const std::int64_t h = config.hidden_size;
  const std::int64_t v = config.vocab_size;
  const std::int64_t layers = config.num_hidden_layers;
  const BlockShape shape = block_shape(config, batch, seq);
  const std::int64_t block_saved =
      bf16 ? BlockActivations<galore::bf16>::bytes(shape) : BlockActivations<float>::bytes(shape);
  const std::int64_t block_work =
      bf16 ? BlockWorkspace<galore::bf16>::bytes(shape) : BlockWorkspace<float>::bytes(shape);
  const std::int64_t hidden_tensor = n * h * value_bytes;

  MemoryEstimate e;
  e.weights = config.parameter_count() * value_bytes;
  e.gradients = config.parameter_count() * static_cast<std::int64_t>(sizeof(float));
  // Residual stream x_0..x_L, the final norm's output and rstd, and (without checkpointing)
  // every block's saved activations.
  e.activations = (layers + 1) * hidden_tensor + hidden_tensor + n * 4 +
                  (activation_checkpointing ? 0 : layers * block_saved);
  // Both phases hold d_residual. Loss phase: one chunk of fp32 logits (plus its bf16 gradient in
  // bf16 mode) and d(final norm output). Block phase: the block workspace, plus under
  // checkpointing the recomputed activations of the block being differentiated.
  const std::int64_t chunk = std::min<std::int64_t>(loss_chunk_tokens, n);
  const std::int64_t loss_phase = hidden_tensor + chunk * v * (4 + (bf16 ? 2 : 0)) + hidden_tensor;
  const std::int64_t block_phase =
      hidden_tensor + block_work + (activation_checkpointing ? block_saved : 0);
  e.workspace = std::max(loss_phase, block_phase);
  return e;
}

template class LlamaModel<float>;
template class LlamaModel<bf16>;

}  // namespace galore
