// The resume settings table and the comparison with a checkpoint's attributes.
#include "io/checkpoint/run_compatibility.hpp"

#include "galore/core/error.hpp"

#include <fmt/format.h>

namespace galore::checkpoint {

namespace {

std::string describe(const AttributeValue& value) {
  if (const auto* integer = std::get_if<std::int64_t>(&value)) return std::to_string(*integer);
  if (const auto* real = std::get_if<double>(&value)) return fmt::format("{}", *real);
  return "'" + std::get<std::string>(value) + "'";
}

}  // namespace

std::vector<ResumeSetting> resume_settings(const config::RunConfig& config,
                                           const ModelConfig& model) {
  const config::OptimizerSection& o = config.optimizer;
  std::vector<ResumeSetting> settings = {
      {"model", "dtype", std::string(config.model.dtype == "fp32" ? "float32" : "bfloat16")},
      {"model", "hidden_size", std::int64_t{model.hidden_size}},
      {"model", "intermediate_size", std::int64_t{model.intermediate_size}},
      {"model", "num_attention_heads", std::int64_t{model.num_attention_heads}},
      {"model", "num_hidden_layers", std::int64_t{model.num_hidden_layers}},
      {"model", "vocab_size", std::int64_t{model.vocab_size}},
      {"model", "rms_norm_eps", double{model.rms_norm_eps}},
      {"model", "rope_theta", double{model.rope_theta}},
      {"optimizer", "name", o.name},
      {"optimizer", "beta1", o.beta1},
      {"optimizer", "beta2", o.beta2},
      {"optimizer", "eps", o.eps},
      {"optimizer", "weight_decay", o.weight_decay},
      {"run", "seed", config.run.seed},
  };
  if (o.name.rfind("galore_", 0) == 0) {
    settings.push_back({"optimizer", "rank", o.rank});
    settings.push_back({"optimizer", "update_gap", o.update_gap});
    settings.push_back({"optimizer", "scale", o.scale});
    settings.push_back({"optimizer", "proj_type", o.proj_type});
    settings.push_back({"optimizer", "refresh", o.refresh});
  }
  if (o.name.find("8bit") != std::string::npos) {
    settings.push_back({"optimizer", "block_size", o.block_size});
  }
  return settings;
}

void write_resume_settings(Hdf5File& file, const std::vector<ResumeSetting>& settings) {
  for (const ResumeSetting& s : settings) file.set_attribute("/" + s.group, s.name, s.value);
}

void check_resume_settings(const Hdf5File& file, const std::vector<ResumeSetting>& settings) {
  std::string differences;
  for (const ResumeSetting& s : settings) {
    const std::string group = "/" + s.group;
    if (!file.has_attribute(group, s.name)) {
      // The checkpoint's optimizer did not use this setting: it differs in optimizer.name.
      if (s.group == "optimizer") continue;
      throw IoError(file.path() + ":" + group + " attribute " + s.name + ": missing");
    }
    const AttributeValue stored = file.attribute(group, s.name);
    if (stored != s.value) {
      differences += fmt::format("\n  {}.{}: checkpoint {}, this run {}", s.group, s.name,
                                 describe(stored), describe(s.value));
    }
  }
  if (!differences.empty()) {
    throw ConfigError(
        "cannot resume from " + file.path() +
        ": it was written by a run with other settings:" + differences +
        "\n(model shape and dtype, optimizer settings and run.seed must match; steps, learning "
        "rate, schedule, batch, evaluation and checkpoint settings may change)");
  }
}

}  // namespace galore::checkpoint
