// GPU: fused attention forward and backward (RoPE in the prologue) against the double
// reference, for float and bf16 storage, head_dim 64 and 128, sequence lengths that are not
// multiples of the 32-position tile, RoPE on and off, and q/k/v inside a fused [tokens, 3 width]
// projection. Tolerances (max error / max |reference|): 1e-4 with fp32 storage (fp32 sums over
// up to 70 positions), 2^-7 with bf16 storage (one bf16 rounding of each stored result); lse
// within 1e-4 absolute (it is fp32 in both cases).
#include "kernels/cuda/attention.hpp"
#include "kernels/cuda/device_buffer.hpp"
#include "tests/cuda/gpu_test_case.hpp"
#include "tests/cuda/reference/attention.hpp"
#include "tests/cuda/test_data.hpp"

#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <vector>

using namespace galore::kernels::cuda;
namespace testing = galore::kernels::cuda::testing;

namespace {

// The [tokens, width] block at column `offset` of a [tokens, ld] matrix.
template <class T>
std::vector<T> columns(const std::vector<T>& x, std::size_t tokens, int ld, int offset, int width) {
  std::vector<T> out(tokens * width);
  for (std::size_t t = 0; t < tokens; ++t) {
    for (int c = 0; c < width; ++c) out[t * width + c] = x[t * ld + offset + c];
  }
  return out;
}

// Forward and backward of one configuration. q, k, v are the three column blocks of one
// [tokens, 3 width] buffer when `fused`, separate dense buffers otherwise.
template <class T>
void check_attention(const AttentionShape& s, bool fused, std::uint32_t seed) {
  const std::size_t tokens = static_cast<std::size_t>(s.batch) * s.seq;
  const int width = s.heads * s.head_dim;
  const int ld_qkv = fused ? 3 * width : width;
  const std::size_t n = tokens * width;
  const auto qkv = testing::to_storage<T>(testing::random_floats(tokens * 3 * width, seed));
  const auto q = columns(qkv, tokens, 3 * width, 0, width);
  const auto k = columns(qkv, tokens, 3 * width, width, width);
  const auto v = columns(qkv, tokens, 3 * width, 2 * width, width);
  const auto d_out = testing::to_storage<T>(testing::random_floats(n, seed + 1));

  DeviceBuffer<T> qkv_dev(qkv);
  DeviceBuffer<T> q_dev(q);
  DeviceBuffer<T> k_dev(k);
  DeviceBuffer<T> v_dev(v);
  const T* q_ptr = fused ? qkv_dev.data() : q_dev.data();
  const T* k_ptr = fused ? qkv_dev.data() + width : k_dev.data();
  const T* v_ptr = fused ? qkv_dev.data() + 2 * width : v_dev.data();
  DeviceBuffer<T> out_dev(n);
  DeviceBuffer<float> lse_dev(static_cast<std::size_t>(s.batch) * s.heads * s.seq);
  attention_forward<T>(s, q_ptr, k_ptr, v_ptr, ld_qkv, out_dev.data(), width, lse_dev.data(),
                       nullptr);
  check_cuda(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  const std::vector<T> out = out_dev.download();
  const std::vector<float> lse = lse_dev.download();

  std::vector<double> out_ref;
  std::vector<double> lse_ref;
  reference::attention_forward(s, testing::to_double(q), testing::to_double(k),
                               testing::to_double(v), out_ref, lse_ref);
  INFO("batch=" << s.batch << " seq=" << s.seq << " heads=" << s.heads << " head_dim=" << s.head_dim
                << " theta=" << s.rope_theta << " fused=" << fused);
  CHECK(testing::normalized_error(out, out_ref) <= testing::storage_tolerance<T>(1e-4));
  double lse_error = 0.0;
  for (std::size_t i = 0; i < lse.size(); ++i) {
    lse_error = std::fmax(lse_error, std::fabs(lse[i] - lse_ref[i]));
  }
  CHECK(lse_error <= 1e-4);

  // Backward into a fused [tokens, 3 width] gradient buffer (ld_grad = 3 width) or dense ones.
  const int ld_grad = fused ? 3 * width : width;
  DeviceBuffer<T> d_out_dev(d_out);
  DeviceBuffer<T> grads(tokens * 3 * width);
  grads.fill_zero();
  T* dq = grads.data();
  T* dk = fused ? grads.data() + width : grads.data() + n;
  T* dv = fused ? grads.data() + 2 * width : grads.data() + 2 * n;
  DeviceBuffer<float> row_term(lse.size());
  attention_backward<T>(s, q_ptr, k_ptr, v_ptr, ld_qkv, out_dev.data(), d_out_dev.data(), width,
                        lse_dev.data(), dq, dk, dv, ld_grad, row_term.data(), nullptr);
  check_cuda(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  const std::vector<T> g = grads.download();
  const reference::AttentionGradients expected = reference::attention_backward(
      s, testing::to_double(q), testing::to_double(k), testing::to_double(v),
      testing::to_double(out), testing::to_double(d_out));
  auto gradient = [&](int which) {
    if (fused) return columns(g, tokens, 3 * width, which * width, width);
    return std::vector<T>(g.begin() + which * n, g.begin() + (which + 1) * n);
  };
  const double tolerance = testing::storage_tolerance<T>(1e-4);
  CHECK(testing::normalized_error(gradient(0), expected.dq) <= tolerance);
  CHECK(testing::normalized_error(gradient(1), expected.dk) <= tolerance);
  CHECK(testing::normalized_error(gradient(2), expected.dv) <= tolerance);
}

}  // namespace

GALORE_GPU_TEST_CASE("attention with fp32 storage matches the reference", "[cuda][attention]") {
  check_attention<float>({2, 45, 3, 64, 10000.0f}, false, 10);
  check_attention<float>({1, 70, 2, 128, 10000.0f}, true, 20);
  check_attention<float>({2, 33, 2, 64, 0.0f}, true, 30);
  check_attention<float>({3, 1, 2, 64, 500000.0f}, false, 40);  // one position per sequence
}

GALORE_GPU_TEST_CASE("attention with bf16 storage matches the reference", "[cuda][attention]") {
  check_attention<Bf16Word>({2, 45, 3, 64, 10000.0f}, true, 50);
  check_attention<Bf16Word>({1, 96, 2, 128, 10000.0f}, false, 60);
}

GALORE_GPU_TEST_CASE("attention is deterministic and rejects unsupported head_dim",
                     "[cuda][attention]") {
  const AttentionShape s{1, 40, 2, 64, 10000.0f};
  const std::size_t n = 40 * 128;
  DeviceBuffer<float> q(testing::random_floats(n, 70));
  DeviceBuffer<float> k(testing::random_floats(n, 71));
  DeviceBuffer<float> v(testing::random_floats(n, 72));
  DeviceBuffer<float> d_out(testing::random_floats(n, 73));
  DeviceBuffer<float> out(n);
  DeviceBuffer<float> lse(80);
  DeviceBuffer<float> row_term(80);
  DeviceBuffer<float> grads_a(3 * n);
  DeviceBuffer<float> grads_b(3 * n);
  attention_forward<float>(s, q.data(), k.data(), v.data(), 128, out.data(), 128, lse.data(),
                           nullptr);
  for (DeviceBuffer<float>* g : {&grads_a, &grads_b}) {
    attention_backward<float>(s, q.data(), k.data(), v.data(), 128, out.data(), d_out.data(), 128,
                              lse.data(), g->data(), g->data() + n, g->data() + 2 * n, 128,
                              row_term.data(), nullptr);
  }
  check_cuda(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  CHECK(grads_a.download() == grads_b.download());  // no atomics: bitwise the same

  const AttentionShape odd{1, 40, 2, 96, 10000.0f};
  CHECK_FALSE(attention_supports(96));
  CHECK_THROWS_AS(attention_forward<float>(odd, q.data(), k.data(), v.data(), 192, out.data(), 192,
                                           lse.data(), nullptr),
                  std::invalid_argument);
}
