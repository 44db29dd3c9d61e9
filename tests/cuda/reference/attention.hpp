// CPU reference for kernels/cuda/attention.hpp: materialises every score matrix, in double.
// Activations are dense [batch * seq, heads * head_dim]; any even head_dim works. RoPE angles are
// formed in fp32 exactly as the kernels form them (inv_freq = 1 / theta^(2i/d), angle = s *
// inv_freq), their sine and cosine taken in double.
#pragma once

#include "kernels/cuda/attention.hpp"

#include <vector>

namespace galore::kernels::cuda::reference {

// x <- R x (or R^T x with `inverse`), per head and position; no-op when rope_theta == 0.
void rope(const AttentionShape& s, std::vector<double>& x, bool inverse);

// out = softmax(rope(q) rope(k)^T / sqrt(d) + causal mask) v; lse [batch, heads, seq].
void attention_forward(const AttentionShape& s, const std::vector<double>& q,
                       const std::vector<double>& k, const std::vector<double>& v,
                       std::vector<double>& out, std::vector<double>& lse);

struct AttentionGradients {
  std::vector<double> dq, dk, dv;  // with respect to the unrotated q and k
};

// Gradients for d_out, with the softmax-backward row term D = rowsum(d_out * out) taken from the
// given `out`, as the kernels take it (the stored, possibly rounded, forward output).
AttentionGradients attention_backward(const AttentionShape& s, const std::vector<double>& q,
                                      const std::vector<double>& k, const std::vector<double>& v,
                                      const std::vector<double>& out,
                                      const std::vector<double>& d_out);

}  // namespace galore::kernels::cuda::reference
