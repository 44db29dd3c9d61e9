// Per-layer updates equal the standard step; gradient clipping rules; non-finite gradients are
// skipped without touching weights or state.
#include "catch.hpp"

#include "galore/core/error.hpp"
#include "galore/optim/gradient_clipping.hpp"
#include "galore/optim/optimizer.hpp"
#include "optim_test_support.hpp"

#include <cmath>
#include <limits>

using galore::bf16;
using galore::ParamRole;
using namespace optim_test;

namespace {

template <class T>
std::vector<galore::Parameter<T>> tiny_model() {
  return {make_parameter<T>("embed", ParamRole::Embedding, 20, 8, 1),
          make_parameter<T>("layers.0.q", ParamRole::Attention, 8, 8, 2),
          make_parameter<T>("layers.0.up", ParamRole::Mlp, 12, 8, 3),
          make_parameter<T>("layers.0.down", ParamRole::Mlp, 8, 12, 4),
          make_parameter<T>("norm", ParamRole::Norm, 1, 8, 5),
          make_parameter<T>("head", ParamRole::Head, 20, 8, 6)};
}

galore::OptimizerConfig galore_config(const char* name) {
  galore::OptimizerConfig c;
  c.name = name;
  c.lr = 0.01f;
  c.weight_decay = 0.01f;
  c.quantization_block_size = 256;
  c.galore.rank = 4;
  c.galore.update_gap = 2;
  return c;
}

template <class T>
void poison(galore::Parameter<T>& p, float value) {
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), p.grad);
  h(p.grad.extent(0) / 2, 1) = value;
  Kokkos::deep_copy(p.grad, h);
}

}  // namespace

TEMPLATE_TEST_CASE("per-layer updates in backward order equal the standard step bit for bit",
                   "[optim][per_layer]", float, bf16) {
  using T = TestType;
  for (const char* name : {"adamw", "galore_adamw", "galore_adamw8bit", "galore_adafactor"}) {
    INFO(name);
    auto standard = tiny_model<T>();
    auto per_layer = clone(standard);
    const auto config = galore_config(name);
    auto a = galore::make_optimizer<T>(config, standard);
    auto b = galore::make_optimizer<T>(config, per_layer);
    for (int step = 0; step < 5; ++step) {
      set_gradients(standard, step);
      a->step(galore::ExecSpace(), standard, step, config.lr);
      // Per-layer: gradients arrive head first; each is updated and freed before the next exists.
      b->begin_step(step, config.lr);
      for (std::size_t k = per_layer.size(); k-- > 0;) {
        per_layer[k].grad =
            random_matrix<float>(per_layer[k].value.extent(0), per_layer[k].value.extent(1),
                                 1000 * (step + 1) + k, -1.0f, 1.0f);
        b->update(galore::ExecSpace(), per_layer[k]);
        per_layer[k].grad = galore::Matrix<float>();
      }
      const auto report = b->end_step();
      CHECK(report.updated == 6);
      for (std::size_t k = 0; k < standard.size(); ++k) {
        CHECK(host_values(standard[k].value) == host_values(per_layer[k].value));
      }
    }
    CHECK(state_snapshot(*a) == state_snapshot(*b));
  }
}

TEST_CASE("a non-finite gradient skips that parameter only, leaving weights and state intact",
          "[optim][nonfinite]") {
  for (const char* name :
       {"adamw", "adam8bit", "adafactor", "galore_adamw", "galore_adamw8bit", "galore_adafactor"}) {
    for (const int bad_step : {0, 1}) {  // 0: GaLore refresh step (checked before the SVD)
      INFO(name << " bad step " << bad_step);
      auto params = tiny_model<float>();
      auto clean = clone(params);
      const auto config = galore_config(name);
      auto opt = galore::make_optimizer<float>(config, params);
      auto ref = galore::make_optimizer<float>(config, clean);
      int clean_step = 0;
      for (int step = 0; step < 4; ++step) {
        set_gradients(params, step);
        if (step == bad_step) {
          poison(params[2], step == 0 ? std::numeric_limits<float>::quiet_NaN()
                                      : std::numeric_limits<float>::infinity());
          const auto before = state_snapshot(*opt);
          const auto weights = host_values(params[2].value);
          const auto report = opt->step(galore::ExecSpace(), params, step, config.lr);
          REQUIRE(report.skipped == std::vector<std::string>{"layers.0.up"});
          CHECK(report.updated == 5);
          CHECK(host_values(params[2].value) == weights);
          const auto after = state_snapshot(*opt);
          for (const auto& entry : before) {
            if (entry.first.rfind("layers.0.up.", 0) == 0)
              CHECK(after.at(entry.first) == entry.second);
          }
          CHECK(opt->parameter_step("layers.0.up") == bad_step);
          continue;
        }
        // The clean run sees the bad parameter's good steps only, in the same order.
        opt->step(galore::ExecSpace(), params, step, config.lr);
        std::vector<galore::Parameter<float>> only = {clean[2]};
        only[0].grad = galore::Matrix<float>("g", 12, 8);
        set_gradients(clean, step);
        Kokkos::deep_copy(only[0].grad, clean[2].grad);
        ref->begin_step(clean_step++, config.lr);
        ref->update(galore::ExecSpace(), only[0]);
        ref->end_step();
      }
      // The skipped step left no trace: the parameter continued as if it had never happened.
      CHECK(host_values(params[2].value) == host_values(clean[2].value));
    }
  }
}

