// GPU: cuBLASLt / cuBLAS GEMM against the double reference. Every transpose combination, fp32
// and bf16 outputs, a residual add (C != D), in place, strided batches, padded and odd leading
// dimensions, device-side alpha/beta. Padding is NaN: reading it would poison the result, and it
// must still be NaN afterwards. Tolerances (max error / max |reference|): 1e-5 for fp32 results
// (fp32 accumulation of short sums), 2^-7 for bf16 results (one bf16 rounding).
#include "kernels/cuda/device_buffer.hpp"
#include "kernels/cuda/gemm.hpp"
#include "tests/cuda/gpu_test_case.hpp"
#include "tests/cuda/reference/gemm.hpp"
#include "tests/cuda/test_data.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

using namespace galore::kernels::cuda;
namespace testing = galore::kernels::cuda::testing;

namespace {

struct Stored {
  int rows;
  int cols;
  int ld;
};

int round_up(int x, int multiple) { return (x + multiple - 1) / multiple * multiple; }

// The stored (pre-op) shape of an operand whose op() is rows x cols; ld rounded up to `align`
// elements after `pad` extra ones.
Stored stored(Op op, int rows, int cols, int pad, int align) {
  const int r = op == Op::N ? rows : cols;
  const int c = op == Op::N ? cols : rows;
  return {r, c, round_up(c + pad, align)};
}

std::int64_t batch_stride(const Stored& s, int batch) {
  return batch > 1 ? static_cast<std::int64_t>(s.rows) * s.ld + 16 : 0;  // gaps between entries
}

std::size_t storage_size(const Stored& s, int batch, std::int64_t stride) {
  return static_cast<std::size_t>(stride * (batch - 1) + static_cast<std::int64_t>(s.rows) * s.ld);
}

bool in_matrix(const Stored& s, int batch, std::int64_t stride, std::size_t at) {
  for (int b = 0; b < batch; ++b) {
    const std::int64_t offset = static_cast<std::int64_t>(at) - b * stride;
    if (offset >= 0 && offset < static_cast<std::int64_t>(s.rows) * s.ld &&
        offset % s.ld < s.cols) {
      return true;
    }
  }
  return false;
}

// Random values inside every batch entry, NaN everywhere else.
std::vector<float> random_matrix(const Stored& s, int batch, std::int64_t stride,
                                 std::uint32_t seed) {
  std::vector<float> x(storage_size(s, batch, stride), std::numeric_limits<float>::quiet_NaN());
  const std::vector<float> values = testing::random_floats(x.size(), seed);
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (in_matrix(s, batch, stride, i)) x[i] = values[i];
  }
  return x;
}

template <class T>
std::vector<double> batch_entry(const std::vector<T>& x, const Stored& s, std::int64_t stride,
                                int b) {
  std::vector<double> out(static_cast<std::size_t>(s.rows) * s.ld, 0.0);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::size_t at = static_cast<std::size_t>(b * stride) + i;
    if (static_cast<int>(i % s.ld) < s.cols) out[i] = static_cast<double>(to_float(x[at]));
  }
  return out;
}

struct Case {
  Op op_a;
  Op op_b;
  int m, n, k, batch;
  int pad, align;
  float alpha, beta;
  bool in_place;
};

