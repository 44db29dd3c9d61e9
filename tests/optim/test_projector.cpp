// GaLore projector: side selection per projection type, orthonormal bases in both dtypes, refresh
// exactly at steps 0, T, 2T, randomized refresh, and moment re-projection.
#include "catch.hpp"

#include "galore/optim/optimizer.hpp"
#include "galore/optim/projector.hpp"
#include "optim_test_support.hpp"
#include "reference_optimizers.hpp"

#include <cmath>

using galore::bf16;
using galore::ParamRole;
using galore::ProjectionSide;
using galore::ProjectionType;
using namespace optim_test;

TEST_CASE("projection side follows galore_torch for tall and wide weights", "[optim][projector]") {
  // torch [out, in]: tall = more rows (gate/up [i x h]), wide = more columns (down [h x i]).
  const int tall_rows = 12, tall_cols = 5, wide_rows = 5, wide_cols = 12;
  struct Case {
    ProjectionType type;
    ProjectionSide tall, wide;
  };
  const Case cases[] = {
      {ProjectionType::Std, ProjectionSide::Right, ProjectionSide::Left},
      {ProjectionType::ReverseStd, ProjectionSide::Left, ProjectionSide::Right},
      {ProjectionType::Left, ProjectionSide::Left, ProjectionSide::Left},
      {ProjectionType::Right, ProjectionSide::Right, ProjectionSide::Right},
      {ProjectionType::Full, ProjectionSide::Both, ProjectionSide::Both},
  };
  for (const Case& c : cases) {
    CHECK(galore::projection_side(c.type, tall_rows, tall_cols) == c.tall);
    CHECK(galore::projection_side(c.type, wide_rows, wide_cols) == c.wide);
  }
  // Square weights (q/k/v/o) count as "rows >= cols".
  CHECK(galore::projection_side(ProjectionType::Std, 8, 8) == ProjectionSide::Right);

  // Shapes of bases and low-rank states: std keeps the larger dimension in the state.
  galore::GaLoreProjector<float> tall(ProjectionSide::Right, 12, 5, 3);
  CHECK(tall.right().extent(0) == 3);
  CHECK(tall.right().extent(1) == 5);
  CHECK(tall.left().size() == 0);
  CHECK(tall.low_rank_rows() == 12);
  CHECK(tall.low_rank_cols() == 3);
  galore::GaLoreProjector<float> wide(ProjectionSide::Left, 5, 12, 3);
  CHECK(wide.left().extent(0) == 5);
  CHECK(wide.left().extent(1) == 3);
  CHECK(wide.low_rank_rows() == 3);
  CHECK(wide.low_rank_cols() == 12);
  galore::GaLoreProjector<float> both(ProjectionSide::Both, 5, 12, 3);
  CHECK(both.low_rank_rows() == 3);
  CHECK(both.low_rank_cols() == 3);
}

TEMPLATE_TEST_CASE("refreshed bases are orthonormal and span the top singular vectors",
                   "[optim][projector]", float, bf16) {
  using T = TestType;
  const double tol = std::is_same_v<T, float> ? 1e-5 : 2e-2;  // bf16 basis: 8-bit mantissa
  for (const auto side : {ProjectionSide::Left, ProjectionSide::Right, ProjectionSide::Both}) {
    for (const auto method : {galore::RefreshMethod::Svd, galore::RefreshMethod::Randomized}) {
      const int m = 20, n = 14, r = 4;
      // G = A B + small noise: rank 4 plus noise, so both methods find the same subspace.
      const auto a = random_matrix<float>(m, r, 11), b = random_matrix<float>(r, n, 12);
      const auto noise = random_matrix<float>(m, n, 13, -1e-3f, 1e-3f);
      auto g = matmul(host_values(a), false, m, r, host_values(b), false, r, n);
      const auto hn = host_values(noise);
      for (std::size_t i = 0; i < g.size(); ++i) g[i] += hn[i];
      galore::GaLoreProjector<T> projector(side, m, n, r);
      galore::RangeFinderOptions options;
      options.seed = 5;
      const auto transition =
          projector.refresh(galore::ExecSpace(), from_host<float>(m, n, g), method, options, false);
      CHECK(transition.left.size() == 0);  // the first refresh has no basis to transit from
      const ReferenceBasis basis = reference_basis(projector, m, n);
      INFO("side " << galore::projection_side_name(side) << " randomized "
                   << (method == galore::RefreshMethod::Randomized));
      if (!basis.P.empty()) {
        const auto ptp = matmul(basis.P, true, m, r, basis.P, false, m, r);
        for (int i = 0; i < r; ++i)
          for (int j = 0; j < r; ++j) CHECK(std::abs(ptp[i * r + j] - (i == j)) < tol);
      }
      if (!basis.Q.empty()) {
        const auto qqt = matmul(basis.Q, false, r, n, basis.Q, true, r, n);
        for (int i = 0; i < r; ++i)
          for (int j = 0; j < r; ++j) CHECK(std::abs(qqt[i * r + j] - (i == j)) < tol);
      }
      // The subspace captures G: ||G - back(project(G))|| / ||G|| is at the noise level.
      const auto back = basis.project_back(basis.project(g));
      double err = 0, norm = 0;
      for (std::size_t i = 0; i < g.size(); ++i) {
        err += (g[i] - back[i]) * (g[i] - back[i]);
        norm += g[i] * g[i];
      }
      CHECK(std::sqrt(err / norm) < (std::is_same_v<T, float> ? 1e-3 : 3e-2));
    }
  }
}

