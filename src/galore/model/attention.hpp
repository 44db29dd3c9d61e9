// Causal multi-head self-attention with rotary position embedding, memory-lean.
//
// Layout: activations are [tokens, heads * head_dim] with tokens = batch * seq (row t = b*seq + s),
// head h occupying columns [h*head_dim, (h+1)*head_dim). The forward pass is tiled with an online
// softmax (FlashAttention, Dao et al. 2022): it never stores a seq x seq probability matrix and
// saves only each row's log-sum-exp for the backward pass, which recomputes the probabilities.
//
// RoPE (Su et al. 2021) uses the HF LLaMA rotate-half convention: for i < head_dim/2 the pair
// (x_i, x_{i+head_dim/2}) at position s is rotated by angle s * theta^(-2i/head_dim).
//
// All functions accept float or bf16 storage and compute in fp32 (docs/precision.md). Arguments
// may be strided sub-blocks (one of q, k, v inside a fused projection); outputs must not alias
// inputs. Shape mismatches throw ShapeError naming every shape. Kernels run asynchronously on
// `space` unless noted. When Kokkos runs on CUDA, attention_forward/backward and the rope_attention
// pair dispatch to the fused kernels of kernels/cuda where the layouts fit (docs/cuda.md).
#pragma once

#include "galore/core/tensor.hpp"

namespace galore {

struct AttentionShape {
  int batch;
  int seq;
  int heads;
  int head_dim;
  int tokens() const { return batch * seq; }
  int width() const { return heads * head_dim; }
};

// In place: x [tokens, heads*head_dim] <- RoPE(x); position s = t % seq. head_dim must be even.
// Backward applies the inverse rotation, which is also the transpose: dx <- R^T dx.
template <class T>
void rope_forward(const ExecSpace& space, const AttentionShape& shape, float theta, MatrixRef<T> x);
template <class T>
void rope_backward(const ExecSpace& space, const AttentionShape& shape, float theta,
                   MatrixRef<T> dx);

// out = softmax(q k^T / sqrt(head_dim) + causal mask) v per (batch, head); q, k already rotated.
// lse [batch, heads, seq] receives each row's log-sum-exp of the scaled scores (fp32).
template <class T>
void attention_forward(const ExecSpace& space, const AttentionShape& shape, MatrixRef<const T> q,
                       MatrixRef<const T> k, MatrixRef<const T> v, MatrixRef<T> out,
                       Tensor3Ref<float> lse);

// Given d_out, writes dq, dk, dv (overwritten, not accumulated). Recomputes probabilities from
// q, k and lse; `out` is needed for the softmax-backward row term D = rowsum(d_out * out).
// Allocates one fp32 [batch, heads, seq] temporary (D) and fences `space` before returning.
template <class T>
void attention_backward(const ExecSpace& space, const AttentionShape& shape, MatrixRef<const T> q,
                        MatrixRef<const T> k, MatrixRef<const T> v, MatrixRef<const T> out,
                        Tensor3Ref<const float> lse, MatrixRef<const T> d_out, MatrixRef<T> dq,
                        MatrixRef<T> dk, MatrixRef<T> dv);

// The decoder layer's attention, on the UNROTATED projections q and k. On CUDA, where the fused
// kernel of kernels/cuda takes the layout (head_dim 64 or 128), RoPE is applied inside it while
// tiles load, and q and k are left as they are; otherwise q and k are rotated in place
// (rope_forward) and attention_forward runs. Returns whether q and k now hold rotated values;
// rope_attention_backward needs that flag with the same q and k. theta must be positive.
template <class T>
bool rope_attention_forward(const ExecSpace& space, const AttentionShape& shape, float theta,
                            MatrixRef<T> q, MatrixRef<T> k, MatrixRef<const T> v, MatrixRef<T> out,
                            Tensor3Ref<float> lse);

// dq and dk are the gradients with respect to the UNROTATED q and k, dv as attention_backward.
template <class T>
void rope_attention_backward(const ExecSpace& space, const AttentionShape& shape, float theta,
                             bool qk_rotated, MatrixRef<const T> q, MatrixRef<const T> k,
                             MatrixRef<const T> v, MatrixRef<const T> out,
                             Tensor3Ref<const float> lse, MatrixRef<const T> d_out, MatrixRef<T> dq,
                             MatrixRef<T> dk, MatrixRef<T> dv);

// Reference: materialises the full [batch*heads, seq, seq] score matrix (fences before returning).
// Tests compare the tiled kernels with it.
template <class T>
void attention_forward_naive(const ExecSpace& space, const AttentionShape& shape,
                             MatrixRef<const T> q, MatrixRef<const T> k, MatrixRef<const T> v,
                             MatrixRef<T> out);

}  // namespace galore
