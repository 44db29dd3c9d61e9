#include "galore/core/gemm.hpp"

#include "galore/core/cuda_dispatch.hpp"
#include "galore/core/error.hpp"
#include "kernels/host/blas_gemm.hpp"

#if GALORE_CUDA_DISPATCH
#include "kernels/cuda/gemm.hpp"
#endif

#include <algorithm>
#include <cstdint>
#include <sstream>
#include <type_traits>

namespace galore {

namespace {

namespace hk = kernels::host;

constexpr bool host_accessible = Kokkos::SpaceAccessibility<HostSpace, MemSpace>::accessible;

struct GemmShape {
  int m, n, k;
};

const char* op_name(Op op) { return op == Op::N ? "N" : "T"; }

template <class A, class B, class C>
GemmShape check_shapes(const char* what, Op op_a, Op op_b, const A& a, const B& b, const C& c) {
  const auto m = op_a == Op::N ? a.extent(0) : a.extent(1);
  const auto ka = op_a == Op::N ? a.extent(1) : a.extent(0);
  const auto kb = op_b == Op::N ? b.extent(0) : b.extent(1);
  const auto n = op_b == Op::N ? b.extent(1) : b.extent(0);
  const bool rows_contiguous = (a.extent(1) <= 1 || a.stride(1) == 1) &&
                               (b.extent(1) <= 1 || b.stride(1) == 1) &&
                               (c.extent(1) <= 1 || c.stride(1) == 1);
  if (ka != kb || c.extent(0) != m || c.extent(1) != n || !rows_contiguous) {
    std::ostringstream msg;
    msg << what << ": op(A) x op(B) does not fit C: A" << shape_string(a) << " op " << op_name(op_a)
        << ", B" << shape_string(b) << " op " << op_name(op_b) << ", C" << shape_string(c);
    if (!rows_contiguous) msg << " (the last index of every operand must be contiguous)";
    throw ShapeError(msg.str());
  }
  return {static_cast<int>(m), static_cast<int>(n), static_cast<int>(ka)};
}

template <class View>
int leading_dim(const View& v) {
  return static_cast<int>(std::max<std::size_t>({v.stride(0), v.extent(1), std::size_t{1}}));
}

hk::Transpose to_host(Op op) { return op == Op::N ? hk::Transpose::No : hk::Transpose::Yes; }

const std::uint16_t* words(const bf16* p) { return reinterpret_cast<const std::uint16_t*>(p); }

// --- host BLAS path ------------------------------------------------------------------------
// (maybe_unused: a build whose memory is not host-accessible, CUDA, never calls it)

[[maybe_unused]] void host_gemm(Op op_a, Op op_b, float alpha, const MatrixRef<const float>& a,
                                const MatrixRef<const float>& b, float beta,
                                const MatrixRef<float>& c, GemmShape s) {
  hk::sgemm(to_host(op_a), to_host(op_b), s.m, s.n, s.k, alpha, a.data(), leading_dim(a), b.data(),
            leading_dim(b), beta, c.data(), leading_dim(c));
}

[[maybe_unused]] void host_gemm(Op op_a, Op op_b, float alpha, const MatrixRef<const bf16>& a,
                                const MatrixRef<const bf16>& b, float beta,
                                const MatrixRef<float>& c, GemmShape s) {
  hk::bf16_gemm(to_host(op_a), to_host(op_b), s.m, s.n, s.k, alpha, words(a.data()), leading_dim(a),
                words(b.data()), leading_dim(b), beta, c.data(), leading_dim(c));
}

// bf16 output: accumulate the whole product in fp32, round once.
[[maybe_unused]] void host_gemm(Op op_a, Op op_b, float alpha, const MatrixRef<const bf16>& a,
                                const MatrixRef<const bf16>& b, float beta,
                                const MatrixRef<bf16>& c, GemmShape s) {
  Matrix<float> acc(Kokkos::view_alloc(Kokkos::WithoutInitializing, "galore::gemm::acc"), s.m, s.n);
  if (beta != 0.0f) {
    Kokkos::parallel_for("galore::gemm::widen_c",
                         Kokkos::MDRangePolicy<Kokkos::DefaultHostExecutionSpace, Kokkos::Rank<2>>(
                             {0, 0}, {s.m, s.n}),
                         [=](int i, int j) { acc(i, j) = to_float(c(i, j)); });
    Kokkos::DefaultHostExecutionSpace().fence();
  }
  host_gemm(op_a, op_b, alpha, a, b, beta, acc, s);
  Kokkos::parallel_for(
      "galore::gemm::round_c",
      Kokkos::MDRangePolicy<Kokkos::DefaultHostExecutionSpace, Kokkos::Rank<2>>({0, 0}, {s.m, s.n}),
      [=](int i, int j) { c(i, j) = bf16(acc(i, j)); });
  Kokkos::DefaultHostExecutionSpace().fence();
}

// --- portable tiled Kokkos kernel ---------------------------------------------------------

constexpr int kTile = 32;
using ScratchTile = Kokkos::View<float[kTile][kTile], ExecSpace::scratch_memory_space,
                                 Kokkos::MemoryTraits<Kokkos::Unmanaged>>;

template <class TA, class TC>
void portable_gemm(const ExecSpace& space, Op op_a, Op op_b, float alpha,
                   const MatrixRef<const TA>& a, const MatrixRef<const TA>& b, float beta,
                   const MatrixRef<TC>& c, GemmShape s) {
  using Policy = Kokkos::TeamPolicy<ExecSpace>;
  using Member = typename Policy::member_type;
  const int tiles_m = (s.m + kTile - 1) / kTile;
  const int tiles_n = (s.n + kTile - 1) / kTile;
  const bool a_t = op_a == Op::T;
  const bool b_t = op_b == Op::T;
  const std::size_t scratch = 3 * ScratchTile::shmem_size();
  Kokkos::parallel_for(
      "galore::gemm_portable",
      Policy(space, tiles_m * tiles_n, Kokkos::AUTO).set_scratch_size(0, Kokkos::PerTeam(scratch)),
      KOKKOS_LAMBDA(const Member& team) {
        const int row0 = (team.league_rank() / tiles_n) * kTile;
        const int col0 = (team.league_rank() % tiles_n) * kTile;
        ScratchTile a_tile(team.team_scratch(0));
        ScratchTile b_tile(team.team_scratch(0));
        ScratchTile c_tile(team.team_scratch(0));
        Kokkos::parallel_for(Kokkos::TeamThreadRange(team, kTile * kTile),
                             [&](int e) { c_tile(e / kTile, e % kTile) = 0.0f; });
        for (int k0 = 0; k0 < s.k; k0 += kTile) {
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, kTile * kTile), [&](int e) {
            const int i = e / kTile;
            const int kk = e % kTile;
            const int row = row0 + i;
            const int col = col0 + i;
            const int k = k0 + kk;
            const bool in_k = k < s.k;
            a_tile(i, kk) = (row < s.m && in_k) ? to_float(a_t ? a(k, row) : a(row, k)) : 0.0f;
            b_tile(kk, i) = (col < s.n && in_k) ? to_float(b_t ? b(col, k) : b(k, col)) : 0.0f;
          });
          team.team_barrier();
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, kTile * kTile), [&](int e) {
            const int i = e / kTile;
            const int j = e % kTile;
            float sum = 0.0f;
            for (int kk = 0; kk < kTile; ++kk) sum += a_tile(i, kk) * b_tile(kk, j);
            c_tile(i, j) += sum;
          });
          team.team_barrier();
        }
        Kokkos::parallel_for(Kokkos::TeamThreadRange(team, kTile * kTile), [&](int e) {
          const int row = row0 + e / kTile;
          const int col = col0 + e % kTile;
          if (row < s.m && col < s.n) {
            const float prior = beta == 0.0f ? 0.0f : beta * to_float(c(row, col));
            c(row, col) = from_float<TC>(alpha * c_tile(e / kTile, e % kTile) + prior);
          }
        });
      });
}

