// One LLaMA decoder layer (pre-norm): x -> x + attn(RMSNorm(x)) = mid -> mid + MLP(RMSNorm(mid)),
// its forward pass, and a backward pass that hands out each weight's gradient as soon as it is
// complete.
#pragma once

#include "galore/core/parameter.hpp"
#include "galore/model/allocation_meter.hpp"
#include "galore/model/attention.hpp"

namespace galore {

// A block's nine weights, in the order LlamaModel::parameters() lists them (HF order).
enum class BlockWeight : int { InputNorm, Q, K, V, O, PostNorm, Gate, Up, Down };
constexpr int kBlockWeightCount = 9;

struct BlockShape {
  AttentionShape attention;  // batch, seq, heads, head_dim
  int intermediate;
  float rms_norm_eps;
  float rope_theta;
  int tokens() const { return attention.tokens(); }
  int hidden() const { return attention.width(); }
};

// What the backward pass reads, saved by the forward pass (or recomputed under checkpointing).
// [tokens, hidden] unless noted. The MLP product silu(gate) * up is not saved: the backward pass
// recomputes it (one element-wise pass) instead of keeping another [tokens, intermediate] tensor.
template <class T>
struct BlockActivations {
  Matrix<T> normed_in;              // RMSNorm(x), the input of q/k/v_proj
  Matrix<T> q, k, v;                // projections; q and k rotated by RoPE if qk_rotated
  Matrix<T> attention;              // attention output, the input of o_proj
  Matrix<T> mid;                    // x + o_proj(attention)
  Matrix<T> normed_mid;             // RMSNorm(mid), the input of gate/up_proj
  Matrix<T> gate, up;               // [tokens, intermediate]
  Vector<float> rstd_in, rstd_mid;  // [tokens]
  Tensor3<float> lse;               // attention row log-sum-exp [batch, heads, seq]
  // Whether q and k hold the rotated values (false where the fused CUDA attention kernel applies
  // RoPE itself): set by the forward pass, read by the backward pass (rope_attention_*).
  bool qk_rotated = true;

  static BlockActivations allocate(AllocationMeter& meter, const BlockShape& shape);
  // Bytes allocate() takes; LlamaModel::estimate_memory sums these.
  static std::int64_t bytes(const BlockShape& shape);
};

// Buffers the backward pass needs beyond the saved activations; one set serves every block.
template <class T>
struct BlockWorkspace {
  Matrix<T> mlp_a,
      mlp_b;           // [tokens, intermediate]: silu(gate)*up and its gradient, then d_gate, d_up
  Matrix<T> d_normed;  // d RMSNorm(mid), then d attention, then d RMSNorm(x)
  Matrix<T> dq, dk, dv;

  static BlockWorkspace allocate(AllocationMeter& meter, const BlockShape& shape);
  static std::int64_t bytes(const BlockShape& shape);
};

// How a backward pass hands out weight gradients (fp32, added to, never overwritten).
template <class T>
class GradientSink {
 public:
  virtual ~GradientSink() = default;
  // The buffer to add p's gradient into: p.grad, allocated zero-filled first if it is empty.
  virtual Matrix<float>& gradient(Parameter<T>& p) = 0;
  // p's gradient from this pass is all added in and the pass reads p's value no more, so the
  // receiver may update the weight at once (work enqueued on the pass's execution space).
  virtual void complete(Parameter<T>& p) = 0;
};

// weights: the block's kBlockWeightCount parameters in BlockWeight order. Fills `saved`;
// mlp_scratch [tokens, intermediate] is overwritten. With `y` empty only `saved` is computed
// (recomputation for the backward pass under activation checkpointing).
template <class T>
void decoder_block_forward(const ExecSpace& space, const BlockShape& shape,
                           const Parameter<T>* weights, MatrixRef<const T> x,
                           BlockActivations<T>& saved, MatrixRef<T> mlp_scratch, MatrixRef<T> y);

// d_residual holds dL/dy on entry and dL/dx on return. Weight gradients go to `sink` in reverse
// forward order: down, up, gate, post_attention_layernorm, o, v, k, q, input_layernorm.
template <class T>
void decoder_block_backward(const ExecSpace& space, const BlockShape& shape, Parameter<T>* weights,
                            MatrixRef<const T> x, const BlockActivations<T>& saved,
                            BlockWorkspace<T>& work, MatrixRef<T> d_residual,
                            GradientSink<T>& sink);

}  // namespace galore
