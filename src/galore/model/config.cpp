// ModelConfig: parameter count, validation, the paper's presets and the HF config.json reader.
#include "galore/model/config.hpp"

#include "galore/core/error.hpp"
#include "galore/core/spelling.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>
#include <utility>

namespace galore {

std::int64_t ModelConfig::parameter_count() const {
  const std::int64_t h = hidden_size;
  const std::int64_t i = intermediate_size;
  const std::int64_t v = vocab_size;
  const std::int64_t per_block = 4 * h * h + 3 * h * i + 2 * h;
  return v * h + num_hidden_layers * per_block + h + v * h;
}

namespace {

void require_positive(const char* field, int value) {
  if (value <= 0) {
    throw ConfigError(std::string("model config: ") + field + " must be positive, got " +
                      std::to_string(value));
  }
}

void require_positive(const char* field, float value) {
  if (!(value > 0.0f) || !std::isfinite(value)) {
    std::ostringstream msg;
    msg << "model config: " << field << " must be a positive finite number, got " << value;
    throw ConfigError(msg.str());
  }
}

}  // namespace

void ModelConfig::validate() const {
  require_positive("hidden_size", hidden_size);
  require_positive("intermediate_size", intermediate_size);
  require_positive("num_attention_heads", num_attention_heads);
  require_positive("num_hidden_layers", num_hidden_layers);
  require_positive("vocab_size", vocab_size);
  require_positive("max_sequence_length", max_sequence_length);
  if (hidden_size % num_attention_heads != 0) {
    throw ConfigError("model config: hidden_size " + std::to_string(hidden_size) +
                      " is not divisible by num_attention_heads " +
                      std::to_string(num_attention_heads));
  }
  // RoPE rotates pairs (x_i, x_{i + head_dim/2}).
  if (head_dim() % 2 != 0) {
    throw ConfigError("model config: head_dim = hidden_size / num_attention_heads = " +
                      std::to_string(head_dim()) + " must be even for rotary embeddings");
  }
  require_positive("rms_norm_eps", rms_norm_eps);
  require_positive("rope_theta", rope_theta);
  require_positive("initializer_range", initializer_range);
}

// --- presets ------------------------------------------------------------------------------

namespace {

struct Preset {
  const char* name;
  int hidden, intermediate, heads, layers, max_sequence_length;
};

// GaLore paper, Table 2 and Appendix (hidden / intermediate / heads / layers).
constexpr Preset kPresets[] = {
    {"9m", 128, 352, 4, 4, 256},       {"20m", 256, 688, 4, 4, 256},
    {"60m", 512, 1376, 8, 8, 256},     {"130m", 768, 2048, 12, 12, 256},
    {"350m", 1024, 2736, 16, 24, 256}, {"1b", 2048, 5461, 32, 24, 256},
    {"7b", 4096, 11008, 32, 32, 2048},
};
constexpr int kPresetVocab = 32000;

}  // namespace

std::vector<std::string> model_preset_names() {
  std::vector<std::string> names;
  for (const Preset& p : kPresets) names.emplace_back(p.name);
  return names;
}

ModelConfig model_preset(const std::string& name) {
  for (const Preset& p : kPresets) {
    if (name != p.name) continue;
    ModelConfig c;
    c.hidden_size = p.hidden;
    c.intermediate_size = p.intermediate;
    c.num_attention_heads = p.heads;
    c.num_hidden_layers = p.layers;
    c.vocab_size = kPresetVocab;
    c.max_sequence_length = p.max_sequence_length;
    return c;
  }
  std::string valid;
  for (const std::string& n : model_preset_names()) valid += (valid.empty() ? "" : ", ") + n;
  throw ConfigError("unknown model preset \"" + name + "\" (valid: " + valid + ")");
}

// --- HF config.json -----------------------------------------------------------------------

namespace {

using nlohmann::json;

// Keys of HF LlamaConfig that do not change the computation (token ids, bookkeeping).
const std::vector<std::string> kIgnoredKeys = {
    "_name_or_path",        "architectures", "bos_token_id",      "eos_token_id",
    "model_type",           "pad_token_id",  "pretraining_tp",    "torch_dtype",
    "transformers_version", "use_cache",     "output_attentions", "output_hidden_states"};

// Keys this implementation supports only at one value (the LLaMA architecture as the paper uses
// it).
const std::vector<std::string> kConstrainedKeys = {"hidden_act",
                                                   "tie_word_embeddings",
                                                   "num_key_value_heads",
                                                   "attention_bias",
                                                   "mlp_bias",
                                                   "attention_dropout",
                                                   "rope_scaling",
                                                   "head_dim",
                                                   "max_position_embeddings"};

const std::vector<std::string> kModelKeys = {
    "hidden_size",  "intermediate_size",   "num_attention_heads", "num_hidden_layers", "vocab_size",
    "rms_norm_eps", "max_sequence_length", "rope_theta",          "initializer_range"};

std::string unknown_key_message(const std::string& key, const std::string& source) {
  std::vector<std::string> known = kModelKeys;
  known.insert(known.end(), kConstrainedKeys.begin(), kConstrainedKeys.end());
  known.insert(known.end(), kIgnoredKeys.begin(), kIgnoredKeys.end());
  const std::string suggestion = did_you_mean(key, known);
  if (!suggestion.empty()) return source + ": unknown key \"" + key + "\"" + suggestion;
  std::string keys;
  for (const std::string& k : kModelKeys) keys += (keys.empty() ? "" : ", ") + k;
  return source + ": unknown key \"" + key + "\" (model keys: " + keys + ")";
}

class ConfigReader {
 public:
  ConfigReader(const json& object, std::string source)
      : object_(object), source_(std::move(source)) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw ConfigError(source_ + ": " + what);
  }

