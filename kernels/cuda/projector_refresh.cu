// cuSOLVER projector refresh (see projector_refresh.hpp).
//
// Row-major G [m x n] is, in cuBLAS/cuSOLVER's column-major terms, A = G^T [n x m] with lda = n.
// The randomized range finder works on X whose column space is wanted: X = G = A^T for a left
// basis, X = G^T = A for a right basis; every product with X or X^T is a cublasSgemm on A with
// the matching transpose flag, so G is never copied.
#include "kernels/cuda/projector_refresh.hpp"

#include "kernels/cuda/counter_hash.cuh"
#include "kernels/cuda/cuda_check.hpp"

#include <algorithm>
#include <string>

namespace galore::kernels::cuda {

namespace {

constexpr int kThreads = 256;
constexpr std::size_t kAlignFloats = 64;  // 256-byte aligned sub-buffers

int grid_for(std::int64_t n) {
  return static_cast<int>(std::min<std::int64_t>((n + kThreads - 1) / kThreads, 65536));
}

// Standard normal values by Box-Muller, a pure function of (seed, index).
__global__ void gaussian_kernel(std::int64_t n, std::uint64_t seed, float* out) {
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    float u1;
    float u2;
    device::uniform_pair(seed, static_cast<std::uint64_t>(i), u1, u2);
    out[i] = sqrtf(-2.0f * logf(u1)) * cospif(2.0f * u2);
  }
}

// *count += number of non-finite values of x; with `copy` non-null also copy = x with every
// non-finite value replaced by 0 (a finite input keeps the solver's iteration count sane).
__global__ void scan_nonfinite_kernel(std::int64_t n, const float* x, float* copy, int* count) {
  int local = 0;
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const float value = x[i];
    const bool finite = isfinite(value);
    local += finite ? 0 : 1;
    if (copy != nullptr) copy[i] = finite ? value : 0.0f;
  }
  if (local != 0) atomicAdd(count, local);
}

// projector = the first `rank` columns of basis (column-major, ld), converted to T: P[i][j] for
// a left basis (dim = rows), Q[j][i] for a right basis (dim = cols). Skipped and counted as
// rejected when the gradient was not finite or a solver reported an error.
template <class T>
__global__ void commit_kernel(const float* basis, int ld, int dim, int rank, bool left, int* status,
                              T* projector) {
  const bool accepted = status[0] == 0 && status[1] == 0 && status[2] == 0;
  if (!accepted) {
    if (blockIdx.x == 0 && threadIdx.x == 0) status[3] += 1;
    return;
  }
  const std::int64_t total = static_cast<std::int64_t>(dim) * rank;
  for (std::int64_t e = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; e < total;
       e += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t i = e % dim;
    const std::int64_t j = e / dim;
    const std::int64_t at = left ? i * rank + j : j * dim + i;
    projector[at] = from_float<T>(basis[i + j * ld]);
  }
}

std::size_t aligned_floats(std::size_t n) {
  return (n + kAlignFloats - 1) / kAlignFloats * kAlignFloats;
}

void sgemm(cublasHandle_t handle, cublasOperation_t op_a, cublasOperation_t op_b, int m, int n,
           int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc) {
  const float one = 1.0f;
  const float zero = 0.0f;
  check_cublas(cublasSgemm(handle, op_a, op_b, m, n, k, &one, a, lda, b, ldb, &zero, c, ldc),
               "cublasSgemm (projector refresh)");
}

}  // namespace

// Offsets (in floats) into data_ and the problem's dimensions.
struct ProjectorRefresher::Plan {
  bool left = false;
  int rows = 0, cols = 0, rank = 0;
  // Randomized: X = G (left) or G^T (right) as an op of A = G^T [cols x rows].
  int rows_x = 0, cols_x = 0, sketch = 0;
  cublasOperation_t op_x = CUBLAS_OP_N;   // X = op_x(A)
  cublasOperation_t op_xt = CUBLAS_OP_N;  // X^T = op_xt(A)
  std::size_t omega = 0, y = 0, z = 0, bt = 0, sv = 0, u = 0, v = 0, tau = 0, out = 0, copy = 0;
  std::size_t data_floats = 0;
};

