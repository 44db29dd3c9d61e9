// LLaMA model shape: HF-style config JSON, validation, and the GaLore paper's presets.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace galore {

struct ModelConfig {
  int hidden_size = 0;
  int intermediate_size = 0;
  int num_attention_heads = 0;
  int num_hidden_layers = 0;
  int vocab_size = 0;
  int max_sequence_length = 0;
  float rms_norm_eps = 1e-6f;
  float rope_theta = 10000.0f;
  float initializer_range = 0.02f;

  int head_dim() const { return hidden_size / num_attention_heads; }
  // Parameter count: embedding + blocks (4 h^2 attention + 3 h i MLP + 2 h norms) + final norm +
  // head.
  std::int64_t parameter_count() const;
  // Throws ConfigError naming the first invalid field (zero sizes, hidden % heads != 0, odd
  // head_dim).
  void validate() const;
};

// Presets from the paper (9m, 20m, 60m, 130m, 350m, 1b, 7b): vocab 32000, max_sequence_length 256
// (the paper's pretraining length; 7b keeps 2048 as in the LLaMA release).
ModelConfig model_preset(const std::string& name);  // ConfigError listing valid names if unknown
std::vector<std::string> model_preset_names();

// Reads an HF LlamaConfig JSON file. Known keys that do not shape the model ("architectures",
// "torch_dtype", ...) are ignored; unknown keys are refused with a "did you mean" suggestion.
ModelConfig load_model_config(const std::string& json_path);
ModelConfig parse_model_config(const std::string& json_text, const std::string& source_name);

}  // namespace galore
