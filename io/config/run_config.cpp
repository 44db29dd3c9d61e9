// Run configuration: TOML parsing with toml++, command-line overrides, cross-key validation and
// TOML output, all driven by the key table (config_keys.cpp).
#include "io/config/run_config.hpp"

#include "galore/core/error.hpp"
#include "galore/core/spelling.hpp"
#include "io/config/config_keys.hpp"

#include <toml++/toml.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace galore::config {

namespace {

constexpr char kBuiltinPrefix[] = "builtin:";

std::string location(const std::string& source_name, const toml::source_region& region) {
  return source_name + ":" + std::to_string(region.begin.line) + ":" +
         std::to_string(region.begin.column);
}

const char* toml_type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    default: return "a date or time";
  }
}

std::string expected_type(const ConfigKey& key) {
  switch (key.type) {
    case KeyType::boolean: return "true or false";
    case KeyType::integer: return "an integer";
    case KeyType::real: return "a number";
    default: return "a string";
  }
}

// The TOML node as the key's C++ type; integers are accepted for float keys, nothing else mixes
// (tokens = 1e9 is a float in TOML: write 1_000_000_000).
KeyValue from_toml(const toml::node& node, const ConfigKey& key, const std::string& where) {
  switch (key.type) {
    case KeyType::boolean:
      if (const auto* value = node.as_boolean()) return value->get();
      break;
    case KeyType::integer:
      if (const auto* value = node.as_integer()) return value->get();
      break;
    case KeyType::real:
      if (const auto* value = node.as_floating_point()) return value->get();
      if (const auto* value = node.as_integer()) return static_cast<double>(value->get());
      break;
    default:
      if (const auto* value = node.as_string()) return value->get();
      break;
  }
  std::string hint;
  if (key.type == KeyType::integer && node.is_floating_point()) {
    hint = " (write integers without a decimal point or exponent, e.g. 1_000_000)";
  }
  throw ConfigError(where + ": " + key.name + " expects " + expected_type(key) + ", got " +
                    toml_type_name(node) + hint);
}

// A command-line value as the key's C++ type.
KeyValue from_text(const std::string& text, const ConfigKey& key, const std::string& where) {
  auto refuse = [&]() -> KeyValue {
    throw ConfigError(where + ": " + key.name + " expects " + expected_type(key) + ", got '" +
                      text + "'");
  };
  switch (key.type) {
    case KeyType::boolean:
      if (text == "true") return true;
      if (text == "false") return false;
      return refuse();
    case KeyType::integer: {
      std::int64_t value = 0;
      const char* end = text.data() + text.size();
      const auto result = std::from_chars(text.data(), end, value);
      if (text.empty() || result.ec != std::errc() || result.ptr != end) return refuse();
      return value;
    }
    case KeyType::real: {
      char* end = nullptr;
      const double value = std::strtod(text.c_str(), &end);
      if (text.empty() || end != text.c_str() + text.size()) return refuse();
      return value;
    }
    default: return text;
  }
}

// Relative paths in a config file are relative to that file's directory.
KeyValue anchor_path(const ConfigKey& key, KeyValue value, const std::string& base_directory) {
  if (key.type != KeyType::path || base_directory.empty()) return value;
  const std::string& text = std::get<std::string>(value);
  if (text.empty() || text.rfind(kBuiltinPrefix, 0) == 0 || text[0] == '/') return value;
  return (std::filesystem::path(base_directory) / text).lexically_normal().string();
}

// "--lr" finds optimizer.lr when exactly one key has that last part.
const ConfigKey& override_key(const std::string& name, const std::string& where) {
  if (const ConfigKey* key = find_key(name)) return *key;
  if (name.find('.') == std::string::npos) {
    std::vector<const ConfigKey*> matches;
    for (const ConfigKey& key : run_config_keys()) {
      if (key.leaf() == name) matches.push_back(&key);
    }
    if (matches.size() == 1) return *matches.front();
    if (matches.size() > 1) {
      std::string names;
      for (const ConfigKey* key : matches) names += (names.empty() ? "" : ", ") + key->name;
      throw ConfigError(where + ": '" + name + "' is ambiguous (" + names + "); use --section.key");
    }
  }
  throw ConfigError(where + ": unknown key '" + name + "'" + suggest_key(name));
}

void apply_toml(RunConfig& config, const toml::table& root, const std::string& source_name,
                const std::string& base_directory) {
  const std::vector<std::string> sections = run_config_sections();
  for (auto&& [section_key, section_node] : root) {
    const std::string section(section_key.str());
    const std::string where = location(source_name, section_key.source());
    if (!section_node.is_table()) {
      throw ConfigError(where + ": key '" + section + "' must be inside a [section]" +
                        suggest_key(section));
    }
    bool known = false;
    for (const std::string& name : sections) known = known || name == section;
    if (!known) {
      throw ConfigError(where + ": unknown section [" + section + "]" +
                        did_you_mean(section, sections));
    }
    for (auto&& [key_name, node] : *section_node.as_table()) {
      const std::string name = section + "." + std::string(key_name.str());
      const std::string key_where = location(source_name, key_name.source());
      const ConfigKey* key = find_key(name);
      if (key == nullptr) {
        throw ConfigError(key_where + ": unknown key '" + name + "'" + suggest_key(name));
      }
      set_value(config, *key, anchor_path(*key, from_toml(node, *key, key_where), base_directory),
                key_where);
    }
  }
}

}  // namespace

