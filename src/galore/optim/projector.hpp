// The GaLore projector of one 2-D weight (Zhao et al. 2024, Alg. 1): keeps the top-`rank`
// singular vectors of a recent gradient G [m x n] and maps G into that subspace and back.
//
//   side   basis                    project (R)       project_back (full)
//   Left   P = U[:, :r]   [m x r]   P^T G    [r x n]   P N
//   Right  Q = Vt[:r, :]  [r x n]   G Q^T    [m x r]   N Q
//   Both   P and Q                  P^T G Q^T [r x r]  P N Q
//
// Side for each projection type (galore_torch's rule, torch [out, in] shapes): "std" uses Right
// when m >= n and Left otherwise, so the basis is min(m, n) x r and the moments keep the larger
// dimension (states 2 r max(m, n), the paper's "mr + 2nr" for m <= n); "reverse_std" swaps the
// two; "left" and "right" force one side; "full" uses both. P and Q are stored in the weight dtype
// T; they are computed in fp32 (exact thin SVD, or the randomized range finder) and rounded once.
// When Kokkos runs on CUDA, refresh() runs on cuSOLVER (kernels/cuda ProjectorRefresher).
#pragma once

#include "galore/core/linalg.hpp"
#include "galore/core/tensor.hpp"
#include "galore/optim/optimizer_config.hpp"
#include "galore/optim/scratch_buffers.hpp"

namespace galore {

enum class ProjectionSide { Left, Right, Both };

ProjectionSide projection_side(ProjectionType type, int rows, int cols);
const char* projection_side_name(ProjectionSide side);

// Carries low-rank coordinates from the old basis to the new one: R_new ~= L R_old R^T with
// L = P_new^T P_old [r x r] and R = Q_new Q_old^T [r x r] (empty for an unused side).
struct SubspaceTransition {
  Matrix<float> left;
  Matrix<float> right;
};

template <class T>
class GaLoreProjector {
 public:
  GaLoreProjector(ProjectionSide side, int rows, int cols, int rank);

  ProjectionSide side() const { return side_; }
  int rank() const { return rank_; }
  int low_rank_rows() const { return side_ == ProjectionSide::Right ? rows_ : rank_; }
  int low_rank_cols() const { return side_ == ProjectionSide::Left ? cols_ : rank_; }
  const Matrix<T>& left() const { return left_; }    // P [rows x rank], empty for Right
  const Matrix<T>& right() const { return right_; }  // Q [rank x cols], empty for Left

  // Recomputes the basis from `grad` [rows x cols]. Returns the old-to-new transition when
  // `want_transition`, which the caller asks for only when a basis exists (a parameter step > 0:
  // the optimizer's step counters are checkpointed, so this also holds after a resume);
  // otherwise empty matrices.
  SubspaceTransition refresh(const ExecSpace& space, const Matrix<float>& grad,
                             RefreshMethod method, const RangeFinderOptions& options,
                             bool want_transition);

  // low [low_rank_rows x low_rank_cols] = projection of grad [rows x cols].
  void project(const ExecSpace& space, const Matrix<float>& grad, const Matrix<float>& low,
               ScratchBuffers& scratch) const;
  // full [rows x cols] = low mapped back (no alpha: the optimizer applies the scale).
  void project_back(const ExecSpace& space, const Matrix<float>& low, const Matrix<float>& full,
                    ScratchBuffers& scratch) const;

  // The scratch sizes project/project_back need, for ScratchBuffers::reserve.
  void reserve_scratch(ScratchBuffers& scratch) const;

 private:
  Matrix<float> left_as_float(const ExecSpace& space, ScratchBuffers& scratch) const;
  Matrix<float> right_as_float(const ExecSpace& space, ScratchBuffers& scratch) const;
  bool uses_left() const { return side_ != ProjectionSide::Right; }
  bool uses_right() const { return side_ != ProjectionSide::Left; }

  ProjectionSide side_;
  int rows_, cols_, rank_;
  Matrix<T> left_;
  Matrix<T> right_;
};

}  // namespace galore
