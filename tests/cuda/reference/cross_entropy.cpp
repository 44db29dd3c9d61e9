// LM head + cross-entropy reference (see cross_entropy.hpp).
#include "tests/cuda/reference/cross_entropy.hpp"

#include "kernels/cuda/cross_entropy.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

namespace galore::kernels::cuda::reference {

CrossEntropyResult lm_head_cross_entropy(int tokens, int hidden_size, int vocab,
                                         const std::vector<double>& hidden,
                                         const std::vector<double>& head_weight,
                                         const std::vector<std::int32_t>& targets,
                                         double grad_scale) {
  const std::size_t h = static_cast<std::size_t>(hidden_size);
  CrossEntropyResult result{0.0, std::vector<double>(hidden.size(), 0.0),
                            std::vector<double>(head_weight.size(), 0.0)};
  int counted = 0;
  bool invalid = false;
  for (const std::int32_t target : targets) {
    if (target >= 0 && target < vocab) {
      ++counted;
    } else if (target != kIgnoreIndex) {
      invalid = true;
    }
  }
  std::vector<double> logits(vocab);
  double loss_sum = 0.0;
  for (int t = 0; t < tokens; ++t) {
    for (int j = 0; j < vocab; ++j) {
      double sum = 0.0;
      for (std::size_t c = 0; c < h; ++c) sum += hidden[t * h + c] * head_weight[j * h + c];
      logits[j] = sum;
    }
    const double max_logit = *std::max_element(logits.begin(), logits.end());
    double sum_exp = 0.0;
    for (int j = 0; j < vocab; ++j) sum_exp += std::exp(logits[j] - max_logit);
    const double lse = max_logit + std::log(sum_exp);
    const std::int32_t target = targets[t];
    if (target < 0 || target >= vocab) continue;  // ignored or invalid: no loss, no gradient
    loss_sum += lse - logits[target];
    const double scale = grad_scale / counted;
    for (int j = 0; j < vocab; ++j) {
      const double d = scale * (std::exp(logits[j] - lse) - (j == target ? 1.0 : 0.0));
      for (std::size_t c = 0; c < h; ++c) {
        result.d_hidden[t * h + c] += d * head_weight[j * h + c];
        result.d_head_weight[j * h + c] += d * hidden[t * h + c];
      }
    }
  }
  result.loss = counted > 0 ? loss_sum / counted : 0.0;
  if (invalid) result.loss = std::numeric_limits<double>::quiet_NaN();
  return result;
}

}  // namespace galore::kernels::cuda::reference
