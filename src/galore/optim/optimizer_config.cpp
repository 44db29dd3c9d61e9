// Name parsing and range checks for OptimizerConfig.
#include "galore/optim/optimizer_config.hpp"

#include "galore/core/error.hpp"
#include "galore/core/spelling.hpp"

#include <fmt/format.h>
#include <cmath>

namespace galore {
namespace {

struct NamedOptimizer {
  const char* name;
  OptimizerKind kind;
  bool galore;
};
constexpr NamedOptimizer kOptimizers[] = {
    {"adamw", OptimizerKind::AdamW, false},
    {"adam8bit", OptimizerKind::Adam8bit, false},
    {"adafactor", OptimizerKind::Adafactor, false},
    {"galore_adamw", OptimizerKind::AdamW, true},
    {"galore_adamw8bit", OptimizerKind::Adam8bit, true},
    {"galore_adafactor", OptimizerKind::Adafactor, true},
};

struct NamedProjection {
  const char* name;
  ProjectionType type;
};
constexpr NamedProjection kProjections[] = {
    {"std", ProjectionType::Std},   {"reverse_std", ProjectionType::ReverseStd},
    {"left", ProjectionType::Left}, {"right", ProjectionType::Right},
    {"full", ProjectionType::Full},
};

std::string unknown(const char* field, const std::string& value,
                    const std::vector<std::string>& valid) {
  std::string list;
  for (const auto& v : valid) list += (list.empty() ? "" : ", ") + v;
  return fmt::format("{}: unknown value '{}'{}; valid: {}", field, value,
                     did_you_mean(value, valid), list);
}

void require(bool ok, const char* field, double value, const char* rule) {
  if (!ok) throw ConfigError(fmt::format("{} = {} is out of range: {}", field, value, rule));
}

}  // namespace

std::vector<std::string> optimizer_names() {
  std::vector<std::string> names;
  for (const auto& o : kOptimizers) names.emplace_back(o.name);
  return names;
}

std::vector<std::string> projection_type_names() {
  std::vector<std::string> names;
  for (const auto& p : kProjections) names.emplace_back(p.name);
  return names;
}

OptimizerChoice parse_optimizer_config(const OptimizerConfig& config) {
  OptimizerChoice choice{};
  bool found = false;
  for (const auto& o : kOptimizers) {
    if (config.name == o.name) {
      choice.kind = o.kind;
      choice.galore = o.galore;
      found = true;
    }
  }
  if (!found) throw ConfigError(unknown("optimizer.name", config.name, optimizer_names()));

  found = false;
  for (const auto& p : kProjections) {
    if (config.galore.proj_type == p.name) {
      choice.proj_type = p.type;
      found = true;
    }
  }
  if (!found) {
    throw ConfigError(
        unknown("optimizer.galore.proj_type", config.galore.proj_type, projection_type_names()));
  }
  if (config.galore.refresh == "svd") {
    choice.refresh = RefreshMethod::Svd;
  } else if (config.galore.refresh == "randomized") {
    choice.refresh = RefreshMethod::Randomized;
  } else {
    throw ConfigError(
        unknown("optimizer.galore.refresh", config.galore.refresh, {"svd", "randomized"}));
  }

  require(std::isfinite(config.lr) && config.lr >= 0, "optimizer.lr", config.lr, ">= 0");
  require(std::isfinite(config.weight_decay) && config.weight_decay >= 0, "optimizer.weight_decay",
          config.weight_decay, ">= 0");
  require(config.beta1 >= 0 && config.beta1 < 1, "optimizer.beta1", config.beta1, "in [0, 1)");
  require(config.beta2 >= 0 && config.beta2 < 1, "optimizer.beta2", config.beta2, "in [0, 1)");
  require(config.eps >= 0, "optimizer.eps", config.eps, ">= 0");
  require(config.adafactor_eps1 >= 0, "optimizer.adafactor_eps1", config.adafactor_eps1, ">= 0");
  require(config.adafactor_clip_threshold > 0, "optimizer.adafactor_clip_threshold",
          config.adafactor_clip_threshold, "> 0");
  require(config.adafactor_decay_rate < 0, "optimizer.adafactor_decay_rate",
          config.adafactor_decay_rate, "< 0 (beta2_t = 1 - t^decay_rate)");
  require(config.quantization_block_size == 256 || config.quantization_block_size == 2048,
          "optimizer.quantization_block_size", config.quantization_block_size, "256 or 2048");
  if (choice.galore) {
    // The rank's upper limit depends on each weight's shape and is checked with the parameters.
    require(config.galore.rank > 0, "optimizer.galore.rank (group 'galore')", config.galore.rank,
            "> 0");
    require(config.galore.update_gap > 0, "optimizer.galore.update_gap (group 'galore')",
            config.galore.update_gap, "> 0");
    require(std::isfinite(config.galore.scale) && config.galore.scale > 0,
            "optimizer.galore.scale (group 'galore')", config.galore.scale, "> 0");
    require(config.galore.oversampling >= 0, "optimizer.galore.oversampling",
            config.galore.oversampling, ">= 0");
    require(config.galore.power_iterations >= 0, "optimizer.galore.power_iterations",
            config.galore.power_iterations, ">= 0");
  }
  return choice;
}

}  // namespace galore
