#include "galore/train/training_flops.hpp"

#include "galore/core/gemm.hpp"

#include <algorithm>

namespace galore {

double training_flops_per_token(const ModelConfig& config, int seq_len) {
  const double embedding = double(config.vocab_size) * config.hidden_size;
  const double matmul_parameters = double(config.parameter_count()) - embedding;
  return 6.0 * matmul_parameters +
         6.0 * config.num_hidden_layers * double(seq_len) * config.hidden_size;
}

double measure_gemm_peak_flops(const ExecSpace& space) {
  const int n = 1024;
  Matrix<float> a("galore::peak_a", n, n), b("galore::peak_b", n, n), c("galore::peak_c", n, n);
  Kokkos::deep_copy(a, 1.0f);
  Kokkos::deep_copy(b, 1.0f);
  gemm(space, Op::N, Op::N, 1.0f, a, b, 0.0f, c);  // warm-up: thread pools, page faults
  space.fence();
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    Kokkos::Timer timer;
    gemm(space, Op::N, Op::N, 1.0f, a, b, 0.0f, c);
    space.fence();
    best = std::max(best, 2.0 * n * n * double(n) / timer.seconds());
  }
  return best;
}

}  // namespace galore
