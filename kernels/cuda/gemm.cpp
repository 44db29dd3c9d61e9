// Row-major GEMM mapped onto cuBLASLt and cuBLAS (see gemm.hpp).
#include "kernels/cuda/gemm.hpp"

#include "kernels/cuda/cuda_check.hpp"
#include "kernels/cuda/matmul_plan_cache.hpp"

#include <cstdint>
#include <string>

namespace galore::kernels::cuda {

namespace {

cublasOperation_t to_cublas(Op op) { return op == Op::N ? CUBLAS_OP_N : CUBLAS_OP_T; }

const char* op_name(Op op) { return op == Op::N ? "N" : "T"; }

template <class T>
cudaDataType_t data_type();
template <>
cudaDataType_t data_type<float>() {
  return CUDA_R_32F;
}
template <>
cudaDataType_t data_type<Bf16Word>() {
  return CUDA_R_16BF;
}

std::string describe(const GemmShape& s) {
  return "op_a=" + std::string(op_name(s.op_a)) + " op_b=" + op_name(s.op_b) +
         " m=" + std::to_string(s.m) + " n=" + std::to_string(s.n) + " k=" + std::to_string(s.k) +
         " batch=" + std::to_string(s.batch);
}

template <class T>
void check_operand(const char* fn, const char* name, const MatrixOperand<T>& x, int cols,
                   const GemmShape& s) {
  require(x.data != nullptr, fn, std::string(name) + " is null for " + describe(s));
  require(x.ld >= cols, fn,
          std::string(name) + " has ld " + std::to_string(x.ld) + " < its row length " +
              std::to_string(cols) + " for " + describe(s));
  require(x.stride >= 0, fn, std::string(name) + " has a negative batch stride");
}

// Row lengths of the stored (pre-op) matrices: A is m x k (op N) or k x m (op T), likewise B.
template <class A, class B, class C, class D>
void check_problem(const char* fn, const GemmShape& s, const A& a, const B& b, const C& c,
                   const D& d, bool reads_c) {
  require(s.m >= 1 && s.n >= 1 && s.k >= 1 && s.batch >= 1, fn,
          "every extent must be positive, got " + describe(s));
  check_operand(fn, "A", a, s.op_a == Op::N ? s.k : s.m, s);
  check_operand(fn, "B", b, s.op_b == Op::N ? s.n : s.k, s);
  check_operand(fn, "D", d, s.n, s);
  if (reads_c) {
    check_operand(fn, "C", c, s.n, s);
    if (static_cast<const void*>(c.data) == static_cast<const void*>(d.data)) {
      require(c.ld == d.ld && c.stride == d.stride, fn,
              "in-place C == D needs equal ld and stride, got C ld " + std::to_string(c.ld) +
                  " stride " + std::to_string(c.stride) + ", D ld " + std::to_string(d.ld) +
                  " stride " + std::to_string(d.stride));
    }
  }
}

// The largest power of two up to 256 dividing the address of every batch entry.
std::uint32_t alignment_of(const void* p, std::int64_t stride_bytes, int batch) {
  std::uintptr_t bits = reinterpret_cast<std::uintptr_t>(p);
  if (batch > 1) bits |= static_cast<std::uintptr_t>(stride_bytes);
  std::uint32_t alignment = 256;
  while (alignment > 1 && bits % alignment != 0) alignment /= 2;
  return alignment;
}

// D^T = op(B)^T op(A)^T in column-major terms: cuBLAS's A is our B and vice versa.
template <class AB, class CD>
void lt_matmul(BlasContext& ctx, const char* fn, const GemmShape& s, const void* alpha,
               const void* beta, bool device_scalars, const MatrixOperand<const AB>& a,
               const MatrixOperand<const AB>& b, MatrixOperand<const CD> c,
               const MatrixOperand<CD>& d, bool reads_c) {
  check_problem(fn, s, a, b, c, d, reads_c);
  if (!reads_c) c = {d.data, d.ld, d.stride};  // not read by cuBLASLt, but must be a valid layout
  MatmulKey key{};
  key.ab_type = data_type<AB>();
  key.cd_type = data_type<CD>();
  key.trans_a = to_cublas(s.op_b);
  key.trans_b = to_cublas(s.op_a);
  key.m = s.n;
  key.n = s.m;
  key.k = s.k;
  key.lda = b.ld;
  key.ldb = a.ld;
  key.ldc = c.ld;
  key.ldd = d.ld;
  key.batch = s.batch;
  key.stride_a = s.batch > 1 ? b.stride : 0;
  key.stride_b = s.batch > 1 ? a.stride : 0;
  key.stride_c = s.batch > 1 ? c.stride : 0;
  key.stride_d = s.batch > 1 ? d.stride : 0;
  key.align_a = alignment_of(b.data, b.stride * std::int64_t{sizeof(AB)}, s.batch);
  key.align_b = alignment_of(a.data, a.stride * std::int64_t{sizeof(AB)}, s.batch);
  key.align_c = alignment_of(c.data, c.stride * std::int64_t{sizeof(CD)}, s.batch);
  key.align_d = alignment_of(d.data, d.stride * std::int64_t{sizeof(CD)}, s.batch);
  key.device_scalars = device_scalars;
  key.in_place = static_cast<const void*>(c.data) == static_cast<const void*>(d.data);
  const MatmulPlan& plan = ctx.plans().get(ctx.lt(), key, ctx.lt_workspace_bytes());
  check_cublas(cublasLtMatmul(ctx.lt(), plan.desc(), alpha, b.data, plan.a(), a.data, plan.b(),
                              beta, c.data, plan.c(), d.data, plan.d(), &plan.algo(),
                              ctx.lt_workspace(), ctx.lt_workspace_bytes(), ctx.stream()),
               "cublasLtMatmul");
}

}  // namespace

void gemm(BlasContext& ctx, const GemmShape& shape, float alpha, MatrixOperand<const Bf16Word> a,
          MatrixOperand<const Bf16Word> b, float beta, MatrixOperand<const float> c,
          MatrixOperand<float> d) {
  lt_matmul<Bf16Word, float>(ctx, "gemm(bf16 -> fp32)", shape, &alpha, &beta, false, a, b, c, d,
                             beta != 0.0f);
}

void gemm(BlasContext& ctx, const GemmShape& shape, float alpha, MatrixOperand<const Bf16Word> a,
          MatrixOperand<const Bf16Word> b, float beta, MatrixOperand<const Bf16Word> c,
          MatrixOperand<Bf16Word> d) {
  lt_matmul<Bf16Word, Bf16Word>(ctx, "gemm(bf16 -> bf16)", shape, &alpha, &beta, false, a, b, c, d,
                                beta != 0.0f);
}

void gemm(BlasContext& ctx, const GemmShape& shape, float alpha, MatrixOperand<const float> a,
          MatrixOperand<const float> b, float beta, MatrixOperand<float> c) {
  const char* fn = "gemm(fp32)";
  const MatrixOperand<const float> c_read{c.data, c.ld, c.stride};
  check_problem(fn, shape, a, b, c_read, c, false);
  // Column-major: C^T (n x m) = op(B)^T (n x k) op(A)^T (k x m).
  if (shape.batch == 1) {
    check_cublas(
        cublasSgemm(ctx.cublas(), to_cublas(shape.op_b), to_cublas(shape.op_a), shape.n, shape.m,
                    shape.k, &alpha, b.data, b.ld, a.data, a.ld, &beta, c.data, c.ld),
        "cublasSgemm");
  } else {
    check_cublas(
        cublasSgemmStridedBatched(ctx.cublas(), to_cublas(shape.op_b), to_cublas(shape.op_a),
                                  shape.n, shape.m, shape.k, &alpha, b.data, b.ld, b.stride, a.data,
                                  a.ld, a.stride, &beta, c.data, c.ld, c.stride, shape.batch),
        "cublasSgemmStridedBatched");
  }
}

void gemm(BlasContext& ctx, Op op_a, Op op_b, int m, int n, int k, float alpha, const float* a,
          int lda, const float* b, int ldb, float beta, float* c, int ldc) {
  gemm(ctx, GemmShape{op_a, op_b, m, n, k, 1}, alpha, {a, lda, 0}, {b, ldb, 0}, beta, {c, ldc, 0});
}

void gemm(BlasContext& ctx, Op op_a, Op op_b, int m, int n, int k, float alpha, const Bf16Word* a,
          int lda, const Bf16Word* b, int ldb, float beta, float* c, int ldc) {
  gemm(ctx, GemmShape{op_a, op_b, m, n, k, 1}, alpha, {a, lda, 0}, {b, ldb, 0}, beta, {c, ldc, 0},
       {c, ldc, 0});
}

void gemm(BlasContext& ctx, Op op_a, Op op_b, int m, int n, int k, float alpha, const Bf16Word* a,
          int lda, const Bf16Word* b, int ldb, float beta, Bf16Word* c, int ldc) {
  gemm(ctx, GemmShape{op_a, op_b, m, n, k, 1}, alpha, {a, lda, 0}, {b, ldb, 0}, beta, {c, ldc, 0},
       {c, ldc, 0});
}

template <class T>
void gemm_device_scalars(BlasContext& ctx, const GemmShape& shape, const float* scalars,
                         MatrixOperand<const T> a, MatrixOperand<const T> b,
                         MatrixOperand<const T> c, MatrixOperand<T> d) {
  const char* fn = "gemm_device_scalars";
  require(scalars != nullptr, fn, "the device scalars (alpha, beta) are null");
  lt_matmul<T, T>(ctx, fn, shape, scalars, scalars + 1, true, a, b, c, d, true);
}

template void gemm_device_scalars<float>(BlasContext&, const GemmShape&, const float*,
                                         MatrixOperand<const float>, MatrixOperand<const float>,
                                         MatrixOperand<const float>, MatrixOperand<float>);
template void gemm_device_scalars<Bf16Word>(BlasContext&, const GemmShape&, const float*,
                                            MatrixOperand<const Bf16Word>,
                                            MatrixOperand<const Bf16Word>,
                                            MatrixOperand<const Bf16Word>, MatrixOperand<Bf16Word>);

}  // namespace galore::kernels::cuda