// --- CUDA: cuBLAS / cuBLASLt in kernels/cuda ---------------------------------------------------

#if GALORE_CUDA_DISPATCH
namespace kc = kernels::cuda;

kc::Op to_cuda(Op op) { return op == Op::N ? kc::Op::N : kc::Op::T; }

// Same row-major semantics and leading dimensions as the host BLAS path (kernels/cuda/gemm.hpp
// swaps the operands for column-major cuBLAS itself). fp32 goes to cublasSgemm (no TF32); bf16
// operands to cuBLASLt with fp32 accumulation, a bf16 C rounded once from the fp32 result, as
// host_gemm does. cuBLAS rejects empty extents: those stay on the portable kernel.
template <class TA, class TC>
void cuda_gemm(const ExecSpace& space, Op op_a, Op op_b, float alpha, const MatrixRef<const TA>& a,
               const MatrixRef<const TA>& b, float beta, const MatrixRef<TC>& c, GemmShape s) {
  if (s.m == 0 || s.n == 0 || s.k == 0) {
    portable_gemm(space, op_a, op_b, alpha, a, b, beta, c, s);
    return;
  }
  namespace cd = cuda_dispatch;
  kc::gemm(cd::blas(space), to_cuda(op_a), to_cuda(op_b), s.m, s.n, s.k, alpha, cd::words(a.data()),
           leading_dim(a), cd::words(b.data()), leading_dim(b), beta, cd::words(c.data()),
           leading_dim(c));
}

