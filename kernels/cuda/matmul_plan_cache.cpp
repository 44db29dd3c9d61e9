// cuBLASLt descriptor construction and heuristic selection (see matmul_plan_cache.hpp).
#include "kernels/cuda/matmul_plan_cache.hpp"

#include "kernels/cuda/cuda_check.hpp"

#include <string>

namespace galore::kernels::cuda {

namespace {

template <class Value>
void set_desc(cublasLtMatmulDesc_t desc, cublasLtMatmulDescAttributes_t attribute, Value value,
              const char* what) {
  check_cublas(cublasLtMatmulDescSetAttribute(desc, attribute, &value, sizeof value), what);
}

template <class Value>
void set_layout(cublasLtMatrixLayout_t layout, cublasLtMatrixLayoutAttribute_t attribute,
                Value value, const char* what) {
  check_cublas(cublasLtMatrixLayoutSetAttribute(layout, attribute, &value, sizeof value), what);
}

template <class Value>
void set_preference(cublasLtMatmulPreference_t pref, cublasLtMatmulPreferenceAttributes_t attribute,
                    Value value, const char* what) {
  check_cublas(cublasLtMatmulPreferenceSetAttribute(pref, attribute, &value, sizeof value), what);
}

// Column-major layout of a stored rows x cols matrix, with its batch stride.
cublasLtMatrixLayout_t make_layout(cudaDataType_t type, int rows, int cols, int ld, int batch,
                                   std::int64_t stride) {
  cublasLtMatrixLayout_t layout = nullptr;
  check_cublas(cublasLtMatrixLayoutCreate(&layout, type, static_cast<std::uint64_t>(rows),
                                          static_cast<std::uint64_t>(cols), ld),
               "cublasLtMatrixLayoutCreate");
  try {
    if (batch > 1) {
      set_layout(layout, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, std::int32_t{batch},
                 "cublasLtMatrixLayoutSetAttribute(BATCH_COUNT)");
      set_layout(layout, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, std::int64_t{stride},
                 "cublasLtMatrixLayoutSetAttribute(STRIDED_BATCH_OFFSET)");
    }
  } catch (...) {
    cublasLtMatrixLayoutDestroy(layout);
    throw;
  }
  return layout;
}

std::string describe(const MatmulKey& key) {
  return "m=" + std::to_string(key.m) + " n=" + std::to_string(key.n) +
         " k=" + std::to_string(key.k) + " lda=" + std::to_string(key.lda) +
         " ldb=" + std::to_string(key.ldb) + " ldc=" + std::to_string(key.ldc) +
         " batch=" + std::to_string(key.batch) + " types(ab,cd)=" + std::to_string(key.ab_type) +
         "," + std::to_string(key.cd_type) + " alignments=" + std::to_string(key.align_a) + "/" +
         std::to_string(key.align_b) + "/" + std::to_string(key.align_c) + "/" +
         std::to_string(key.align_d);
}

}  // namespace

MatmulPlan::MatmulPlan(cublasLtHandle_t lt, const MatmulKey& key, std::size_t workspace_bytes) {
  cublasLtMatmulPreference_t pref = nullptr;
  try {
    check_cublas(cublasLtMatmulDescCreate(&desc_, CUBLAS_COMPUTE_32F, CUDA_R_32F),
                 "cublasLtMatmulDescCreate");
    set_desc(desc_, CUBLASLT_MATMUL_DESC_TRANSA, static_cast<std::int32_t>(key.trans_a),
             "cublasLtMatmulDescSetAttribute(TRANSA)");
    set_desc(desc_, CUBLASLT_MATMUL_DESC_TRANSB, static_cast<std::int32_t>(key.trans_b),
             "cublasLtMatmulDescSetAttribute(TRANSB)");
    if (key.device_scalars) {
      set_desc(desc_, CUBLASLT_MATMUL_DESC_POINTER_MODE,
               static_cast<std::int32_t>(CUBLASLT_POINTER_MODE_DEVICE),
               "cublasLtMatmulDescSetAttribute(POINTER_MODE)");
    }
    const bool a_n = key.trans_a == CUBLAS_OP_N;
    const bool b_n = key.trans_b == CUBLAS_OP_N;
    a_ = make_layout(key.ab_type, a_n ? key.m : key.k, a_n ? key.k : key.m, key.lda, key.batch,
                     key.stride_a);
    b_ = make_layout(key.ab_type, b_n ? key.k : key.n, b_n ? key.n : key.k, key.ldb, key.batch,
                     key.stride_b);
    d_ = make_layout(key.cd_type, key.m, key.n, key.ldd, key.batch, key.stride_d);
    if (!key.in_place)
      c_ = make_layout(key.cd_type, key.m, key.n, key.ldc, key.batch, key.stride_c);

    check_cublas(cublasLtMatmulPreferenceCreate(&pref), "cublasLtMatmulPreferenceCreate");
    set_preference(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                   static_cast<std::uint64_t>(workspace_bytes),
                   "cublasLtMatmulPreferenceSetAttribute(MAX_WORKSPACE_BYTES)");
    // The heuristic assumes 256-byte aligned operands unless told otherwise.
    set_preference(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, key.align_a,
                   "cublasLtMatmulPreferenceSetAttribute(MIN_ALIGNMENT_A_BYTES)");
    set_preference(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, key.align_b,
                   "cublasLtMatmulPreferenceSetAttribute(MIN_ALIGNMENT_B_BYTES)");
    set_preference(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, key.align_c,
                   "cublasLtMatmulPreferenceSetAttribute(MIN_ALIGNMENT_C_BYTES)");
    set_preference(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, key.align_d,
                   "cublasLtMatmulPreferenceSetAttribute(MIN_ALIGNMENT_D_BYTES)");

    cublasLtMatmulHeuristicResult_t result{};
    int found = 0;
    check_cublas(
        cublasLtMatmulAlgoGetHeuristic(lt, desc_, a_, b_, c(), d_, pref, 1, &result, &found),
        "cublasLtMatmulAlgoGetHeuristic");
    if (found < 1 || result.state != CUBLAS_STATUS_SUCCESS) {
      throw CudaError("cublasLtMatmulAlgoGetHeuristic found no algorithm for " + describe(key));
    }
    algo_ = result.algo;
    cublasLtMatmulPreferenceDestroy(pref);
  } catch (...) {
    if (pref != nullptr) cublasLtMatmulPreferenceDestroy(pref);
    release();  // the constructor did not finish, so the destructor will not run
    throw;
  }
}

MatmulPlan::~MatmulPlan() { release(); }

void MatmulPlan::release() noexcept {
  if (d_ != nullptr) cublasLtMatrixLayoutDestroy(d_);
  if (c_ != nullptr) cublasLtMatrixLayoutDestroy(c_);
  if (b_ != nullptr) cublasLtMatrixLayoutDestroy(b_);
  if (a_ != nullptr) cublasLtMatrixLayoutDestroy(a_);
  if (desc_ != nullptr) cublasLtMatmulDescDestroy(desc_);
  d_ = c_ = b_ = a_ = nullptr;
  desc_ = nullptr;
}

const MatmulPlan& MatmulPlanCache::get(cublasLtHandle_t lt, const MatmulKey& key,
                                       std::size_t workspace_bytes) {
  auto found = plans_.find(key);
  if (found == plans_.end()) {
    found = plans_.emplace(key, std::make_unique<MatmulPlan>(lt, key, workspace_bytes)).first;
  }
  return *found->second;
}

}  // namespace galore::kernels::cuda
