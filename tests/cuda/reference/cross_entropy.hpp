// CPU reference for kernels/cuda/cross_entropy.hpp, in double, with the full logit matrix.
#pragma once

#include <cstdint>
#include <vector>

namespace galore::kernels::cuda::reference {

struct CrossEntropyResult {
  double loss;                        // mean over counted targets; NaN for an invalid target
  std::vector<double> d_hidden;       // [tokens, hidden], gradient of grad_scale * loss
  std::vector<double> d_head_weight;  // [vocab, hidden]
};

CrossEntropyResult lm_head_cross_entropy(int tokens, int hidden_size, int vocab,
                                         const std::vector<double>& hidden,
                                         const std::vector<double>& head_weight,
                                         const std::vector<std::int32_t>& targets,
                                         double grad_scale);

}  // namespace galore::kernels::cuda::reference
