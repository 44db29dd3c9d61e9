// Bad optimizer settings are refused with errors that name the field, the group and the value.
#include "catch.hpp"

#include "galore/core/error.hpp"
#include "galore/optim/optimizer.hpp"
#include "optim_test_support.hpp"

#include <string>

using galore::ConfigError;
using galore::OptimizerConfig;
using galore::ParamRole;

namespace {

std::vector<galore::Parameter<float>> small_model() {
  return {optim_test::make_parameter<float>("model.embed_tokens.weight", ParamRole::Embedding, 16,
                                            8, 1),
          optim_test::make_parameter<float>("model.layers.0.self_attn.q_proj.weight",
                                            ParamRole::Attention, 8, 8, 2),
          optim_test::make_parameter<float>("model.layers.0.mlp.up_proj.weight", ParamRole::Mlp, 12,
                                            8, 3),
          optim_test::make_parameter<float>("model.norm.weight", ParamRole::Norm, 1, 8, 4)};
}

std::string error_of(const OptimizerConfig& config) {
  try {
    galore::make_optimizer<float>(config, small_model());
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("unknown optimizer and projection names are refused with a suggestion",
          "[optim][config]") {
  OptimizerConfig config;
  config.name = "galore_adamw8bt";
  std::string msg = error_of(config);
  INFO(msg);
  CHECK(contains(msg, "optimizer.name"));
  CHECK(contains(msg, "'galore_adamw8bt'"));
  CHECK(contains(msg, "did you mean 'galore_adamw8bit'"));

  config = OptimizerConfig();
  config.name = "galore_adamw";
  config.galore.proj_type = "revers_std";
  msg = error_of(config);
  INFO(msg);
  CHECK(contains(msg, "proj_type"));
  CHECK(contains(msg, "'revers_std'"));
  CHECK(contains(msg, "reverse_std"));

  config.galore.proj_type = "std";
  config.galore.refresh = "qr";
  msg = error_of(config);
  CHECK(contains(msg, "refresh"));
  CHECK(contains(msg, "'qr'"));
}

TEST_CASE("GaLore rank and update gap are checked against the parameters", "[optim][config]") {
  OptimizerConfig config;
  config.name = "galore_adamw";

  config.galore.rank = 0;
  std::string msg = error_of(config);
  INFO(msg);
  CHECK(contains(msg, "optimizer.galore.rank"));
  CHECK(contains(msg, "= 0"));
  CHECK(contains(msg, "group 'galore'"));

  config.galore.rank = 9;  // q_proj is 8x8
  msg = error_of(config);
  INFO(msg);
  CHECK(contains(msg, "= 9"));
  CHECK(contains(msg, "model.layers.0.self_attn.q_proj.weight"));
  CHECK(contains(msg, "[8x8]"));
  CHECK(contains(msg, "group 'galore'"));

  config.galore.rank = 8;  // == min(m, n) everywhere: allowed
  CHECK(error_of(config).empty());

  config.galore.update_gap = 0;
  msg = error_of(config);
  CHECK(contains(msg, "update_gap"));
  CHECK(contains(msg, "= 0"));
  config.galore.update_gap = -5;
  CHECK(contains(error_of(config), "= -5"));

  // Plain optimizers ignore the GaLore settings, and the 16x8 embedding never limits the rank.
  config = OptimizerConfig();
  config.galore.rank = 1000;
  CHECK(error_of(config).empty());
}

TEST_CASE("scalar hyper-parameters out of range are refused", "[optim][config]") {
  OptimizerConfig config;
  config.beta1 = 1.0f;
  CHECK(contains(error_of(config), "optimizer.beta1"));
  config = OptimizerConfig();
  config.quantization_block_size = 512;
  CHECK(contains(error_of(config), "512"));
  config = OptimizerConfig();
  config.lr = -1.0f;
  CHECK(contains(error_of(config), "optimizer.lr"));
}

TEST_CASE("update() rejects unknown parameters, missing gradients and double updates",
          "[optim][config]") {
  auto params = small_model();
  auto optimizer = galore::make_optimizer<float>(OptimizerConfig(), params);
  optimizer->begin_step(0, 1e-3f);
  galore::Parameter<float> stranger = params[0];
  stranger.name = "not.a.parameter";
  CHECK_THROWS_AS(optimizer->update(galore::ExecSpace(), stranger), ConfigError);
  CHECK_THROWS_AS(optimizer->update(galore::ExecSpace(), params[0]), galore::ShapeError);
  optim_test::set_gradients(params, 0);
  optimizer->update(galore::ExecSpace(), params[1]);
  optim_test::set_gradients(params, 0);
  CHECK_THROWS_AS(optimizer->update(galore::ExecSpace(), params[1]), galore::Error);
  optimizer->end_step();
}