TEST_CASE("global-norm clipping scales every gradient by max_norm / norm", "[optim][clipping]") {
  auto params = tiny_model<float>();
  set_gradients(params, 0);
  double sum = 0;
  std::vector<std::vector<double>> before;
  for (auto& p : params) {
    before.push_back(host_values(p.grad));
    for (double g : before.back()) sum += g * g;
  }
  const double expected = std::sqrt(sum);
  CHECK(galore::global_grad_norm(galore::ExecSpace(), params) == Approx(expected).epsilon(1e-12));
  const double max_norm = expected / 4;
  const double norm = galore::clip_grad_norm(galore::ExecSpace(), params, max_norm);
  CHECK(norm == Approx(expected).epsilon(1e-12));
  for (std::size_t k = 0; k < params.size(); ++k) {
    const auto after = host_values(params[k].grad);
    for (std::size_t i = 0; i < after.size(); ++i) {
      CHECK(after[i] == Approx(before[k][i] * max_norm / expected).epsilon(1e-6));
    }
  }
  // Below the threshold nothing changes; a non-finite gradient does not enter the norm.
  const auto unchanged = host_values(params[0].grad);
  galore::clip_grad_norm(galore::ExecSpace(), params, 10 * expected);
  CHECK(host_values(params[0].grad) == unchanged);
  poison(params[1], std::numeric_limits<float>::infinity());
  CHECK(std::isfinite(galore::global_grad_norm(galore::ExecSpace(), params)));
  CHECK_THROWS_AS(galore::clip_grad_norm(galore::ExecSpace(), params, 0.0), galore::ConfigError);
}

TEST_CASE("per-layer clipping uses the previous step's global norm", "[optim][clipping]") {
  auto params = tiny_model<float>();
  galore::PreviousNormClipper clipper(1.0);
  double previous = -1;
  for (int step = 0; step < 3; ++step) {
    set_gradients(params, step, 0.5f + step);
    const double norm_now = galore::global_grad_norm(galore::ExecSpace(), params);
    clipper.begin_step();
    // Expected factor: 1 on the first step, then min(1, max_norm / previous step's norm).
    const double factor = previous < 0 ? 1.0 : std::min(1.0, 1.0 / previous);
    CHECK(clipper.scale() == Approx(factor));
    for (std::size_t k = params.size(); k-- > 0;) {
      const auto g = host_values(params[k].grad);
      if (step == 2 && k == 3) poison(params[k], std::numeric_limits<float>::quiet_NaN());
      clipper.clip(galore::ExecSpace(), params[k].grad);
      const auto clipped = host_values(params[k].grad);
      for (std::size_t i = 0; i < g.size(); ++i) {
        if (std::isfinite(clipped[i])) CHECK(clipped[i] == Approx(g[i] * factor).epsilon(1e-6));
      }
    }
    const double reported = clipper.end_step();
    if (step < 2) {
      CHECK(reported == Approx(norm_now).epsilon(1e-9));  // the unclipped global norm
    } else {
      // The NaN parameter is left out of the norm (the optimizer will skip it).
      double without = 0;
      for (std::size_t k = 0; k < params.size(); ++k) {
        if (k == 3) continue;
        for (double g : host_values(params[k].grad)) without += g * g;
      }
      CHECK(reported == Approx(std::sqrt(without) / factor).epsilon(1e-6));
    }
    previous = reported;
  }
}
