// GPU: LM head + cross-entropy in chunks against the double reference: several chunks with a
// partial last one, ignored targets, gradients accumulated into d_head_weight, float and bf16
// storage; no counted target gives 0; an out-of-range target gives NaN. Tolerances: loss within
// 1e-5 relative (fp32 logits from exact products), gradients 1e-4 (fp32) or 2^-7 (bf16 logit
// gradient) of their largest magnitude.
#include "kernels/cuda/cross_entropy.hpp"
#include "kernels/cuda/device_buffer.hpp"
#include "tests/cuda/gpu_test_case.hpp"
#include "tests/cuda/reference/cross_entropy.hpp"
#include "tests/cuda/test_data.hpp"

#include <cmath>
#include <cstdint>
#include <vector>

using namespace galore::kernels::cuda;
namespace testing = galore::kernels::cuda::testing;

namespace {

struct GpuResult {
  float loss;
  std::vector<double> d_hidden;
  std::vector<double> d_head_weight;
};

template <class T>
GpuResult run(const LmHeadShape& s, const std::vector<T>& hidden, const std::vector<T>& weight,
              const std::vector<std::int32_t>& targets, const std::vector<float>& d_weight0,
              float grad_scale) {
  DeviceBuffer<T> hidden_dev(hidden);
  DeviceBuffer<T> weight_dev(weight);
  DeviceBuffer<std::int32_t> targets_dev(targets);
  DeviceBuffer<T> d_hidden_dev(hidden.size());
  DeviceBuffer<float> d_weight_dev(d_weight0);
  DeviceBuffer<unsigned char> workspace(lm_head_cross_entropy_workspace_bytes<T>(s, true));
  DeviceBuffer<float> loss(1);
  BlasContext ctx;
  lm_head_cross_entropy<T>(ctx, s, hidden_dev.data(), weight_dev.data(), targets_dev.data(),
                           grad_scale, d_hidden_dev.data(), d_weight_dev.data(), workspace.data(),
                           loss.data());
  check_cuda(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  return {loss.download()[0], testing::to_double(d_hidden_dev.download()),
          testing::to_double(d_weight_dev.download())};
}

template <class T>
void check_cross_entropy(const LmHeadShape& s, std::uint32_t seed) {
  const auto hidden = testing::to_storage<T>(testing::random_floats(s.tokens * s.hidden, seed));
  const auto weight = testing::to_storage<T>(testing::random_floats(s.vocab * s.hidden, seed + 1));
  const std::vector<float> d_weight0 = testing::random_floats(s.vocab * s.hidden, seed + 2);
  std::vector<std::int32_t> targets(s.tokens);
  for (int t = 0; t < s.tokens; ++t)
    targets[t] = t % 5 == 3 ? kIgnoreIndex : (t * 37 + 11) % s.vocab;
  const float grad_scale = 0.75f;
  const GpuResult gpu = run<T>(s, hidden, weight, targets, d_weight0, grad_scale);
  reference::CrossEntropyResult expected =
      reference::lm_head_cross_entropy(s.tokens, s.hidden, s.vocab, testing::to_double(hidden),
                                       testing::to_double(weight), targets, grad_scale);
  for (std::size_t i = 0; i < d_weight0.size(); ++i) expected.d_head_weight[i] += d_weight0[i];
  INFO("tokens=" << s.tokens << " hidden=" << s.hidden << " vocab=" << s.vocab
                 << " chunk=" << s.chunk);
  CHECK(gpu.loss == Approx(expected.loss).epsilon(1e-5));
  const double tolerance = testing::storage_tolerance<T>(1e-4);
  CHECK(testing::normalized_error(gpu.d_hidden, expected.d_hidden) <= tolerance);
  CHECK(testing::normalized_error(gpu.d_head_weight, expected.d_head_weight) <= tolerance);
}

}  // namespace

GALORE_GPU_TEST_CASE("LM head cross-entropy matches the reference", "[cuda][cross_entropy]") {
  check_cross_entropy<float>({37, 64, 300, 16}, 1);
  check_cross_entropy<float>({8, 32, 1000, 64}, 2);  // one chunk larger than the batch
  check_cross_entropy<Bf16Word>({37, 64, 300, 16}, 3);
}

GALORE_GPU_TEST_CASE("cross-entropy without counted targets is 0, with a bad target NaN",
                     "[cuda][cross_entropy]") {
  const LmHeadShape s{6, 16, 50, 4};
  const auto hidden = testing::random_floats(s.tokens * s.hidden, 7);
  const auto weight = testing::random_floats(s.vocab * s.hidden, 8);
  const std::vector<float> d_weight0(s.vocab * s.hidden, 0.0f);
  const GpuResult none =
      run<float>(s, hidden, weight, std::vector<std::int32_t>(6, kIgnoreIndex), d_weight0, 1.0f);
  CHECK(none.loss == 0.0f);
  CHECK(testing::max_abs(none.d_hidden) == 0.0);
  CHECK(testing::max_abs(none.d_head_weight) == 0.0);
  const GpuResult bad =
      run<float>(s, hidden, weight, {1, 2, 50, 3, kIgnoreIndex, 4}, d_weight0, 1.0f);
  CHECK(std::isnan(bad.loss));
}
