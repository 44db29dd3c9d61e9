// 8-bit Adam and 8-bit GaLore-Adam against a host reference that quantizes with the dynamic map
// by brute-force nearest search (independent of the kernel's binary search).
#include "catch.hpp"

#include "galore/optim/dynamic_quantization.hpp"
#include "galore/optim/optimizer.hpp"
#include "optim_test_support.hpp"
#include "reference_optimizers.hpp"

#include <cmath>

using galore::ParamRole;
using namespace optim_test;

namespace {

int nearest_code(const std::vector<float>& map, double x, bool keep_sign) {
  int best = 0;
  for (int c = 1; c < 256; ++c) {
    if (std::abs(map[c] - x) < std::abs(map[best] - x)) best = c;
  }
  if (keep_sign && x < 0 && map[best] >= 0) --best;
  return best;
}

// bitsandbytes' block-wise 8-bit Adam on one tensor, moments held as codes + absmax.
struct Reference8bit {
  int block;
  std::vector<float> map_m = galore::dynamic_map_values(true);
  std::vector<float> map_v = galore::dynamic_map_values(false);
  std::vector<std::uint8_t> code_m, code_v;
  std::vector<float> absmax_m, absmax_v;

  Reference8bit(std::size_t n, int block_size) : block(block_size) {
    code_m.assign(n, 127);
    code_v.assign(n, 0);
    absmax_m.assign((n + block - 1) / block, 0.0f);
    absmax_v.assign(absmax_m.size(), 0.0f);
  }

  std::vector<double> direction(const std::vector<double>& g, int t, double b1, double b2,
                                double eps) {
    const std::size_t n = g.size();
    std::vector<double> m(n), v(n), d(n);
    for (std::size_t i = 0; i < n; ++i) {
      m[i] = b1 * map_m[code_m[i]] * double(absmax_m[i / block]) + (1 - b1) * g[i];
      v[i] = b2 * map_v[code_v[i]] * double(absmax_v[i / block]) + (1 - b2) * g[i] * g[i];
      d[i] = (m[i] / (1 - std::pow(b1, t))) / (std::sqrt(v[i] / (1 - std::pow(b2, t))) + eps);
    }
    for (std::size_t b = 0; b < absmax_m.size(); ++b) {
      double mm = 0, mv = 0;
      for (std::size_t i = b * block; i < std::min(n, (b + 1) * block); ++i) {
        mm = std::max(mm, std::abs(m[i]));
        mv = std::max(mv, v[i]);
      }
      absmax_m[b] = float(mm);
      absmax_v[b] = float(mv);
      for (std::size_t i = b * block; i < std::min(n, (b + 1) * block); ++i) {
        code_m[i] = nearest_code(map_m, mm > 0 ? m[i] / mm : 0.0, true);
        code_v[i] = nearest_code(map_v, mv > 0 ? v[i] / mv : 0.0, false);
      }
    }
    return d;
  }

  // Adopts the kernel's stored codes after comparing them: a value within float rounding of a
  // midpoint may legitimately round the other way, and the two runs must not drift apart.
  void compare_and_follow(const std::vector<std::uint8_t>& m_codes,
                          const std::vector<std::uint8_t>& v_codes, const std::vector<float>& am,
                          const std::vector<float>& av) {
    std::size_t same = 0;
    for (std::size_t i = 0; i < code_m.size(); ++i) {
      CHECK(std::abs(int(m_codes[i]) - int(code_m[i])) <= 1);
      CHECK(std::abs(int(v_codes[i]) - int(code_v[i])) <= 1);
      same += (m_codes[i] == code_m[i]) + (v_codes[i] == code_v[i]);
    }
    CHECK(same >= 2 * code_m.size() * 99 / 100);
    for (std::size_t b = 0; b < absmax_m.size(); ++b) {
      CHECK(am[b] == Approx(absmax_m[b]).epsilon(1e-5));
      CHECK(av[b] == Approx(absmax_v[b]).epsilon(1e-5).margin(1e-30));
    }
    code_m = m_codes, code_v = v_codes, absmax_m = am, absmax_v = av;
  }
};

galore::OptimizerConfig config8(const char* name) {
  galore::OptimizerConfig c;
  c.name = name;
  c.lr = 0.01f;
  c.weight_decay = 0.05f;
  c.beta2 = 0.99f;
  c.eps = 1e-8f;
  c.quantization_block_size = 256;
  c.galore.rank = 8;
  c.galore.update_gap = 3;
  c.galore.scale = 0.25f;
  return c;
}

}  // namespace

