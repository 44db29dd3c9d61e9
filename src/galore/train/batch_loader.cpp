#include "galore/train/batch_loader.hpp"

#include <algorithm>

namespace galore {

BatchLoader::BatchLoader(std::int64_t micro_batch, std::int64_t seq_len, int micro_batches)
    : micro_batch_(micro_batch),
      seq_len_(seq_len),
      host_inputs_("galore::host_inputs", micro_batch, seq_len),
      host_targets_("galore::host_targets", micro_batch, seq_len) {
  for (int i = 0; i < micro_batches; ++i) {
    inputs_.emplace_back("galore::inputs", micro_batch, seq_len);
    targets_.emplace_back("galore::targets", micro_batch, seq_len);
    batches_.push_back({inputs_.back(), targets_.back()});
  }
}

const std::vector<MicroBatch>& BatchLoader::next(data::RandomWindowSampler& sampler, int rank,
                                                 int ranks) {
  const auto rows = static_cast<std::uint64_t>(micro_batch_);
  for (std::size_t i = 0; i < batches_.size(); ++i) {
    sampler.skip(static_cast<std::uint64_t>(rank) * rows);
    sampler.next_batch(micro_batch_, host_inputs_.data(), host_targets_.data());
    sampler.skip(static_cast<std::uint64_t>(ranks - 1 - rank) * rows);
    Kokkos::deep_copy(inputs_[i], host_inputs_);
    Kokkos::deep_copy(targets_[i], host_targets_);
  }
  return batches_;
}

std::int64_t BatchLoader::load_evaluation(const data::EvaluationWindows& windows,
                                          std::int64_t first) {
  const std::int64_t rows =
      windows.fill(first, micro_batch_, host_inputs_.data(), host_targets_.data());
  for (std::int64_t r = rows; r < micro_batch_; ++r) {
    for (std::int64_t s = 0; s < seq_len_; ++s) {
      host_inputs_(r, s) = 0;
      host_targets_(r, s) = kIgnoreIndex;
    }
  }
  Kokkos::deep_copy(inputs_.front(), host_inputs_);
  Kokkos::deep_copy(targets_.front(), host_targets_);
  return rows;
}

}  // namespace galore