// Elements between batch entries (any value for a single entry).
template <class View>
std::int64_t batch_stride(const View& v) {
  return v.extent(0) <= 1 ? 0 : static_cast<std::int64_t>(v.stride(0));
}

template <class View>
int batched_leading_dim(const View& v) {
  return static_cast<int>(std::max<std::size_t>({v.stride(1), v.extent(2), std::size_t{1}}));
}

template <class View>
bool batched_rows_contiguous(const View& v) {
  return v.extent(2) <= 1 || v.stride(2) == 1;
}

// One strided-batched cuBLAS call for the whole batch. fp32 updates C in place; the cuBLASLt
// forms take C and D separately, here the same memory.
template <class TA, class TC>
void cuda_gemm_batched(const ExecSpace& space, Op op_a, Op op_b, float alpha,
                       const Tensor3Ref<const TA>& a, const Tensor3Ref<const TA>& b, float beta,
                       const Tensor3Ref<TC>& c, GemmShape s) {
  namespace cd = cuda_dispatch;
  const kc::GemmShape shape{to_cuda(op_a), to_cuda(op_b), s.m,
                            s.n,           s.k,           static_cast<int>(c.extent(0))};
  using WA = const typename cd::KernelWord<TA>::type;
  using WC = typename cd::KernelWord<TC>::type;
  const kc::MatrixOperand<WA> ka{cd::words(a.data()), batched_leading_dim(a), batch_stride(a)};
  const kc::MatrixOperand<WA> kb{cd::words(b.data()), batched_leading_dim(b), batch_stride(b)};
  const kc::MatrixOperand<WC> kd{cd::words(c.data()), batched_leading_dim(c), batch_stride(c)};
  if constexpr (std::is_same_v<TA, float>) {
    kc::gemm(cd::blas(space), shape, alpha, ka, kb, beta, kd);
  } else {
    const kc::MatrixOperand<const WC> kc_in{kd.data, kd.ld, kd.stride};
    kc::gemm(cd::blas(space), shape, alpha, ka, kb, beta, kc_in, kd);
  }
}
#endif

// --- dispatch ------------------------------------------------------------------------------

template <class TA, class TC>
void dispatch(const ExecSpace& space, Op op_a, Op op_b, float alpha, const MatrixRef<const TA>& a,
              const MatrixRef<const TA>& b, float beta, const MatrixRef<TC>& c) {
  const GemmShape s = check_shapes("gemm", op_a, op_b, a, b, c);
  if constexpr (host_accessible) {
    space.fence();  // BLAS runs outside Kokkos: earlier kernels on `space` must have finished
    host_gemm(op_a, op_b, alpha, a, b, beta, c, s);
  } else {
#if GALORE_CUDA_DISPATCH
    cuda_gemm(space, op_a, op_b, alpha, a, b, beta, c, s);  // views in CUDA memory
#else
    portable_gemm(space, op_a, op_b, alpha, a, b, beta, c, s);
#endif
  }
}

