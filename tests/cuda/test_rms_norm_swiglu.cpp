// GPU: fused RMSNorm and SwiGLU, forward and backward, against the double references, for float
// and bf16 storage. Row lengths are not multiples of the block size; SwiGLU reads gate and up as
// the two halves of one fused projection and writes d_up over d_out (the model does). Tolerances
// (max error / max |reference|): 1e-5 fp32, 2^-7 bf16.
#include "kernels/cuda/device_buffer.hpp"
#include "kernels/cuda/rms_norm.hpp"
#include "kernels/cuda/swiglu.hpp"
#include "tests/cuda/gpu_test_case.hpp"
#include "tests/cuda/reference/rms_norm.hpp"
#include "tests/cuda/reference/swiglu.hpp"
#include "tests/cuda/test_data.hpp"

#include <cstddef>
#include <vector>

using namespace galore::kernels::cuda;
namespace testing = galore::kernels::cuda::testing;

namespace {

template <class T>
void check_rms_norm(int rows, int n, std::uint32_t seed) {
  const float eps = 1e-5f;
  const auto x = testing::to_storage<T>(testing::random_floats(rows * n, seed));
  const auto w = testing::to_storage<T>(testing::random_floats(n, seed + 1, 0.5f, 1.5f));
  const auto dy = testing::to_storage<T>(testing::random_floats(rows * n, seed + 2));
  const auto dx0 = testing::to_storage<T>(testing::random_floats(rows * n, seed + 3));
  const auto dw0 = testing::random_floats(n, seed + 4);
  DeviceBuffer<T> x_dev(x);
  DeviceBuffer<T> w_dev(w);
  DeviceBuffer<T> y_dev(x.size());
  DeviceBuffer<float> rstd_dev(rows);
  DeviceBuffer<T> dy_dev(dy);
  DeviceBuffer<T> dx_dev(dx0);
  DeviceBuffer<float> dw_dev(dw0);
  rms_norm_forward<T>(rows, n, eps, x_dev.data(), w_dev.data(), y_dev.data(), rstd_dev.data(),
                      nullptr);
  rms_norm_backward<T>(rows, n, x_dev.data(), w_dev.data(), rstd_dev.data(), dy_dev.data(),
                       dx_dev.data(), dw_dev.data(), nullptr);
  check_cuda(cudaDeviceSynchronize(), "cudaDeviceSynchronize");

  std::vector<double> y_ref;
  std::vector<double> rstd_ref;
  reference::rms_norm_forward(rows, n, eps, testing::to_double(x), testing::to_double(w), y_ref,
                              rstd_ref);
  std::vector<double> dx_ref = testing::to_double(dx0);
  std::vector<double> dw_ref = testing::to_double(dw0);
  reference::rms_norm_backward(rows, n, testing::to_double(x), testing::to_double(w), rstd_ref,
                               testing::to_double(dy), dx_ref, dw_ref);
  INFO("rows=" << rows << " n=" << n);
  CHECK(testing::normalized_error(y_dev.download(), y_ref) <= testing::storage_tolerance<T>(1e-5));
  CHECK(testing::normalized_error(rstd_dev.download(), rstd_ref) <= 1e-5);
  CHECK(testing::normalized_error(dx_dev.download(), dx_ref) <=
        testing::storage_tolerance<T>(1e-5));
  CHECK(testing::normalized_error(dw_dev.download(), dw_ref) <= 1e-5);
}

template <class T>
void check_swiglu(int rows, int cols, std::uint32_t seed) {
  const int ld = 2 * cols;  // [gate | up] of one fused projection
  const auto gate_up = testing::to_storage<T>(testing::random_floats(rows * ld, seed, -4.0f, 4.0f));
  const auto d_out = testing::to_storage<T>(testing::random_floats(rows * cols, seed + 1));
  DeviceBuffer<T> gate_up_dev(gate_up);
  DeviceBuffer<T> out_dev(static_cast<std::size_t>(rows) * cols);
  swiglu_forward<T>(rows, cols, gate_up_dev.data(), gate_up_dev.data() + cols, ld, out_dev.data(),
                    cols, nullptr);
  // d_up is written over d_out: both have ld = cols, in one dense buffer.
  DeviceBuffer<T> d_out_dev(d_out);
  DeviceBuffer<T> d_gate_dev(d_out.size());
  swiglu_backward<T>(rows, cols, gate_up_dev.data(), gate_up_dev.data() + cols, ld,
                     d_out_dev.data(), cols, d_gate_dev.data(), d_out_dev.data(), nullptr);
  check_cuda(cudaDeviceSynchronize(), "cudaDeviceSynchronize");

  std::vector<double> gate(static_cast<std::size_t>(rows) * cols);
  std::vector<double> up(gate.size());
  for (int i = 0; i < rows; ++i) {
    for (int j = 0; j < cols; ++j) {
      gate[static_cast<std::size_t>(i) * cols + j] =
          to_float(gate_up[static_cast<std::size_t>(i) * ld + j]);
      up[static_cast<std::size_t>(i) * cols + j] =
          to_float(gate_up[static_cast<std::size_t>(i) * ld + cols + j]);
    }
  }
  std::vector<double> d_gate_ref;
  std::vector<double> d_up_ref;
  reference::swiglu_backward(gate, up, testing::to_double(d_out), d_gate_ref, d_up_ref);
  const double tolerance = testing::storage_tolerance<T>(1e-5);
  CHECK(testing::normalized_error(out_dev.download(), reference::swiglu_forward(gate, up)) <=
        tolerance);
  CHECK(testing::normalized_error(d_gate_dev.download(), d_gate_ref) <= tolerance);
  CHECK(testing::normalized_error(d_out_dev.download(), d_up_ref) <= tolerance);
}

}  // namespace

GALORE_GPU_TEST_CASE("RMSNorm forward and backward match the reference", "[cuda][rms_norm]") {
  check_rms_norm<float>(37, 300, 1);
  check_rms_norm<float>(5, 4096, 2);
  check_rms_norm<Bf16Word>(37, 300, 3);
}

GALORE_GPU_TEST_CASE("SwiGLU forward and backward match the reference", "[cuda][swiglu]") {
  check_swiglu<float>(19, 75, 4);
  check_swiglu<Bf16Word>(19, 75, 5);
}