ProjectorRefresher::ProjectorRefresher(const RefreshOptions& options) : options_(options) {
  require(options.oversampling >= 0 && options.power_iterations >= 0, "ProjectorRefresher",
          "oversampling and power_iterations must be >= 0, got " +
              std::to_string(options.oversampling) + " and " +
              std::to_string(options.power_iterations));
  check_cuda(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
  try {
    check_cuda(cudaEventCreateWithFlags(&producer_done_, cudaEventDisableTiming),
               "cudaEventCreate");
    check_cuda(cudaEventCreateWithFlags(&refresh_done_, cudaEventDisableTiming), "cudaEventCreate");
    check_cusolver(cusolverDnCreate(&solver_), "cusolverDnCreate");
    check_cusolver(cusolverDnSetStream(solver_, stream_), "cusolverDnSetStream");
    check_cusolver(cusolverDnCreateGesvdjInfo(&gesvdj_params_), "cusolverDnCreateGesvdjInfo");
    blas_ = std::make_unique<BlasContext>(stream_, 0);  // cuBLAS fp32 only: no Lt workspace
    status_ = DeviceBuffer<int>(4);
    status_.fill_zero();
  } catch (...) {
    if (gesvdj_params_ != nullptr) cusolverDnDestroyGesvdjInfo(gesvdj_params_);
    if (solver_ != nullptr) cusolverDnDestroy(solver_);
    if (refresh_done_ != nullptr) cudaEventDestroy(refresh_done_);
    if (producer_done_ != nullptr) cudaEventDestroy(producer_done_);
    cudaStreamDestroy(stream_);
    throw;
  }
}

ProjectorRefresher::~ProjectorRefresher() {
  cudaStreamSynchronize(stream_);  // no refresh may still use the buffers freed below
  blas_.reset();
  cusolverDnDestroyGesvdjInfo(gesvdj_params_);
  cusolverDnDestroy(solver_);
  cudaEventDestroy(refresh_done_);
  cudaEventDestroy(producer_done_);
  cudaStreamDestroy(stream_);
}

void ProjectorRefresher::reserve(std::size_t data_floats, int solver_floats) {
  const std::size_t solver = static_cast<std::size_t>(std::max(solver_floats, 1));
  if (data_floats <= data_.size() && solver <= solver_work_.size()) return;
  check_cuda(cudaStreamSynchronize(stream_), "cudaStreamSynchronize (growing refresh workspace)");
  if (data_floats > data_.size()) data_ = DeviceBuffer<float>(data_floats);
  if (solver > solver_work_.size()) solver_work_ = DeviceBuffer<float>(solver);
}

ProjectorRefresher::Plan ProjectorRefresher::plan_for(const GaLoreShape& shape) {
  Plan p;
  p.left = shape.side == ProjectionSide::Left;
  p.rows = shape.rows;
  p.cols = shape.cols;
  p.rank = shape.rank;
  const int m = shape.rows;
  const int n = shape.cols;
  std::size_t next = 0;
  auto take = [&next](std::size_t floats) {
    const std::size_t at = next;
    next += aligned_floats(floats);
    return at;
  };
  int lwork = 0;
  if (options_.method == RefreshMethod::Svd) {
    const int k = std::min(m, n);
    p.copy = take(static_cast<std::size_t>(m) * n);
    p.sv = take(k);
    p.u = take(static_cast<std::size_t>(n) * k);
    p.v = take(static_cast<std::size_t>(m) * k);
    p.data_floats = next;
    reserve(p.data_floats, 0);
    float* d = data_.data();
    check_cusolver(
        cusolverDnSgesvdj_bufferSize(solver_, CUSOLVER_EIG_MODE_VECTOR, 1, n, m, d + p.copy, n,
                                     d + p.sv, d + p.u, n, d + p.v, m, &lwork, gesvdj_params_),
        "cusolverDnSgesvdj_bufferSize");
  } else {
    p.rows_x = p.left ? m : n;
    p.cols_x = p.left ? n : m;
    p.op_x = p.left ? CUBLAS_OP_T : CUBLAS_OP_N;
    p.op_xt = p.left ? CUBLAS_OP_N : CUBLAS_OP_T;
    p.sketch = std::min(shape.rank + options_.oversampling, std::min(m, n));
    const std::size_t l = static_cast<std::size_t>(p.sketch);
    p.omega = take(p.cols_x * l);
    p.y = take(p.rows_x * l);
    p.z = take(p.cols_x * l);
    p.bt = take(p.cols_x * l);
    p.sv = take(l);
    p.u = take(p.cols_x * l);
    p.v = take(l * l);
    p.tau = take(l);
    p.out = take(static_cast<std::size_t>(p.rows_x) * shape.rank);
    p.data_floats = next;
    reserve(p.data_floats, 0);
    float* d = data_.data();
    int size = 0;
    for (const auto& [rows, buffer] :
         {std::pair<int, std::size_t>{p.rows_x, p.y}, std::pair<int, std::size_t>{p.cols_x, p.z}}) {
      check_cusolver(cusolverDnSgeqrf_bufferSize(solver_, rows, p.sketch, d + buffer, rows, &size),
                     "cusolverDnSgeqrf_bufferSize");
      lwork = std::max(lwork, size);
      check_cusolver(cusolverDnSorgqr_bufferSize(solver_, rows, p.sketch, p.sketch, d + buffer,
                                                 rows, d + p.tau, &size),
                     "cusolverDnSorgqr_bufferSize");
      lwork = std::max(lwork, size);
    }
    check_cusolver(cusolverDnSgesvdj_bufferSize(solver_, CUSOLVER_EIG_MODE_VECTOR, 1, p.cols_x,
                                                p.sketch, d + p.bt, p.cols_x, d + p.sv, d + p.u,
                                                p.cols_x, d + p.v, p.sketch, &size, gesvdj_params_),
                   "cusolverDnSgesvdj_bufferSize");
    lwork = std::max(lwork, size);
  }
  reserve(p.data_floats, lwork);
  return p;
}

void ProjectorRefresher::run_svd(const float* grad, const GaLoreShape& shape, const Plan& p) {
  const int m = shape.rows;
  const int n = shape.cols;
  float* d = data_.data();
  const std::int64_t total = static_cast<std::int64_t>(m) * n;
  scan_nonfinite_kernel<<<grid_for(total), kThreads, 0, stream_>>>(total, grad, d + p.copy,
                                                                   status_.data());
  check_launch("scan_nonfinite_kernel");
  // A = G^T [n x m]: U [n x k] are G's right singular vectors, V [m x k] its left ones.
  check_cusolver(
      cusolverDnSgesvdj(solver_, CUSOLVER_EIG_MODE_VECTOR, 1, n, m, d + p.copy, n, d + p.sv,
                        d + p.u, n, d + p.v, m, solver_work_.data(),
                        static_cast<int>(solver_work_.size()), status_.data() + 2, gesvdj_params_),
      "cusolverDnSgesvdj");
}

void ProjectorRefresher::run_randomized(const float* grad, const GaLoreShape& shape,
                                        const Plan& p) {
  const int lda = shape.cols;
  const int l = p.sketch;
  float* d = data_.data();
  float* work = solver_work_.data();
  const int lwork = static_cast<int>(solver_work_.size());
  int* qr_info = status_.data() + 1;
  const cublasHandle_t blas = blas_->cublas();
  const std::int64_t total = static_cast<std::int64_t>(shape.rows) * shape.cols;
  scan_nonfinite_kernel<<<grid_for(total), kThreads, 0, stream_>>>(total, grad, nullptr,
                                                                   status_.data());
  check_launch("scan_nonfinite_kernel");
  const std::int64_t sketch_values = static_cast<std::int64_t>(p.cols_x) * l;
  gaussian_kernel<<<grid_for(sketch_values), kThreads, 0, stream_>>>(sketch_values, options_.seed,
                                                                     d + p.omega);
  check_launch("gaussian_kernel");
  auto orthonormalize = [&](float* x, int rows) {
    check_cusolver(cusolverDnSgeqrf(solver_, rows, l, x, rows, d + p.tau, work, lwork, qr_info),
                   "cusolverDnSgeqrf");
    check_cusolver(cusolverDnSorgqr(solver_, rows, l, l, x, rows, d + p.tau, work, lwork, qr_info),
                   "cusolverDnSorgqr");
  };
  // Y = X Omega, then Y <- X (X^T Y) with re-orthonormalisation.
  sgemm(blas, p.op_x, CUBLAS_OP_N, p.rows_x, l, p.cols_x, grad, lda, d + p.omega, p.cols_x, d + p.y,
        p.rows_x);
  orthonormalize(d + p.y, p.rows_x);
  for (int it = 0; it < options_.power_iterations; ++it) {
    sgemm(blas, p.op_xt, CUBLAS_OP_N, p.cols_x, l, p.rows_x, grad, lda, d + p.y, p.rows_x, d + p.z,
          p.cols_x);
    orthonormalize(d + p.z, p.cols_x);
    sgemm(blas, p.op_x, CUBLAS_OP_N, p.rows_x, l, p.cols_x, grad, lda, d + p.z, p.cols_x, d + p.y,
          p.rows_x);
    orthonormalize(d + p.y, p.rows_x);
  }
  // B^T = X^T Q [cols_x x l]; B = V S U^T, so B's left singular vectors are gesvdj's V.
  sgemm(blas, p.op_xt, CUBLAS_OP_N, p.cols_x, l, p.rows_x, grad, lda, d + p.y, p.rows_x, d + p.bt,
        p.cols_x);
  check_cusolver(cusolverDnSgesvdj(solver_, CUSOLVER_EIG_MODE_VECTOR, 1, p.cols_x, l, d + p.bt,
                                   p.cols_x, d + p.sv, d + p.u, p.cols_x, d + p.v, l, work, lwork,
                                   status_.data() + 2, gesvdj_params_),
                 "cusolverDnSgesvdj");
  // Basis = Q V[:, :rank] (rows_x x rank).
  sgemm(blas, CUBLAS_OP_N, CUBLAS_OP_N, p.rows_x, shape.rank, l, d + p.y, p.rows_x, d + p.v, l,
        d + p.out, p.rows_x);
}

template <class T>
void ProjectorRefresher::enqueue(const float* grad, const GaLoreShape& shape, T* projector,
                                 cudaStream_t producer) {
  const char* fn = "ProjectorRefresher::enqueue";
  require(shape.rows >= 1 && shape.cols >= 1 && shape.rank >= 1 &&
              shape.rank <= std::min(shape.rows, shape.cols),
          fn,
          "need 1 <= rank <= min(rows, cols), got rows=" + std::to_string(shape.rows) +
              " cols=" + std::to_string(shape.cols) + " rank=" + std::to_string(shape.rank));
  require(grad != nullptr && projector != nullptr, fn, "grad and projector must be non-null");
  const Plan p = plan_for(shape);
  check_cuda(cudaEventRecord(producer_done_, producer), "cudaEventRecord");
  check_cuda(cudaStreamWaitEvent(stream_, producer_done_, 0), "cudaStreamWaitEvent");
  check_cuda(cudaMemsetAsync(status_.data(), 0, 3 * sizeof(int), stream_), "cudaMemsetAsync");
  const float* basis = nullptr;
  int ld = 0;
  if (options_.method == RefreshMethod::Svd) {
    run_svd(grad, shape, p);
    basis = data_.data() + (p.left ? p.v : p.u);
    ld = p.left ? shape.rows : shape.cols;
  } else {
    run_randomized(grad, shape, p);
    basis = data_.data() + p.out;
    ld = p.rows_x;
  }
  const int dim = p.left ? shape.rows : shape.cols;
  commit_kernel<T><<<grid_for(static_cast<std::int64_t>(dim) * shape.rank), kThreads, 0, stream_>>>(
      basis, ld, dim, shape.rank, p.left, status_.data(), projector);
  check_launch("commit_kernel");
  check_cuda(cudaEventRecord(refresh_done_, stream_), "cudaEventRecord");
}

void ProjectorRefresher::wait(cudaStream_t consumer) {
  check_cuda(cudaStreamWaitEvent(consumer, refresh_done_, 0), "cudaStreamWaitEvent");
}

int ProjectorRefresher::rejected_refreshes() {
  check_cuda(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
  int rejected = 0;
  check_cuda(cudaMemcpy(&rejected, status_.data() + 3, sizeof(int), cudaMemcpyDeviceToHost),
             "cudaMemcpy (rejected refreshes)");
  return rejected;
}

template void ProjectorRefresher::enqueue<float>(const float*, const GaLoreShape&, float*,
                                                 cudaStream_t);
template void ProjectorRefresher::enqueue<Bf16Word>(const float*, const GaLoreShape&, Bf16Word*,
                                                    cudaStream_t);

}  // namespace galore::kernels::cuda