TEST_CASE("the projector's kernels equal the written-out products", "[optim][projector]") {
  const int m = 9, n = 13, r = 4;
  for (const auto side : {ProjectionSide::Left, ProjectionSide::Right, ProjectionSide::Both}) {
    galore::GaLoreProjector<bf16> projector(side, m, n, r);
    projector.refresh(galore::ExecSpace(), random_matrix<float>(m, n, 21),
                      galore::RefreshMethod::Svd, {}, false);
    const ReferenceBasis basis = reference_basis(projector, m, n);
    galore::ScratchBuffers scratch;
    const auto g = random_matrix<float>(m, n, 22);
    galore::Matrix<float> low("low", projector.low_rank_rows(), projector.low_rank_cols());
    galore::Matrix<float> full("full", m, n);
    projector.project(galore::ExecSpace(), g, low, scratch);
    projector.project_back(galore::ExecSpace(), low, full, scratch);
    const auto want_low = basis.project(host_values(g));
    const auto want_full = basis.project_back(want_low);
    CHECK(max_abs_difference(host_values(low), want_low) < 1e-5);
    CHECK(max_abs_difference(host_values(full), want_full) < 1e-5);
  }
}

TEST_CASE("subspaces are refreshed exactly at steps 0, T, 2T", "[optim][projector]") {
  std::vector<galore::Parameter<float>> params = {
      make_parameter<float>("attn", ParamRole::Attention, 8, 8, 1),
      make_parameter<float>("mlp", ParamRole::Mlp, 12, 8, 2),
      make_parameter<float>("embed", ParamRole::Embedding, 16, 8, 3)};
  galore::OptimizerConfig config;
  config.name = "galore_adamw";
  config.galore.rank = 2;
  config.galore.update_gap = 3;
  auto optimizer = galore::make_optimizer<float>(config, params);
  std::vector<double> previous;
  for (int step = 0; step < 8; ++step) {
    set_gradients(params, step);
    const auto report = optimizer->step(galore::ExecSpace(), params, step, config.lr);
    const bool refresh = step % 3 == 0;
    INFO("step " << step);
    CHECK(report.refreshed == (refresh ? 2 : 0));
    const auto basis = host_values(optimizer->projector("mlp")->right());
    if (step > 0) CHECK((max_abs_difference(basis, previous) > 0) == refresh);
    previous = basis;
    CHECK(optimizer->parameter_step("mlp") == step + 1);
  }
}

TEST_CASE("re-projected moments follow the subspace change", "[optim][projector]") {
  // With reproject_moments, after a refresh the first moment equals L M_old (L = P_new^T P_old)
  // updated with the new projected gradient: checked through exp_avg against a host computation.
  std::vector<galore::Parameter<float>> params = {
      make_parameter<float>("w", ParamRole::Mlp, 6, 10, 1)};
  galore::OptimizerConfig config;
  config.name = "galore_adamw";
  config.beta1 = 0.8f;
  config.galore.rank = 3;
  config.galore.update_gap = 2;
  config.galore.reproject_moments = true;
  auto optimizer = galore::make_optimizer<float>(config, params);
  const auto* pr = optimizer->projector("w");
  std::vector<double> m_old, p_old;
  for (int step = 0; step < 3; ++step) {
    set_gradients(params, step);
    const auto g = host_values(params[0].grad);
    optimizer->step(galore::ExecSpace(), params, step, config.lr);
    const ReferenceBasis basis = reference_basis(*pr, 6, 10);
    const auto m = state_values<float>(*optimizer, "w.exp_avg");
    if (step == 2) {  // refresh at step 2: M = b1 (P_new^T P_old) M_old + (1 - b1) P_new^T G
      const auto transition = matmul(basis.P, true, 6, 3, p_old, false, 6, 3);
      const auto rotated = matmul(transition, false, 3, 3, m_old, false, 3, 10);
      const auto low = basis.project(g);
      for (std::size_t i = 0; i < m.size(); ++i) {
        CHECK(m[i] == Approx(0.8 * rotated[i] + 0.2 * low[i]).margin(1e-6));
      }
    }
    m_old.assign(m.begin(), m.end());
    p_old = basis.P;
  }
}
