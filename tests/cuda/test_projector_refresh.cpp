// GPU: the cuSOLVER projector refresh recovers the top-rank singular subspace of a gradient built
// with a known SVD (G = U diag(s) V^T, a clear gap after the rank), for both methods, both sides,
// tall and wide shapes, fp32 and bf16 projectors; a NaN gradient is rejected without touching the
// projector. Subspaces are compared through their projection matrices (signs and rotations inside
// the subspace are arbitrary): max |P P^T - U_r U_r^T| <= 1e-4 for fp32 projectors, 1e-2 for bf16
// (entries rounded to 8 bits).
#include "kernels/cuda/device_buffer.hpp"
#include "kernels/cuda/projector_refresh.hpp"
#include "tests/cuda/gpu_test_case.hpp"
#include "tests/cuda/test_data.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

using namespace galore::kernels::cuda;
namespace testing = galore::kernels::cuda::testing;

namespace {

// Column-orthonormal [rows x cols] matrix (row-major) by modified Gram-Schmidt in double.
std::vector<double> orthonormal_columns(int rows, int cols, std::uint32_t seed) {
  std::vector<double> q =
      testing::to_double(testing::random_floats(static_cast<std::size_t>(rows) * cols, seed));
  for (int j = 0; j < cols; ++j) {
    for (int p = 0; p < j; ++p) {
      double dot = 0.0;
      for (int i = 0; i < rows; ++i) dot += q[i * cols + j] * q[i * cols + p];
      for (int i = 0; i < rows; ++i) q[i * cols + j] -= dot * q[i * cols + p];
    }
    double norm = 0.0;
    for (int i = 0; i < rows; ++i) norm += q[i * cols + j] * q[i * cols + j];
    for (int i = 0; i < rows; ++i) q[i * cols + j] /= std::sqrt(norm);
  }
  return q;
}

struct KnownSvd {
  std::vector<float> g;   // [rows x cols]
  std::vector<double> u;  // [rows x k]
  std::vector<double> v;  // [cols x k]
  int k;
};

// Singular values 100, 80, 60, ... for the first `rank`, then 1, 0.9, ... : a gap of 40x.
KnownSvd known_svd(int rows, int cols, int rank, std::uint32_t seed) {
  KnownSvd s;
  s.k = std::min(rows, cols);
  s.u = orthonormal_columns(rows, s.k, seed);
  s.v = orthonormal_columns(cols, s.k, seed + 1);
  s.g.assign(static_cast<std::size_t>(rows) * cols, 0.0f);
  for (int i = 0; i < rows; ++i) {
    for (int j = 0; j < cols; ++j) {
      double sum = 0.0;
      for (int t = 0; t < s.k; ++t) {
        const double sigma = t < rank ? 100.0 - 20.0 * t : 1.0 / (1.0 + 0.1 * (t - rank));
        sum += s.u[i * s.k + t] * sigma * s.v[j * s.k + t];
      }
      s.g[static_cast<std::size_t>(i) * cols + j] = static_cast<float>(sum);
    }
  }
  return s;
}

// max |B B^T - E E^T| over the basis B [dim x rank] and the expected E = first `rank` columns of
// `exact` [dim x k]; `transposed` reads B from a [rank x dim] array.
template <class T>
double subspace_error(const std::vector<T>& basis, bool transposed,
                      const std::vector<double>& exact, int dim, int k, int rank) {
  auto b = [&](int i, int j) {
    return static_cast<double>(to_float(transposed
                                            ? basis[static_cast<std::size_t>(j) * dim + i]
                                            : basis[static_cast<std::size_t>(i) * rank + j]));
  };
  double worst = 0.0;
  for (int i = 0; i < dim; ++i) {
    for (int l = 0; l < dim; ++l) {
      double got = 0.0;
      double want = 0.0;
      for (int j = 0; j < rank; ++j) {
        got += b(i, j) * b(l, j);
        want +=
            exact[static_cast<std::size_t>(i) * k + j] * exact[static_cast<std::size_t>(l) * k + j];
      }
      worst = std::fmax(worst, std::fabs(got - want));
    }
  }
  return worst;
}

template <class T>
void check_refresh(RefreshMethod method, const GaLoreShape& shape) {
  const KnownSvd svd = known_svd(shape.rows, shape.cols, shape.rank, 7);
  const bool left = shape.side == ProjectionSide::Left;
  const int dim = left ? shape.rows : shape.cols;
  DeviceBuffer<float> grad(svd.g);
  DeviceBuffer<T> projector(static_cast<std::size_t>(dim) * shape.rank);
  RefreshOptions options;
  options.method = method;
  ProjectorRefresher refresher(options);
  refresher.enqueue<T>(grad.data(), shape, projector.data(), nullptr);
  CHECK(refresher.rejected_refreshes() == 0);
  const std::vector<T> basis = projector.download();
  INFO("rows=" << shape.rows << " cols=" << shape.cols << " rank=" << shape.rank
               << (left ? " left" : " right")
               << (method == RefreshMethod::Svd ? " svd" : " randomized"));
  const double tolerance = sizeof(T) == sizeof(float) ? 1e-4 : 1e-2;
  CHECK(subspace_error(basis, !left, left ? svd.u : svd.v, dim, svd.k, shape.rank) <= tolerance);
}

}  // namespace

GALORE_GPU_TEST_CASE("projector refresh recovers the top singular subspace", "[cuda][projector]") {
  for (const RefreshMethod method : {RefreshMethod::Svd, RefreshMethod::Randomized}) {
    check_refresh<float>(method, {96, 64, 4, ProjectionSide::Left});
    check_refresh<float>(method, {96, 64, 4, ProjectionSide::Right});
    check_refresh<float>(method, {48, 80, 6, ProjectionSide::Left});
    check_refresh<float>(method, {48, 80, 6, ProjectionSide::Right});
    check_refresh<Bf16Word>(method, {80, 48, 4, ProjectionSide::Right});
  }
}

GALORE_GPU_TEST_CASE("projector refresh rejects a non-finite gradient and keeps the old basis",
                     "[cuda][projector]") {
  for (const RefreshMethod method : {RefreshMethod::Svd, RefreshMethod::Randomized}) {
    const GaLoreShape shape{40, 32, 4, ProjectionSide::Left};
    KnownSvd svd = known_svd(40, 32, 4, 9);
    svd.g[17] = std::numeric_limits<float>::quiet_NaN();
    DeviceBuffer<float> grad(svd.g);
    const std::vector<float> old(40 * 4, 7.0f);
    DeviceBuffer<float> projector(old);
    RefreshOptions options;
    options.method = method;
    ProjectorRefresher refresher(options);
    cudaStream_t consumer = nullptr;
    check_cuda(cudaStreamCreate(&consumer), "cudaStreamCreate");
    refresher.enqueue<float>(grad.data(), shape, projector.data(), consumer);
    refresher.wait(consumer);
    check_cuda(cudaStreamSynchronize(consumer), "cudaStreamSynchronize");
    CHECK(refresher.rejected_refreshes() == 1);
    CHECK(projector.download() == old);
    check_cuda(cudaStreamDestroy(consumer), "cudaStreamDestroy");
  }
}