template <class TA, class TC>
void dispatch_batched(const ExecSpace& space, Op op_a, Op op_b, float alpha,
                      const Tensor3Ref<const TA>& a, const Tensor3Ref<const TA>& b, float beta,
                      const Tensor3Ref<TC>& c) {
  const auto batch = c.extent(0);
  if (a.extent(0) != batch || b.extent(0) != batch) {
    throw ShapeError("gemm_batched: batch extents differ: A" + shape_string(a) + ", B" +
                     shape_string(b) + ", C" + shape_string(c));
  }
#if GALORE_CUDA_DISPATCH
  // One strided-batched call when every operand's rows are contiguous (the shapes are checked on
  // the first entry; all entries share them) and no extent is empty.
  if (batch > 0 && batched_rows_contiguous(a) && batched_rows_contiguous(b) &&
      batched_rows_contiguous(c)) {
    const auto all = Kokkos::ALL;
    const GemmShape s =
        check_shapes("gemm_batched", op_a, op_b, Kokkos::subview(a, 0, all, all),
                     Kokkos::subview(b, 0, all, all), Kokkos::subview(c, 0, all, all));
    if (s.m > 0 && s.n > 0 && s.k > 0) {
      cuda_gemm_batched<TA, TC>(space, op_a, op_b, alpha, a, b, beta, c, s);
      return;
    }
  }
#endif
  for (std::size_t i = 0; i < batch; ++i) {
    const auto all = Kokkos::ALL;
    dispatch<TA, TC>(space, op_a, op_b, alpha, Kokkos::subview(a, i, all, all),
                     Kokkos::subview(b, i, all, all), beta, Kokkos::subview(c, i, all, all));
  }
}

}  // namespace

void gemm(const ExecSpace& space, Op op_a, Op op_b, float alpha, MatrixRef<const float> a,
          MatrixRef<const float> b, float beta, MatrixRef<float> c) {
  dispatch<float, float>(space, op_a, op_b, alpha, a, b, beta, c);
}
void gemm(const ExecSpace& space, Op op_a, Op op_b, float alpha, MatrixRef<const bf16> a,
          MatrixRef<const bf16> b, float beta, MatrixRef<float> c) {
  dispatch<bf16, float>(space, op_a, op_b, alpha, a, b, beta, c);
}
void gemm(const ExecSpace& space, Op op_a, Op op_b, float alpha, MatrixRef<const bf16> a,
          MatrixRef<const bf16> b, float beta, MatrixRef<bf16> c) {
  dispatch<bf16, bf16>(space, op_a, op_b, alpha, a, b, beta, c);
}

void gemm_batched(const ExecSpace& space, Op op_a, Op op_b, float alpha, Tensor3Ref<const float> a,
                  Tensor3Ref<const float> b, float beta, Tensor3Ref<float> c) {
  dispatch_batched<float, float>(space, op_a, op_b, alpha, a, b, beta, c);
}
void gemm_batched(const ExecSpace& space, Op op_a, Op op_b, float alpha, Tensor3Ref<const bf16> a,
                  Tensor3Ref<const bf16> b, float beta, Tensor3Ref<float> c) {
  dispatch_batched<bf16, float>(space, op_a, op_b, alpha, a, b, beta, c);
}
void gemm_batched(const ExecSpace& space, Op op_a, Op op_b, float alpha, Tensor3Ref<const bf16> a,
                  Tensor3Ref<const bf16> b, float beta, Tensor3Ref<bf16> c) {
  dispatch_batched<bf16, bf16>(space, op_a, op_b, alpha, a, b, beta, c);
}

void gemm_portable(const ExecSpace& space, Op op_a, Op op_b, float alpha, MatrixRef<const float> a,
                   MatrixRef<const float> b, float beta, MatrixRef<float> c) {
  portable_gemm(space, op_a, op_b, alpha, a, b, beta, c,
                check_shapes("gemm_portable", op_a, op_b, a, b, c));
}
void gemm_portable(const ExecSpace& space, Op op_a, Op op_b, float alpha, MatrixRef<const bf16> a,
                   MatrixRef<const bf16> b, float beta, MatrixRef<float> c) {
  portable_gemm(space, op_a, op_b, alpha, a, b, beta, c,
                check_shapes("gemm_portable", op_a, op_b, a, b, c));
}

}  // namespace galore
