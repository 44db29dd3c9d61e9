// What the trainer and data-parallel tests share: a tiny model shape and a fixed token table whose
// row k is always the same, so any split of rows into micro-batches or ranks sees the same data.
#pragma once

#include "galore/model/config.hpp"
#include "galore/train/train_step.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace training_fixtures {

inline galore::ModelConfig tiny_config() {
  galore::ModelConfig c;
  c.hidden_size = 16;
  c.intermediate_size = 24;
  c.num_attention_heads = 2;
  c.num_hidden_layers = 2;
  c.vocab_size = 29;
  c.max_sequence_length = 16;
  return c;
}

// lr 0.01, weight decay 0.1; GaLore rank 4 (a quarter of hidden 16), scale 0.5.
inline galore::OptimizerConfig tiny_optimizer(const std::string& name, int update_gap) {
  galore::OptimizerConfig oc;
  oc.name = name;
  oc.lr = 0.01f;
  oc.weight_decay = 0.1f;
  oc.galore.rank = 4;
  oc.galore.update_gap = update_gap;
  oc.galore.scale = 0.5f;
  return oc;
}

// Rows [first, first + rows) of the table, as a device micro-batch.
inline galore::MicroBatch rows_of_table(int first, int rows, int seq, int vocab) {
  using Tokens = Kokkos::View<std::int32_t**, Kokkos::LayoutRight, galore::MemSpace>;
  Tokens inputs("inputs", rows, seq), targets("targets", rows, seq);
  auto hi = Kokkos::create_mirror_view(inputs);
  auto ht = Kokkos::create_mirror_view(targets);
  for (int r = 0; r < rows; ++r)
    for (int s = 0; s < seq; ++s) {
      const int row = first + r;
      hi(r, s) = (row * 7 + s * 13 + row * s) % vocab;
      ht(r, s) = (row * 5 + s * 11 + 3 + row * row) % vocab;
    }
  Kokkos::deep_copy(inputs, hi);
  Kokkos::deep_copy(targets, ht);
  return {inputs, targets};
}

// Every weight of the model, parameter after parameter, on the host.
inline std::vector<double> weights_of(galore::LlamaModel<float>& model) {
  std::vector<double> all;
  for (auto& p : model.parameters()) {
    auto h = Kokkos::create_mirror_view_and_copy(galore::HostSpace(), p.value);
    all.insert(all.end(), h.data(), h.data() + h.span());
  }
  return all;
}

inline double max_abs_difference(const std::vector<double>& a, const std::vector<double>& b) {
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
  return worst;
}

}  // namespace training_fixtures