TEST_CASE("8-bit Adam matches the block-wise quantized reference", "[optim][adam8bit]") {
  // 24 x 30 = 720 values: two full blocks of 256 and a ragged one of 208.
  std::vector<galore::Parameter<float>> params = {
      make_parameter<float>("w", ParamRole::Embedding, 24, 30, 1)};
  const auto config = config8("adam8bit");
  auto optimizer = galore::make_optimizer<float>(config, params);
  Reference8bit ref(720, 256);
  auto w = host_values(params[0].value);
  for (int step = 0; step < 5; ++step) {
    set_gradients(params, step, step == 2 ? 5.0f : 1.0f);  // a spike changes every absmax
    const auto g = host_values(params[0].grad);
    optimizer->step(galore::ExecSpace(), params, step, config.lr);
    const auto d = ref.direction(g, step + 1, config.beta1, config.beta2, config.eps);
    apply_adamw(w, d, config.lr, 1.0, config.weight_decay);
    const auto got = host_values(params[0].value);
    for (std::size_t i = 0; i < got.size(); ++i) {
      INFO("step " << step << " entry " << i);
      CHECK(got[i] == Approx(w[i]).margin(1e-6));
    }
    ref.compare_and_follow(state_values<std::uint8_t>(*optimizer, "w.exp_avg.codes"),
                           state_values<std::uint8_t>(*optimizer, "w.exp_avg_sq.codes"),
                           state_values<float>(*optimizer, "w.exp_avg.absmax"),
                           state_values<float>(*optimizer, "w.exp_avg_sq.absmax"));
  }
}

TEST_CASE("8-bit GaLore-Adam projects, quantizes the projected moments and decays after",
          "[optim][adam8bit][galore]") {
  std::vector<galore::Parameter<float>> params = {
      make_parameter<float>("wide", ParamRole::Attention, 16, 40, 2)};
  const auto config = config8("galore_adamw8bit");
  auto optimizer = galore::make_optimizer<float>(config, params);
  const auto* projector = optimizer->projector("wide");
  REQUIRE(projector != nullptr);
  CHECK(projector->side() == galore::ProjectionSide::Left);  // 16 < 40
  Reference8bit ref(8 * 40, 256);
  auto w = host_values(params[0].value);
  for (int step = 0; step < 5; ++step) {
    set_gradients(params, step);
    const auto g = host_values(params[0].grad);
    optimizer->step(galore::ExecSpace(), params, step, config.lr);
    const ReferenceBasis basis = reference_basis(*projector, 16, 40);
    const auto d =
        ref.direction(basis.project(g), step + 1, config.beta1, config.beta2, config.eps);
    apply_adamw(w, basis.project_back(d), config.lr, config.galore.scale, config.weight_decay);
    const auto got = host_values(params[0].value);
    for (std::size_t i = 0; i < got.size(); ++i) {
      INFO("step " << step << " entry " << i);
      CHECK(got[i] == Approx(w[i]).margin(1e-6));
    }
    ref.compare_and_follow(state_values<std::uint8_t>(*optimizer, "wide.exp_avg.codes"),
                           state_values<std::uint8_t>(*optimizer, "wide.exp_avg_sq.codes"),
                           state_values<float>(*optimizer, "wide.exp_avg.absmax"),
                           state_values<float>(*optimizer, "wide.exp_avg_sq.absmax"));
  }
}
