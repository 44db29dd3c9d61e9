// The tiny fixed model of the golden forward test, shared by test_model.cpp and the weight
// exporter that feeds the independent numpy reference (see llama_reference.py).
#pragma once

#include "galore/model/config.hpp"

#include <cstdint>
#include <vector>

namespace golden {

inline galore::ModelConfig config() {
  galore::ModelConfig c;
  c.hidden_size = 16;
  c.intermediate_size = 24;
  c.num_attention_heads = 2;
  c.num_hidden_layers = 2;
  c.vocab_size = 37;
  c.max_sequence_length = 16;
  c.initializer_range = 0.3f;  // larger than HF's 0.02 so the logits are far from uniform
  return c;
}

constexpr std::uint64_t kSeed = 20240611;
constexpr int kBatch = 2;
constexpr int kSeq = 7;

// [kBatch, kSeq] row-major; the targets are the inputs shifted left, the last one ignored (-100).
inline std::vector<std::int32_t> inputs() {
  return {5, 17, 36, 0, 17, 9, 22, 31, 2, 2, 14, 28, 7, 1};
}
inline std::vector<std::int32_t> targets() {
  return {17, 36, 0, 17, 9, 22, -100, 2, 2, 14, 28, 7, 1, -100};
}

}  // namespace golden
