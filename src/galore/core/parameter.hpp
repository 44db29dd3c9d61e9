// A trainable tensor as the model exposes it to optimizers.
//
// The model owns the storage; optimizers keep their state keyed by the parameter's name. Values are
// in the model's storage type T (bf16 or fp32); gradients are always fp32 (see docs/precision.md),
// so accumulation over micro-batches does not lose bits.
#pragma once

#include "galore/core/tensor.hpp"

#include <string>

namespace galore {

// What a parameter is, which decides how it is optimised: GaLore projects only the 2-D weights of
// the attention and MLP blocks; embeddings, norms and the LM head use the plain optimizer.
enum class ParamRole { Embedding, Norm, Attention, Mlp, Head };

inline bool is_galore_projectable(ParamRole role) {
  return role == ParamRole::Attention || role == ParamRole::Mlp;
}

inline const char* role_name(ParamRole role) {
  switch (role) {
    case ParamRole::Embedding: return "embedding";
    case ParamRole::Norm: return "norm";
    case ParamRole::Attention: return "attention";
    case ParamRole::Mlp: return "mlp";
    case ParamRole::Head: return "head";
  }
  return "unknown";
}

template <class T>
struct Parameter {
  std::string name;  // HF LLaMA tensor name, e.g. "model.layers.0.self_attn.q_proj.weight"
  ParamRole role;
  int layer;           // transformer block index, -1 outside the blocks
  Matrix<T> value;     // [out, in] as torch stores it; a vector parameter is [1, n]
  Matrix<float> grad;  // same shape; empty while no gradient is held (per-layer mode frees it)
};

}  // namespace galore
