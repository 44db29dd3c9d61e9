// Export of a checkpoint's model weights for inference tools, with HF LLaMA tensor names
// ("model.layers.0.self_attn.q_proj.weight", "lm_head.weight", ...) and HF shapes:
//   OUT.safetensors  one safetensors file (dtype BF16 or F32 as trained; __metadata__ holds
//                    format = "pt", the checkpoint step and the HF config as JSON text)
//   OUT (any other)  a directory with model.safetensors and config.json, the layout
//                    transformers' LlamaForCausalLM.from_pretrained(OUT) loads.
// Only the weights are read; every dataset's checksum is verified on the way.
#pragma once

#include <cstdint>
#include <string>

namespace galore::checkpoint {

struct ExportSummary {
  std::string weights_path;  // the .safetensors file written
  int tensors = 0;
  std::int64_t bytes = 0;  // tensor data
  std::string dtype;       // "bfloat16" or "float32"
  std::int64_t step = 0;
};

// IoError when the checkpoint cannot be read or the output cannot be written (written files are
// replaced crash-safely, as checkpoints are).
ExportSummary export_weights(const std::string& checkpoint_path, const std::string& output);

// The HF LlamaConfig JSON of a checkpoint's model (what config.json holds).
std::string hf_config_json(const std::string& checkpoint_path);

}  // namespace galore::checkpoint
