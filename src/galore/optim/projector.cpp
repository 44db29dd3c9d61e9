// Basis refresh (SVD or randomized range finder) and the projection GEMMs.
#include "galore/optim/projector.hpp"

#include "galore/core/cuda_dispatch.hpp"
#include "galore/core/error.hpp"
#include "galore/core/gemm.hpp"

#include <fmt/format.h>

#include <cstdint>

namespace galore {

ProjectionSide projection_side(ProjectionType type, int rows, int cols) {
  switch (type) {
    case ProjectionType::Std: return rows >= cols ? ProjectionSide::Right : ProjectionSide::Left;
    case ProjectionType::ReverseStd:
      return rows >= cols ? ProjectionSide::Left : ProjectionSide::Right;
    case ProjectionType::Left: return ProjectionSide::Left;
    case ProjectionType::Right: return ProjectionSide::Right;
    case ProjectionType::Full: return ProjectionSide::Both;
  }
  return ProjectionSide::Left;
}

const char* projection_side_name(ProjectionSide side) {
  switch (side) {
    case ProjectionSide::Left: return "left";
    case ProjectionSide::Right: return "right";
    case ProjectionSide::Both: return "both";
  }
  return "unknown";
}

namespace {

// Decorrelates the right basis's sketch from the left one's (ProjectionSide::Both).
constexpr std::uint64_t kRightSketchSeed = 0x9E3779B97F4A7C15ull;

#if !GALORE_CUDA_DISPATCH
// dst (T) <- src (fp32, possibly a strided block), rounding once.
template <class T>
void store_rounded(const ExecSpace& space, const MatrixRef<const float>& src,
                   const Matrix<T>& dst) {
  Kokkos::parallel_for(
      "galore::projector_store",
      Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>>(
          space, {0, 0},
          {static_cast<std::int64_t>(dst.extent(0)), static_cast<std::int64_t>(dst.extent(1))}),
      KOKKOS_LAMBDA(const std::int64_t i, const std::int64_t j) {
        dst(i, j) = from_float<T>(src(i, j));
      });
}
#endif

// dst (fp32) <- src (T).
template <class T>
void widen(const ExecSpace& space, const Matrix<T>& src, const Matrix<float>& dst) {
  Kokkos::parallel_for(
      "galore::projector_widen", Kokkos::RangePolicy<ExecSpace>(space, 0, src.span()),
      KOKKOS_LAMBDA(const std::size_t i) { dst.data()[i] = to_float(src.data()[i]); });
}

#if !GALORE_CUDA_DISPATCH
Matrix<float> transposed(const ExecSpace& space, const Matrix<float>& a) {
  Matrix<float> t("galore::projector_transpose", a.extent(1), a.extent(0));
  Kokkos::parallel_for(
      "galore::projector_transpose",
      Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>>(
          space, {0, 0},
          {static_cast<std::int64_t>(a.extent(0)), static_cast<std::int64_t>(a.extent(1))}),
      KOKKOS_LAMBDA(const std::int64_t i, const std::int64_t j) { t(j, i) = a(i, j); });
  return t;
}
#endif

}  // namespace

template <class T>
GaLoreProjector<T>::GaLoreProjector(ProjectionSide side, int rows, int cols, int rank)
    : side_(side), rows_(rows), cols_(cols), rank_(rank) {
  if (rank < 1 || rank > std::min(rows, cols)) {
    throw ShapeError(
        fmt::format("GaLoreProjector: rank {} outside [1, min({}, {})]", rank, rows, cols));
  }
  if (uses_left()) left_ = Matrix<T>("galore::projector_left", rows, rank);
  if (uses_right()) right_ = Matrix<T>("galore::projector_right", rank, cols);
}

template <class T>
Matrix<float> GaLoreProjector<T>::left_as_float(const ExecSpace& space,
                                                ScratchBuffers& scratch) const {
  if constexpr (std::is_same_v<T, float>) {
    (void)space;
    (void)scratch;
    return left_;
  } else {
    const Matrix<float> p = scratch.matrix(ScratchSlot::LeftBasis, rows_, rank_);
    widen(space, left_, p);
    return p;
  }
}

template <class T>
Matrix<float> GaLoreProjector<T>::right_as_float(const ExecSpace& space,
                                                 ScratchBuffers& scratch) const {
  if constexpr (std::is_same_v<T, float>) {
    (void)space;
    (void)scratch;
    return right_;
  } else {
    const Matrix<float> q = scratch.matrix(ScratchSlot::RightBasis, rank_, cols_);
    widen(space, right_, q);
    return q;
  }
}

#if GALORE_CUDA_DISPATCH
namespace {

// kernels/cuda/projector_refresh.hpp computes the same bases (top-`rank` left singular vectors as
// P [rows x rank], right ones as the rows of Q [rank x cols], each rounded once to T) into the
// stored projector, by gesvdj or the randomized range finder with this call's seed (its sketch
// differs from the Kokkos one, so randomized bases agree up to the range finder's accuracy). It
// runs on the refresher's stream after `space`'s work so far, and `space` waits for it. A
// non-finite gradient or a solver failure keeps the old basis there; here it throws NumericError
// as the LAPACK path does, at the cost of one synchronisation per refresh.
template <class T>
void refresh_on_device(const ExecSpace& space, const Matrix<float>& grad, RefreshMethod method,
                       const RangeFinderOptions& options, const Matrix<T>& left,
                       const Matrix<T>& right, int rank) {
  namespace cd = cuda_dispatch;
  namespace kc = kernels::cuda;
  kc::ProjectorRefresher& refresher = cd::projector_refresher(
      space, method == RefreshMethod::Svd ? kc::RefreshMethod::Svd : kc::RefreshMethod::Randomized,
      options.oversampling, options.power_iterations);
  const int rejected_before = refresher.rejected_refreshes();
  const int rows = static_cast<int>(grad.extent(0));
  const int cols = static_cast<int>(grad.extent(1));
  if (left.size() > 0) {
    refresher.set_seed(options.seed);
    refresher.enqueue(grad.data(), kc::GaLoreShape{rows, cols, rank, kc::ProjectionSide::Left},
                      cd::words(left.data()), cd::stream(space));
  }
  if (right.size() > 0) {
    refresher.set_seed(options.seed ^ kRightSketchSeed);
    refresher.enqueue(grad.data(), kc::GaLoreShape{rows, cols, rank, kc::ProjectionSide::Right},
                      cd::words(right.data()), cd::stream(space));
  }
  refresher.wait(cd::stream(space));
  if (refresher.rejected_refreshes() != rejected_before) {
    throw NumericError(fmt::format(
        "GaLoreProjector::refresh: cuSOLVER rejected the refresh of gradient {} (non-finite "
        "values or no convergence); the old basis is kept",
        shape_string(grad)));
  }
}

}  // namespace
#endif

template <class T>
SubspaceTransition GaLoreProjector<T>::refresh(const ExecSpace& space, const Matrix<float>& grad,
                                               RefreshMethod method,
                                               const RangeFinderOptions& options,
                                               bool want_transition) {
  if (static_cast<int>(grad.extent(0)) != rows_ || static_cast<int>(grad.extent(1)) != cols_) {
    throw ShapeError(fmt::format("GaLoreProjector::refresh: gradient {} for a [{}x{}] projector",
                                 shape_string(grad), rows_, cols_));
  }
  const bool transit = want_transition;
  Matrix<float> old_left, old_right;
  if (transit && uses_left()) {
    old_left = Matrix<float>("galore::projector_old_left", rows_, rank_);
    widen(space, left_, old_left);
  }
  if (transit && uses_right()) {
    old_right = Matrix<float>("galore::projector_old_right", rank_, cols_);
    widen(space, right_, old_right);
  }

#if GALORE_CUDA_DISPATCH
  refresh_on_device(space, grad, method, options, left_, right_, rank_);
#else
  // New bases in fp32; the top-r left singular vectors span the range of G, the top-r right ones
  // the range of G^T, so the randomized path runs the range finder on G and on G^T.
  Matrix<float> new_left, new_right;
  const auto r = std::make_pair(0, rank_);
  if (method == RefreshMethod::Svd) {
    const ThinSvd svd = svd_thin(space, grad);
    if (uses_left()) {
      new_left = Matrix<float>("galore::projector_new_left", rows_, rank_);
      Kokkos::deep_copy(space, new_left, Kokkos::subview(svd.u, Kokkos::ALL, r));
    }
    if (uses_right()) {
      new_right = Matrix<float>("galore::projector_new_right", rank_, cols_);
      Kokkos::deep_copy(space, new_right, Kokkos::subview(svd.vt, r, Kokkos::ALL));
    }
  } else {
    if (uses_left()) new_left = randomized_range_finder(space, grad, rank_, options);
    if (uses_right()) {
      RangeFinderOptions right_options = options;
      right_options.seed = options.seed ^ kRightSketchSeed;  // independent sketch
      new_right = transposed(
          space, randomized_range_finder(space, transposed(space, grad), rank_, right_options));
    }
  }
  if (uses_left()) store_rounded<T>(space, new_left, left_);
  if (uses_right()) store_rounded<T>(space, new_right, right_);
#endif

  // Transitions use the stored (rounded) bases, the ones project() multiplies by.
  SubspaceTransition transition;
  if (transit && uses_left()) {
    const Matrix<float> stored("galore::projector_stored_left", rows_, rank_);
    widen(space, left_, stored);
    transition.left = Matrix<float>("galore::transition_left", rank_, rank_);
    gemm(space, Op::T, Op::N, 1.0f, stored, old_left, 0.0f, transition.left);
  }
  if (transit && uses_right()) {
    const Matrix<float> stored("galore::projector_stored_right", rank_, cols_);
    widen(space, right_, stored);
    transition.right = Matrix<float>("galore::transition_right", rank_, rank_);
    gemm(space, Op::N, Op::T, 1.0f, stored, old_right, 0.0f, transition.right);
  }
  return transition;
}

template <class T>
void GaLoreProjector<T>::project(const ExecSpace& space, const Matrix<float>& grad,
                                 const Matrix<float>& low, ScratchBuffers& scratch) const {
  switch (side_) {
    case ProjectionSide::Left:
      gemm(space, Op::T, Op::N, 1.0f, left_as_float(space, scratch), grad, 0.0f, low);
      break;
    case ProjectionSide::Right:
      gemm(space, Op::N, Op::T, 1.0f, grad, right_as_float(space, scratch), 0.0f, low);
      break;
    case ProjectionSide::Both: {
      const Matrix<float> tmp = scratch.matrix(ScratchSlot::Intermediate, rank_, cols_);
      gemm(space, Op::T, Op::N, 1.0f, left_as_float(space, scratch), grad, 0.0f, tmp);
      gemm(space, Op::N, Op::T, 1.0f, tmp, right_as_float(space, scratch), 0.0f, low);
      break;
    }
  }
}

template <class T>
void GaLoreProjector<T>::project_back(const ExecSpace& space, const Matrix<float>& low,
                                      const Matrix<float>& full, ScratchBuffers& scratch) const {
  switch (side_) {
    case ProjectionSide::Left:
      gemm(space, Op::N, Op::N, 1.0f, left_as_float(space, scratch), low, 0.0f, full);
      break;
    case ProjectionSide::Right:
      gemm(space, Op::N, Op::N, 1.0f, low, right_as_float(space, scratch), 0.0f, full);
      break;
    case ProjectionSide::Both: {
      const Matrix<float> tmp = scratch.matrix(ScratchSlot::Intermediate, rows_, rank_);
      gemm(space, Op::N, Op::N, 1.0f, left_as_float(space, scratch), low, 0.0f, tmp);
      gemm(space, Op::N, Op::N, 1.0f, tmp, right_as_float(space, scratch), 0.0f, full);
      break;
    }
  }
}

template <class T>
void GaLoreProjector<T>::reserve_scratch(ScratchBuffers& scratch) const {
  scratch.reserve(ScratchSlot::LowRank, low_rank_rows(), low_rank_cols());
  if (!std::is_same_v<T, float>) {
    if (uses_left()) scratch.reserve(ScratchSlot::LeftBasis, rows_, rank_);
    if (uses_right()) scratch.reserve(ScratchSlot::RightBasis, rank_, cols_);
  }
  if (side_ == ProjectionSide::Both) {
    // [rank x cols] when projecting, [rows x rank] when projecting back.
    scratch.reserve(ScratchSlot::Intermediate, 1, std::max(rank_ * cols_, rows_ * rank_));
  }
}

template class GaLoreProjector<float>;
template class GaLoreProjector<bf16>;

}  // namespace galore