  int integer(const std::string& key) const {
    const json& v = object_.at(key);
    if (!v.is_number_integer()) fail(key + " must be an integer, got " + describe(v));
    const auto x = v.get<std::int64_t>();
    if (x < std::numeric_limits<int>::min() || x > std::numeric_limits<int>::max()) {
      fail(key + " = " + std::to_string(x) + " is out of range");
    }
    return static_cast<int>(x);
  }

  float number(const std::string& key) const {
    const json& v = object_.at(key);
    if (!v.is_number()) fail(key + " must be a number, got " + describe(v));
    return v.get<float>();
  }

  // Keys we accept only at the value the implementation computes with.
  template <class Value>
  void require_value(const std::string& key, const Value& expected, const char* reason) const {
    if (!object_.contains(key)) return;
    const json& v = object_.at(key);
    if (v != json(expected)) {
      fail(key + " = " + v.dump() + " is not supported (must be " + json(expected).dump() + ": " +
           reason + ")");
    }
  }

  static std::string describe(const json& v) { return v.dump() + " (" + v.type_name() + ")"; }

 private:
  const json& object_;
  std::string source_;
};

}  // namespace

ModelConfig parse_model_config(const std::string& json_text, const std::string& source_name) {
  json root;
  try {
    root = json::parse(json_text);
  } catch (const json::parse_error& e) {
    throw IoError(source_name + ": not valid JSON: " + e.what());
  }
  if (!root.is_object()) {
    throw ConfigError(source_name + ": expected a JSON object, got " + root.type_name());
  }

  for (const auto& item : root.items()) {
    const std::string& key = item.key();
    const auto known = [&](const std::vector<std::string>& list) {
      return std::find(list.begin(), list.end(), key) != list.end();
    };
    if (!known(kModelKeys) && !known(kConstrainedKeys) && !known(kIgnoredKeys)) {
      throw ConfigError(unknown_key_message(key, source_name));
    }
  }

  const ConfigReader reader(root, source_name);
  for (const char* required : {"hidden_size", "intermediate_size", "num_attention_heads",
                               "num_hidden_layers", "vocab_size"}) {
    if (!root.contains(required))
      reader.fail(std::string("missing required key \"") + required + "\"");
  }

  ModelConfig c;
  c.hidden_size = reader.integer("hidden_size");
  c.intermediate_size = reader.integer("intermediate_size");
  c.num_attention_heads = reader.integer("num_attention_heads");
  c.num_hidden_layers = reader.integer("num_hidden_layers");
  c.vocab_size = reader.integer("vocab_size");
  // HF writes max_position_embeddings; the GaLore configs write max_sequence_length. HF's default
  // is 2048 when neither is present.
  c.max_sequence_length = 2048;
  const bool has_msl = root.contains("max_sequence_length");
  const bool has_mpe = root.contains("max_position_embeddings");
  if (has_msl) c.max_sequence_length = reader.integer("max_sequence_length");
  if (has_mpe) {
    const int mpe = reader.integer("max_position_embeddings");
    if (has_msl && mpe != c.max_sequence_length) {
      reader.fail("max_position_embeddings = " + std::to_string(mpe) +
                  " disagrees with max_sequence_length = " + std::to_string(c.max_sequence_length));
    }
    c.max_sequence_length = mpe;
  }
  if (root.contains("rms_norm_eps")) c.rms_norm_eps = reader.number("rms_norm_eps");
  if (root.contains("rope_theta")) c.rope_theta = reader.number("rope_theta");
  if (root.contains("initializer_range")) c.initializer_range = reader.number("initializer_range");

  reader.require_value("hidden_act", "silu", "the MLP is SwiGLU");
  reader.require_value("tie_word_embeddings", false, "the LM head is untied");
  reader.require_value("attention_bias", false, "the projections have no bias");
  reader.require_value("mlp_bias", false, "the projections have no bias");
  reader.require_value("attention_dropout", 0.0, "dropout is not implemented");
  reader.require_value("rope_scaling", nullptr, "RoPE is unscaled");
  reader.require_value("num_key_value_heads", c.num_attention_heads,
                       "multi-head attention, no grouped-query attention");
  if (c.num_attention_heads > 0) {
    reader.require_value("head_dim", c.hidden_size / c.num_attention_heads,
                         "head_dim is hidden_size / num_attention_heads");
  }

  try {
    c.validate();
  } catch (const ConfigError& e) {
    reader.fail(e.what());
  }
  return c;
}

ModelConfig load_model_config(const std::string& json_path) {
  std::ifstream in(json_path);
  if (!in) throw IoError("cannot open model config " + json_path);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw IoError("cannot read model config " + json_path);
  return parse_model_config(text.str(), json_path);
}

}  // namespace galore
