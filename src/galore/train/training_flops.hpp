// Model FLOPs of a training step, for tokens/s -> achieved FLOP/s and MFU.
//
// Per token, forward + backward = 3 x forward (Kaplan et al. 2020; PaLM appendix B):
//   6 * N_matmul                 N_matmul: every weight used in a matrix product (all parameters
//                                except the embedding table, which is a lookup; the untied LM head
//                                counts)
// + 6 * layers * seq * hidden    causal attention scores and weighted values (PaLM's 12 L T d
//                                counts the full square; the causal mask halves it)
#pragma once

#include "galore/core/tensor.hpp"
#include "galore/model/config.hpp"

namespace galore {

double training_flops_per_token(const ModelConfig& config, int seq_len);

// The practical fp32 GEMM peak of this backend in FLOP/s: the best of a few 1024^3 products
// through galore::gemm (takes a fraction of a second; the denominator of MFU).
double measure_gemm_peak_flops(const ExecSpace& space);

}  // namespace galore