RunConfig::RunConfig() {
  for (const ConfigKey& key : run_config_keys()) {
    set_value(*this, key, key.default_value, "default");
  }
}

std::int64_t RunConfig::accumulation_steps(int ranks) const {
  return batch.global_batch / (batch.micro_batch * ranks);
}

std::int64_t RunConfig::total_steps() const {
  if (run.tokens <= 0) return run.steps;
  const std::int64_t tokens_per_step = batch.global_batch * batch.seq_len;
  return (run.tokens + tokens_per_step - 1) / tokens_per_step;
}

std::int64_t RunConfig::warmup_steps() const {
  if (schedule.warmup_steps > 0) return schedule.warmup_steps;
  return std::llround(schedule.warmup_fraction * static_cast<double>(total_steps()));
}

RunConfig parse_run_config(std::string_view toml_text, const std::string& source_name,
                           const std::string& base_directory,
                           const std::vector<std::string>& overrides) {
  RunConfig config;
  toml::table root;
  try {
    root = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& error) {
    throw ConfigError(location(source_name, error.source()) +
                      ": TOML syntax error: " + std::string(error.description()));
  }
  apply_toml(config, root, source_name, base_directory);
  apply_overrides(config, overrides);
  validate(config);
  return config;
}

RunConfig load_run_config(const std::string& toml_path, const std::vector<std::string>& overrides) {
  if (toml_path.empty()) {
    RunConfig config;
    apply_overrides(config, overrides);
    validate(config);
    return config;
  }
  std::ifstream file(toml_path, std::ios::binary);
  if (!file) throw ConfigError(toml_path + ": cannot open the run configuration");
  std::ostringstream text;
  text << file.rdbuf();
  return parse_run_config(text.str(), toml_path,
                          std::filesystem::path(toml_path).parent_path().string(), overrides);
}

void apply_overrides(RunConfig& config, const std::vector<std::string>& overrides) {
  for (std::size_t i = 0; i < overrides.size(); ++i) {
    const std::string& argument = overrides[i];
    if (argument.size() <= 2 || argument.compare(0, 2, "--") != 0) {
      throw ConfigError("command line: unexpected argument '" + argument +
                        "' (overrides look like --section.key=value)");
    }
    const std::string body = argument.substr(2);
    const std::size_t equals = body.find('=');
    const std::string name = body.substr(0, equals);
    const std::string where = "command line --" + name;
    std::string text;
    if (equals != std::string::npos) {
      text = body.substr(equals + 1);
    } else if (i + 1 < overrides.size()) {
      text = overrides[++i];
    } else {
      throw ConfigError(where + ": missing value");
    }
    const ConfigKey& key = override_key(name, where);
    set_value(config, key, from_text(text, key, where), where);
  }
}

void validate(const RunConfig& config, int data_parallel_ranks) {
  const auto& batch = config.batch;
  if (data_parallel_ranks < 1) {
    throw ConfigError("data-parallel ranks = " + std::to_string(data_parallel_ranks) +
                      " must be at least 1");
  }
  const std::int64_t per_pass = batch.micro_batch * data_parallel_ranks;
  if (batch.global_batch % per_pass != 0) {
    throw ConfigError(
        "batch.global_batch = " + std::to_string(batch.global_batch) +
        " is not a multiple of batch.micro_batch x ranks = " + std::to_string(batch.micro_batch) +
        " x " + std::to_string(data_parallel_ranks) + " = " + std::to_string(per_pass));
  }
  if (config.schedule.warmup_steps > 0 && config.schedule.warmup_steps >= config.total_steps()) {
    throw ConfigError("schedule.warmup_steps = " + std::to_string(config.schedule.warmup_steps) +
                      " leaves no decay phase in a run of " + std::to_string(config.total_steps()) +
                      " steps");
  }
  if (config.run.eval_tokens < batch.seq_len) {
    throw ConfigError(
        "run.eval_tokens = " + std::to_string(config.run.eval_tokens) +
        " is less than one window of batch.seq_len = " + std::to_string(batch.seq_len) + " tokens");
  }
  if (config.data.source.rfind(kBuiltinPrefix, 0) == 0 && !config.data.validation.empty()) {
    throw ConfigError("data.validation = \"" + config.data.validation + "\" cannot be used with " +
                      config.data.source + ", which generates its own validation split");
  }
}

std::string to_toml(const RunConfig& config) {
  std::string text = "# galore-train run configuration (every key: docs/config.md)\n";
  std::string section;
  for (const ConfigKey& key : run_config_keys()) {
    if (key.section() != section) {
      section = key.section();
      text += "\n[" + section + "]\n";
    }
    text += key.leaf() + " = " + format_value(get_value(config, key)) + "\n";
  }
  return text;
}

}  // namespace galore::config
