// cuBLASLt matmul plans keyed by everything the heuristic depends on: types, transposes, sizes,
// leading dimensions, batch strides, operand alignments and the scalar pointer mode. The
// heuristic query costs tens of microseconds on the host, so each distinct problem asks it once.
// The key is in cuBLAS's column-major terms (after gemm.cpp maps row-major onto them). cuBLASLt
// computes in place when C == D and Cdesc == Ddesc (the same descriptor), out of place otherwise.
#pragma once

#include <cublasLt.h>
#include <library_types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <tuple>

namespace galore::kernels::cuda {

struct MatmulKey {
  cudaDataType_t ab_type;
  cudaDataType_t cd_type;
  cublasOperation_t trans_a;
  cublasOperation_t trans_b;
  int m, n, k;  // D is m x n, op(A) m x k, op(B) k x n, all column-major
  int lda, ldb, ldc, ldd;
  int batch;
  std::int64_t stride_a, stride_b, stride_c, stride_d;
  std::uint32_t align_a, align_b, align_c, align_d;  // bytes, powers of two up to 256
  bool device_scalars;                               // alpha and beta live in device memory
  bool in_place;                                     // C == D: one layout serves both

  auto tied() const {
    return std::tie(ab_type, cd_type, trans_a, trans_b, m, n, k, lda, ldb, ldc, ldd, batch,
                    stride_a, stride_b, stride_c, stride_d, align_a, align_b, align_c, align_d,
                    device_scalars, in_place);
  }
  bool operator<(const MatmulKey& other) const { return tied() < other.tied(); }
};

// Descriptors and the chosen algorithm of one problem (owned; destroyed with the plan).
class MatmulPlan {
 public:
  MatmulPlan(cublasLtHandle_t lt, const MatmulKey& key, std::size_t workspace_bytes);
  ~MatmulPlan();
  MatmulPlan(const MatmulPlan&) = delete;
  MatmulPlan& operator=(const MatmulPlan&) = delete;

  cublasLtMatmulDesc_t desc() const { return desc_; }
  cublasLtMatrixLayout_t a() const { return a_; }
  cublasLtMatrixLayout_t b() const { return b_; }
  cublasLtMatrixLayout_t c() const { return c_ != nullptr ? c_ : d_; }
  cublasLtMatrixLayout_t d() const { return d_; }
  const cublasLtMatmulAlgo_t& algo() const { return algo_; }

 private:
  void release() noexcept;

  cublasLtMatmulDesc_t desc_ = nullptr;
  cublasLtMatrixLayout_t a_ = nullptr, b_ = nullptr, c_ = nullptr, d_ = nullptr;
  cublasLtMatmulAlgo_t algo_{};
};

class MatmulPlanCache {
 public:
  // The plan for `key`, made (and its heuristic queried) on first use. Throws CudaError when
  // cuBLASLt has no algorithm for the problem.
  const MatmulPlan& get(cublasLtHandle_t lt, const MatmulKey& key, std::size_t workspace_bytes);
  std::size_t size() const { return plans_.size(); }

 private:
  std::map<MatmulKey, std::unique_ptr<MatmulPlan>> plans_;
};

}  // namespace galore::kernels::cuda
