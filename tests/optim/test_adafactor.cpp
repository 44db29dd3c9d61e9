// Adafactor and GaLore-Adafactor against the double-precision reference: factored statistics for
// matrices, full second moment for vectors, update clipping, optional first moment.
#include "catch.hpp"

#include "galore/optim/optimizer.hpp"
#include "optim_test_support.hpp"
#include "reference_optimizers.hpp"

using galore::ParamRole;
using namespace optim_test;

namespace {

void run_against_reference(const galore::OptimizerConfig& config) {
  std::vector<galore::Parameter<float>> params = {
      make_parameter<float>("matrix", ParamRole::Attention, 7, 11, 1),
      make_parameter<float>("vector", ParamRole::Norm, 1, 9, 2)};
  auto optimizer = galore::make_optimizer<float>(config, params);
  std::vector<std::vector<double>> w;
  std::vector<AdafactorState> state(params.size());
  for (auto& p : params) w.push_back(host_values(p.value));
  for (int step = 0; step < 6; ++step) {
    set_gradients(params, step, 0.1f * (step + 1));
    std::vector<std::vector<double>> grads;
    for (auto& p : params) grads.push_back(host_values(p.grad));
    const float lr = config.lr * (step + 1) / 6.0f;  // warm-up: lr enters update and decay
    optimizer->step(galore::ExecSpace(), params, step, lr);
    for (std::size_t k = 0; k < params.size(); ++k) {
      const int m = params[k].value.extent(0), n = params[k].value.extent(1);
      const auto* pr = optimizer->projector(params[k].name);
      const double lr_t =
          config.adafactor_relative_step ? std::min(1e-2, 1.0 / std::sqrt(step + 1.0)) : lr;
      std::vector<double> u;
      double scale = 1.0;
      if (pr) {
        const ReferenceBasis basis = reference_basis(*pr, m, n);
        u = basis.project_back(
            adafactor_direction(basis.project(grads[k]), pr->low_rank_rows(), pr->low_rank_cols(),
                                true, state[k], step + 1, lr_t, config.beta1, config.adafactor_eps1,
                                config.adafactor_clip_threshold, config.adafactor_decay_rate));
        scale = config.galore.scale;
      } else {
        u = adafactor_direction(grads[k], m, n, m > 1, state[k], step + 1, lr_t, config.beta1,
                                config.adafactor_eps1, config.adafactor_clip_threshold,
                                config.adafactor_decay_rate);
      }
      for (std::size_t i = 0; i < w[k].size(); ++i) {
        w[k][i] = w[k][i] - config.weight_decay * lr_t * w[k][i] - scale * u[i];
      }
      const auto got = host_values(params[k].value);
      for (std::size_t i = 0; i < got.size(); ++i) {
        INFO("step " << step << " param " << params[k].name << " entry " << i);
        CHECK(got[i] == Approx(w[k][i]).margin(2e-6));
      }
    }
  }
}

galore::OptimizerConfig adafactor_config(const char* name) {
  galore::OptimizerConfig c;
  c.name = name;
  c.lr = 0.05f;
  c.weight_decay = 0.1f;
  c.galore.rank = 4;
  c.galore.update_gap = 2;
  c.galore.scale = 0.5f;
  return c;
}

}  // namespace

TEST_CASE("Adafactor with a first moment matches the reference", "[optim][adafactor]") {
  run_against_reference(adafactor_config("adafactor"));
}

TEST_CASE("Adafactor without a first moment and with a tight clip threshold",
          "[optim][adafactor]") {
  auto c = adafactor_config("adafactor");
  c.beta1 = 0.0f;
  c.adafactor_clip_threshold = 0.3f;  // clipping active on every step
  run_against_reference(c);
}

TEST_CASE("Adafactor relative step", "[optim][adafactor]") {
  auto c = adafactor_config("adafactor");
  c.adafactor_relative_step = true;
  run_against_reference(c);
}

TEST_CASE("GaLore-Adafactor matches the projected reference", "[optim][adafactor][galore]") {
  for (const char* proj : {"std", "reverse_std", "full"}) {
    INFO(proj);
    auto c = adafactor_config("galore_adafactor");
    c.galore.proj_type = proj;
    run_against_reference(c);
  }
}
