// The key table: every run-configuration key with its type, default, allowed values, one-line
// doc and the RunConfig field it sets. The single source of truth for parsing, validation,
// `--help` and docs/config.md; adding a key is one entry in config_keys.cpp.
#pragma once

#include "io/config/run_config.hpp"

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace galore::config {

enum class KeyType { boolean, integer, real, string, path, choice };

// Numeric bounds; an open end excludes its value.
struct Range {
  double min;
  double max;
  bool min_open = false;
  bool max_open = false;
};

using KeyValue = std::variant<bool, std::int64_t, double, std::string>;

using Field = std::variant<bool& (*)(RunConfig&), std::int64_t& (*)(RunConfig&),
                           double& (*)(RunConfig&), std::string& (*)(RunConfig&)>;

struct ConfigKey {
  std::string name;  // "section.key"
  KeyType type;
  KeyValue default_value;
  Range range;                       // integer and real keys
  std::vector<std::string> choices;  // choice keys
  bool allow_empty;                  // string and path keys
  std::string doc;
  Field field;

  std::string section() const { return name.substr(0, name.find('.')); }
  std::string leaf() const { return name.substr(name.find('.') + 1); }
};

// All keys, grouped by section in documentation order.
const std::vector<ConfigKey>& run_config_keys();
// The sections in documentation order.
std::vector<std::string> run_config_sections();
// nullptr when no key has that name.
const ConfigKey* find_key(const std::string& name);
// A "did you mean" suffix for an unknown key: a key whose last part matches, else the nearest.
std::string suggest_key(const std::string& name);

const char* type_name(KeyType type);
// "(0, 10]", "one of a, b, c", "true or false", "any string", "a path, not empty" ...
std::string describe_allowed(const ConfigKey& key);
// The TOML spelling of a value: 0.01, 128, true, "text".
std::string format_value(const KeyValue& value);

// Checks `value` (of the key's C++ type) against the range or choices and stores it.
// ConfigError "<where>: <key> = <value> ..." when it does not fit.
void set_value(RunConfig& config, const ConfigKey& key, const KeyValue& value,
               const std::string& where);
KeyValue get_value(const RunConfig& config, const ConfigKey& key);

}  // namespace galore::config
