// Optimizer settings: which optimizer, its hyper-parameters, and the GaLore projection settings.
//
// Names are kept as the strings a user writes in a config file or on the command line
// ("galore_adamw8bit", "reverse_std", "randomized"); parse_optimizer_config() turns them into the
// enums below and refuses unknown names with a "did you mean" suggestion.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace galore {

// The element-wise optimizer that runs on a full gradient or on its GaLore projection.
enum class OptimizerKind { AdamW, Adam8bit, Adafactor };

// Which side of a gradient G [m x n] the projector multiplies (see projector.hpp).
enum class ProjectionType { Std, ReverseStd, Left, Right, Full };

// How the subspace is recomputed every `update_gap` steps.
enum class RefreshMethod { Svd, Randomized };

struct GaLoreSettings {
  int rank = 128;
  int update_gap = 200;  // T: the subspace is refreshed at this parameter's steps 0, T, 2T, ...
  float scale = 0.25f;  // alpha: the projected-back update is multiplied by it (effective lr*alpha)
  std::string proj_type = "std";
  std::string refresh = "svd";     // "svd" (exact fp32 thin SVD, the paper) or "randomized"
  int oversampling = 8;            // randomized range finder: extra sketch columns
  int power_iterations = 2;        // randomized range finder: subspace iterations
  std::uint64_t seed = 0;          // randomized range finder: Gaussian sketch seed
  bool reproject_moments = false;  // rotate the moments into the new subspace on refresh
};

struct OptimizerConfig {
  // adamw, adam8bit, adafactor, galore_adamw, galore_adamw8bit, galore_adafactor
  std::string name = "adamw";
  float lr = 1e-3f;  // peak learning rate; the trainer's schedule passes each step's value
  float weight_decay = 0.0f;
  float beta1 = 0.9f;  // Adam first moment; Adafactor keeps a first moment unless beta1 == 0
  float beta2 = 0.999f;
  float eps = 1e-6f;  // galore_torch's AdamW default

  // Adafactor (Shazeer & Stern 2018), external learning rate unless relative_step is set.
  float adafactor_eps1 = 1e-30f;          // added to g^2 before the running averages
  float adafactor_clip_threshold = 1.0f;  // update RMS is clipped to this
  float adafactor_decay_rate = -0.8f;     // beta2_t = 1 - t^decay_rate
  bool adafactor_relative_step = false;   // lr_t = min(1e-2, 1/sqrt(t)) instead of the given lr

  // 8-bit Adam: values per fp32 absmax (bitsandbytes' optimizers use 2048).
  int quantization_block_size = 2048;

  GaLoreSettings galore;
};

// The parsed form of an OptimizerConfig's names.
struct OptimizerChoice {
  OptimizerKind kind;
  bool galore;  // project the attention and MLP weights
  ProjectionType proj_type;
  RefreshMethod refresh;
};

// Checks every name and scalar of `config` (not the per-parameter rank limit, which needs shapes:
// see Optimizer's constructor). Throws ConfigError naming the field and the value.
OptimizerChoice parse_optimizer_config(const OptimizerConfig& config);

std::vector<std::string> optimizer_names();
std::vector<std::string> projection_type_names();

}  // namespace galore
