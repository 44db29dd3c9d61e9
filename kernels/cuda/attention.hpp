// Fused causal multi-head attention with rotary position embedding, forward and backward, tiled
// with an online softmax (FlashAttention, Dao et al. 2022; backward as FlashAttention-2): no
// seq x seq matrix per head is ever stored, only each row's log-sum-exp.
//
// Layout as src/galore/model/attention.hpp: activations are [tokens, heads * head_dim] row-major
// with tokens = batch * seq (row t = b * seq + s), head h in columns [h * head_dim, (h+1) *
// head_dim); q, k and v may be sub-blocks of a fused projection (row stride ld_qkv). lse is fp32
// [batch, heads, seq].
//
// RoPE is applied while q and k tiles are loaded (HF LLaMA rotate-half convention, angle
// s * theta^(-2i/head_dim) for the pair (i, i + head_dim/2) at position s = t % seq), so the
// inputs are the UNROTATED projections and the rotated copies never reach memory. The backward
// pass returns gradients with respect to the unrotated q and k (the inverse rotation is applied
// before they are stored). rope_theta == 0 disables RoPE. The Kokkos path instead rotates q and k
// in place first, rounding the rotated values to T; here they stay fp32, the only difference.
//
// Scores are q.k / sqrt(head_dim); all arithmetic is fp32 whatever T (float or Bf16Word) is.
// head_dim must be 64 or 128 (attention_supports); other sizes stay on the portable path.
#pragma once

#include "kernels/cuda/bf16_bits.hpp"

#include <cuda_runtime.h>

namespace galore::kernels::cuda {

struct AttentionShape {
  int batch;
  int seq;
  int heads;
  int head_dim;
  float rope_theta;  // 0: no rotary embedding
};

bool attention_supports(int head_dim);

// out [tokens, heads*head_dim] (row stride ld_out) and lse are written.
template <class T>
void attention_forward(const AttentionShape& shape, const T* q, const T* k, const T* v, int ld_qkv,
                       T* out, int ld_out, float* lse, cudaStream_t stream);

// Writes dq, dk, dv (row stride ld_grad; overwritten, not accumulated) from d_out and the
// forward's out and lse. row_term_scratch holds batch*heads*seq floats: the softmax-backward row
// term D = rowsum(d_out * out).
template <class T>
void attention_backward(const AttentionShape& shape, const T* q, const T* k, const T* v, int ld_qkv,
                        const T* out, const T* d_out, int ld_out, const float* lse, T* dq, T* dk,
                        T* dv, int ld_grad, float* row_term_scratch, cudaStream_t stream);

}  // namespace galore::kernels::cuda