// Runs one bf16 x bf16 -> Out problem and compares every batch entry with the reference.
template <class Out>
void check_bf16_gemm(const Case& c, std::uint32_t seed) {
  const Stored sa = stored(c.op_a, c.m, c.k, c.pad, c.align);
  const Stored sb = stored(c.op_b, c.k, c.n, c.pad, c.align);
  const Stored sc{c.m, c.n, round_up(c.n + c.pad, c.align)};
  const std::int64_t stride_a = batch_stride(sa, c.batch);
  const std::int64_t stride_b = batch_stride(sb, c.batch);
  const std::int64_t stride_c = batch_stride(sc, c.batch);
  const auto a = testing::to_storage<Bf16Word>(random_matrix(sa, c.batch, stride_a, seed));
  const auto b = testing::to_storage<Bf16Word>(random_matrix(sb, c.batch, stride_b, seed + 1));
  const auto c0 = testing::to_storage<Out>(random_matrix(sc, c.batch, stride_c, seed + 2));
  const std::vector<Out> d0(c0.size(), from_float<Out>(std::numeric_limits<float>::quiet_NaN()));

  DeviceBuffer<Bf16Word> a_dev(a);
  DeviceBuffer<Bf16Word> b_dev(b);
  DeviceBuffer<Out> c_dev(c0);
  DeviceBuffer<Out> d_dev(c.in_place ? c0 : d0);
  BlasContext ctx;
  const GemmShape shape{c.op_a, c.op_b, c.m, c.n, c.k, c.batch};
  Out* d_ptr = c.in_place ? c_dev.data() : d_dev.data();
  gemm(ctx, shape, c.alpha, {a_dev.data(), sa.ld, stride_a}, {b_dev.data(), sb.ld, stride_b},
       c.beta, {c_dev.data(), sc.ld, stride_c}, {d_ptr, sc.ld, stride_c});
  check_cuda(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  const std::vector<Out> d = c.in_place ? c_dev.download() : d_dev.download();

  for (int batch = 0; batch < c.batch; ++batch) {
    std::vector<double> expected = batch_entry(c0, sc, stride_c, batch);
    reference::gemm(c.op_a, c.op_b, c.m, c.n, c.k, c.alpha, batch_entry(a, sa, stride_a, batch),
                    sa.ld, batch_entry(b, sb, stride_b, batch), sb.ld, c.beta, expected, sc.ld);
    INFO("batch entry " << batch << " m=" << c.m << " n=" << c.n << " k=" << c.k);
    CHECK(testing::normalized_error(batch_entry(d, sc, stride_c, batch), expected) <=
          testing::storage_tolerance<Out>(1e-5));
  }
  for (std::size_t i = 0; i < d.size(); ++i) {
    if (!in_matrix(sc, c.batch, stride_c, i)) REQUIRE(std::isnan(to_float(d[i])));
  }
}

}  // namespace

GALORE_GPU_TEST_CASE("bf16 GEMM with fp32 output, every transpose combination", "[cuda][gemm]") {
  for (const Op op_a : {Op::N, Op::T}) {
    for (const Op op_b : {Op::N, Op::T}) {
      check_bf16_gemm<float>({op_a, op_b, 37, 45, 29, 1, 8, 8, 1.0f, 0.0f, false}, 100);
      check_bf16_gemm<float>({op_a, op_b, 128, 96, 64, 1, 0, 8, 0.5f, 0.0f, false}, 110);
    }
  }
}

GALORE_GPU_TEST_CASE("bf16 GEMM with bf16 output and a residual add (C != D)", "[cuda][gemm]") {
  for (const Op op_a : {Op::N, Op::T}) {
    for (const Op op_b : {Op::N, Op::T}) {
      check_bf16_gemm<Bf16Word>({op_a, op_b, 40, 48, 72, 1, 8, 8, 1.0f, 1.0f, false}, 200);
    }
  }
}

GALORE_GPU_TEST_CASE("bf16 GEMM in place with beta = 1 accumulates weight gradients",
                     "[cuda][gemm]") {
  check_bf16_gemm<float>({Op::T, Op::N, 64, 40, 33, 1, 8, 8, 1.0f, 1.0f, true}, 300);
  check_bf16_gemm<Bf16Word>({Op::N, Op::T, 24, 56, 80, 1, 0, 8, -0.5f, 0.75f, true}, 310);
}

GALORE_GPU_TEST_CASE("strided-batched bf16 GEMM (attention heads)", "[cuda][gemm]") {
  check_bf16_gemm<float>({Op::N, Op::T, 32, 32, 64, 3, 0, 8, 0.125f, 0.0f, false}, 400);
  check_bf16_gemm<Bf16Word>({Op::N, Op::N, 32, 64, 32, 4, 8, 8, 1.0f, 0.0f, false}, 410);
}

GALORE_GPU_TEST_CASE("bf16 GEMM with odd leading dimensions (2-byte aligned rows)",
                     "[cuda][gemm][odd_ld]") {
  check_bf16_gemm<float>({Op::N, Op::N, 13, 17, 11, 1, 1, 1, 1.0f, 0.0f, false}, 500);
  check_bf16_gemm<Bf16Word>({Op::T, Op::T, 9, 7, 5, 2, 3, 1, 1.0f, 0.5f, false}, 510);
}

