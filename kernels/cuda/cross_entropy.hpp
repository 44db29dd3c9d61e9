// Softmax cross-entropy over the vocabulary fused with the LM head, chunked over tokens: only a
// [chunk, vocab] block of fp32 logits ever exists. Same semantics as
// galore::lm_head_cross_entropy_forward(_backward) (src/galore/model/cross_entropy.hpp):
//
//   logits = h W^T (fp32), loss = mean over targets != kIgnoreIndex of lse - logit[target]
//   d_logits = (softmax - onehot) * grad_scale / counted  (rounded to T)
//   d_hidden = d_logits W (overwritten),  d_head_weight += d_logits^T h (fp32)
//
// No host synchronisation: the target count is computed on the device, and the mean loss is
// written to device memory (`loss`, one float). A batch with no counted target gives loss 0 and
// zero gradients. A target outside [0, vocab) that is not kIgnoreIndex makes the loss NaN (a
// sticky signal that needs no host round trip); it contributes no gradient.
//
// T is float (cuBLAS fp32) or Bf16Word (cuBLASLt bf16 x bf16 -> fp32 logits, bf16 d_hidden).
#pragma once

#include "kernels/cuda/bf16_bits.hpp"
#include "kernels/cuda/blas_context.hpp"

#include <cstddef>
#include <cstdint>

namespace galore::kernels::cuda {

constexpr std::int32_t kIgnoreIndex = -100;  // torch's default, as galore::kIgnoreIndex

struct LmHeadShape {
  int tokens;  // rows of hidden, entries of targets (batch * seq)
  int hidden;  // h
  int vocab;
  int chunk;  // logit rows materialised at once
};

// Workspace bytes: fp32 logits [chunk, vocab], T d_logits [chunk, vocab] (with gradients),
// per-token losses and two counters, each 256-byte aligned.
template <class T>
std::size_t lm_head_cross_entropy_workspace_bytes(const LmHeadShape& shape, bool with_gradients);

// hidden [tokens, hidden], head_weight [vocab, hidden], targets [tokens] (int32, device).
// Gradients are computed when d_hidden and d_head_weight are both non-null.
template <class T>
void lm_head_cross_entropy(BlasContext& ctx, const LmHeadShape& shape, const T* hidden,
                           const T* head_weight, const std::int32_t* targets, float grad_scale,
                           T* d_hidden, float* d_head_weight, void* workspace, float* loss);

}  // namespace galore::kernels::cuda
