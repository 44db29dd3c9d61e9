// Softmax cross-entropy over the vocabulary, fused with the LM head and chunked over tokens.
//
// For each chunk of rows: logits = h W^T (fp32), per-row log-sum-exp and loss, then (backward)
// d_logits = (softmax - onehot) * grad_scale / n, d_h = d_logits W and d_W += d_logits^T h. Only a
// [chunk, vocab] block of logits ever exists, never the [tokens, vocab] fp32 tensor of the batch
// (500 MB for 4096 tokens at vocab 32000). The chunk size is the row count of the scratch views.
//
// The loss is averaged over the targets that are not kIgnoreIndex; a batch with no targets gives
// loss 0 and zero gradients.
#pragma once

#include "galore/core/tensor.hpp"
#include "galore/model/tokens.hpp"

namespace galore {

// hidden [tokens, h], head_weight [vocab, h], targets [batch, seq] with batch*seq == tokens,
// logits_scratch [chunk, vocab]. Returns the mean loss.
template <class T>
float lm_head_cross_entropy_forward(const ExecSpace& space, MatrixRef<const T> hidden,
                                    MatrixRef<const T> head_weight, TokenMatrix targets,
                                    MatrixRef<float> logits_scratch);

// Also the gradients of grad_scale * mean loss: d_hidden [tokens, h] is overwritten, d_head_weight
// [vocab, h] (fp32) is added to. d_logits_scratch [chunk, vocab] holds the rounded logit gradient
// the GEMMs read; for T = float it may be the same memory as logits_scratch.
template <class T>
float lm_head_cross_entropy_forward_backward(const ExecSpace& space, MatrixRef<const T> hidden,
                                             MatrixRef<const T> head_weight, TokenMatrix targets,
                                             MatrixRef<float> logits_scratch,
                                             MatrixRef<T> d_logits_scratch, float grad_scale,
                                             MatrixRef<T> d_hidden, MatrixRef<float> d_head_weight);

}  // namespace galore