GALORE_GPU_TEST_CASE("fp32 GEMM through cuBLAS, every transpose, single and batched",
                     "[cuda][gemm]") {
  for (const Op op_a : {Op::N, Op::T}) {
    for (const Op op_b : {Op::N, Op::T}) {
      for (const int batch : {1, 3}) {
        const Stored sa = stored(op_a, 21, 19, 2, 1);
        const Stored sb = stored(op_b, 19, 23, 2, 1);
        const Stored sc{21, 23, 25};
        const std::int64_t stride_a = batch_stride(sa, batch);
        const std::int64_t stride_b = batch_stride(sb, batch);
        const std::int64_t stride_c = batch_stride(sc, batch);
        const std::vector<float> a = random_matrix(sa, batch, stride_a, 600);
        const std::vector<float> b = random_matrix(sb, batch, stride_b, 601);
        const std::vector<float> c0 = random_matrix(sc, batch, stride_c, 602);
        DeviceBuffer<float> a_dev(a);
        DeviceBuffer<float> b_dev(b);
        DeviceBuffer<float> c_dev(c0);
        BlasContext ctx;
        gemm(ctx, GemmShape{op_a, op_b, 21, 23, 19, batch}, 1.5f, {a_dev.data(), sa.ld, stride_a},
             {b_dev.data(), sb.ld, stride_b}, -0.5f, {c_dev.data(), sc.ld, stride_c});
        check_cuda(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
        const std::vector<float> c = c_dev.download();
        for (int e = 0; e < batch; ++e) {
          std::vector<double> expected = batch_entry(c0, sc, stride_c, e);
          reference::gemm(op_a, op_b, 21, 23, 19, 1.5, batch_entry(a, sa, stride_a, e), sa.ld,
                          batch_entry(b, sb, stride_b, e), sb.ld, -0.5, expected, sc.ld);
          CHECK(testing::normalized_error(batch_entry(c, sc, stride_c, e), expected) <= 1e-5);
        }
      }
    }
  }
}

GALORE_GPU_TEST_CASE("GEMM with alpha and beta in device memory", "[cuda][gemm]") {
  for (const float beta : {0.25f, 1.0f}) {
    const int m = 16;
    const int n = 24;
    const int k = 8;
    const std::vector<float> a = testing::random_floats(m * k, 700);
    const std::vector<float> b = testing::random_floats(k * n, 701);
    const std::vector<float> c0 = testing::random_floats(m * n, 702);
    DeviceBuffer<float> a_dev(a);
    DeviceBuffer<float> b_dev(b);
    DeviceBuffer<float> c_dev(c0);
    DeviceBuffer<float> scalars(std::vector<float>{-2.0f, beta});
    BlasContext ctx;
    gemm_device_scalars<float>(ctx, GemmShape{Op::N, Op::N, m, n, k, 1}, scalars.data(),
                               {a_dev.data(), k, 0}, {b_dev.data(), n, 0}, {c_dev.data(), n, 0},
                               {c_dev.data(), n, 0});
    check_cuda(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
    std::vector<double> expected = testing::to_double(c0);
    reference::gemm(Op::N, Op::N, m, n, k, -2.0, testing::to_double(a), k, testing::to_double(b), n,
                    beta, expected, n);
    CHECK(testing::normalized_error(c_dev.download(), expected) <= 1e-5);
  }
}

GALORE_GPU_TEST_CASE("GEMM rejects inconsistent shapes before launching", "[cuda][gemm]") {
  DeviceBuffer<Bf16Word> a(64);
  DeviceBuffer<float> c(64);
  BlasContext ctx;
  // A is 4 x 8 (op N) but its ld is 4.
  CHECK_THROWS_AS(gemm(ctx, GemmShape{Op::N, Op::N, 4, 4, 8, 1}, 1.0f, {a.data(), 4, 0},
                       {a.data(), 4, 0}, 0.0f, {c.data(), 4, 0}, {c.data(), 4, 0}),
                  std::invalid_argument);
  CHECK_THROWS_AS(gemm(ctx, GemmShape{Op::N, Op::N, 0, 4, 4, 1}, 1.0f, {a.data(), 4, 0},
                       {a.data(), 4, 0}, 0.0f, {c.data(), 4, 0}, {c.data(), 4, 0}),
                  std::invalid_argument);
}
