// GPU: the fused 8-bit Adam kernel against its bit-exact host mirror. Three steps with fresh
// gradients, block sizes 256 and 2048 with a partial last block, direction in fp32 and bf16,
// the full-rank weight update in fp32 and bf16: codes, absmax, directions and weights must be
// identical. A set skip flag leaves everything untouched.
#include "kernels/cuda/adam8bit.hpp"
#include "kernels/cuda/device_buffer.hpp"
#include "tests/cuda/gpu_test_case.hpp"
#include "tests/cuda/reference/adam8bit.hpp"
#include "tests/cuda/test_data.hpp"

#include <cstdint>
#include <vector>

using namespace galore::kernels::cuda;
namespace testing = galore::kernels::cuda::testing;

namespace {

struct DeviceState {
  DeviceBuffer<std::uint8_t> codes;
  DeviceBuffer<float> absmax;
  QuantizedState view() { return {codes.data(), absmax.data()}; }
  reference::HostQuantizedState download() const { return {codes.download(), absmax.download()}; }
};

DeviceState device_state(std::int64_t n, int block_size) {
  return {DeviceBuffer<std::uint8_t>(n), DeviceBuffer<float>((n + block_size - 1) / block_size)};
}

const Adam8bitStep kStep{0.9f, 0.999f, 1e-6f, 1e-3f, 0.01f, 1};

template <class T>
void check_direction(std::int64_t n, int block_size) {
  DeviceState m = device_state(n, block_size);
  DeviceState v = device_state(n, block_size);
  adam8bit_init_state(n, block_size, m.view(), v.view(), nullptr);
  reference::HostQuantizedState m_ref = reference::fresh_state(n, block_size, true);
  reference::HostQuantizedState v_ref = reference::fresh_state(n, block_size, false);
  DeviceBuffer<float> grad(n);
  DeviceBuffer<T> direction(n);
  Adam8bitStep step = kStep;
  for (int t = 1; t <= 3; ++t) {
    step.step = t;
    const std::vector<float> g = testing::random_floats(n, 100 + t, -2.0f, 2.0f);
    grad.upload(g);
    adam8bit_direction<T>(n, block_size, step, grad.data(), m.view(), v.view(), direction.data(),
                          nullptr, nullptr);
    check_cuda(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
    const std::vector<float> expected =
        reference::adam8bit_direction(block_size, step, g, m_ref, v_ref);
    INFO("n=" << n << " block=" << block_size << " step " << t);
    CHECK(direction.download() == testing::to_storage<T>(expected));
    const reference::HostQuantizedState m_gpu = m.download();
    const reference::HostQuantizedState v_gpu = v.download();
    CHECK(m_gpu.codes == m_ref.codes);
    CHECK(m_gpu.absmax == m_ref.absmax);
    CHECK(v_gpu.codes == v_ref.codes);
    CHECK(v_gpu.absmax == v_ref.absmax);
  }
}

template <class T>
void check_update(std::int64_t n, int block_size) {
  DeviceState m = device_state(n, block_size);
  DeviceState v = device_state(n, block_size);
  adam8bit_init_state(n, block_size, m.view(), v.view(), nullptr);
  reference::HostQuantizedState m_ref = reference::fresh_state(n, block_size, true);
  reference::HostQuantizedState v_ref = reference::fresh_state(n, block_size, false);
  std::vector<T> w_ref = testing::to_storage<T>(testing::random_floats(n, 200));
  DeviceBuffer<T> weight(w_ref);
  DeviceBuffer<float> grad(n);
  Adam8bitStep step = kStep;
  for (int t = 1; t <= 3; ++t) {
    step.step = t;
    const std::vector<float> g = testing::random_floats(n, 210 + t);
    grad.upload(g);
    adam8bit_update<T>(n, block_size, step, grad.data(), m.view(), v.view(), weight.data(), nullptr,
                       nullptr);
    reference::adam8bit_update<T>(block_size, step, g, m_ref, v_ref, w_ref);
  }
  check_cuda(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  CHECK(weight.download() == w_ref);
  CHECK(m.download().codes == m_ref.codes);
  CHECK(v.download().absmax == v_ref.absmax);
}

}  // namespace

GALORE_GPU_TEST_CASE("8-bit Adam direction is bitwise the host mirror", "[cuda][adam8bit]") {
  check_direction<float>(5000, 2048);
  check_direction<float>(1000, 256);
  check_direction<Bf16Word>(3000, 2048);
  check_direction<float>(4096 + 7, 4096);
}

GALORE_GPU_TEST_CASE("8-bit Adam full-rank update is bitwise the host mirror", "[cuda][adam8bit]") {
  check_update<float>(5000, 2048);
  check_update<Bf16Word>(5000, 256);
}

GALORE_GPU_TEST_CASE("8-bit Adam leaves state and weights untouched when skipped",
                     "[cuda][adam8bit]") {
  const std::int64_t n = 700;
  const int block_size = 256;
  DeviceState m = device_state(n, block_size);
  DeviceState v = device_state(n, block_size);
  adam8bit_init_state(n, block_size, m.view(), v.view(), nullptr);
  DeviceBuffer<float> grad(testing::random_floats(n, 300));
  DeviceBuffer<float> weight(testing::random_floats(n, 301));
  DeviceBuffer<int> skip(std::vector<int>{0});
  adam8bit_update<float>(n, block_size, kStep, grad.data(), m.view(), v.view(), weight.data(),
                         skip.data(), nullptr);  // one real step so the state is not all zero
  check_cuda(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  const reference::HostQuantizedState m_before = m.download();
  const std::vector<float> w_before = weight.download();
  skip.upload({1});
  DeviceBuffer<float> direction(testing::random_floats(n, 302));
  Adam8bitStep step = kStep;
  step.step = 2;
  adam8bit_update<float>(n, block_size, step, grad.data(), m.view(), v.view(), weight.data(),
                         skip.data(), nullptr);
  adam8bit_direction<float>(n, block_size, step, grad.data(), m.view(), v.view(), direction.data(),
                            skip.data(), nullptr);
  check_cuda(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  CHECK(weight.download() == w_before);
  CHECK(m.download().codes == m_before.codes);
  CHECK(m.download().absmax == m_before.absmax);
  CHECK(testing::max_abs(testing::to_double(direction.download())) == 0.0);
}
