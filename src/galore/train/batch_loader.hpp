// Moves token windows from the host-side samplers (io/data) into device token matrices.
#pragma once

#include "galore/model/tokens.hpp"
#include "galore/train/train_step.hpp"
#include "io/data/window_sampler.hpp"

#include <cstdint>
#include <vector>

namespace galore {

class BatchLoader {
 public:
  // micro_batches buffers of [micro_batch, seq_len] inputs and targets, allocated once.
  BatchLoader(std::int64_t micro_batch, std::int64_t seq_len, int micro_batches);

  // The next micro_batches x micro_batch training windows, in sampler order. With `ranks`
  // data-parallel ranks, micro-batch i of rank r takes the samples
  //   (i ranks + r) micro_batch ... + micro_batch - 1
  // of the global sequence and skips the other ranks' samples: the ranks' parts are disjoint,
  // the sampler's position counts global samples (a checkpoint resumes at any rank count), and
  // ranks x micro_batch rows at one rank count see the windows one rank with micro-batch
  // ranks x micro_batch sees.
  const std::vector<MicroBatch>& next(data::RandomWindowSampler& sampler, int rank = 0,
                                      int ranks = 1);

  // Up to micro_batch validation windows starting at window `first` into buffer 0; returns the
  // rows filled (the rest of the buffer holds targets = kIgnoreIndex, which carry no loss).
  std::int64_t load_evaluation(const data::EvaluationWindows& windows, std::int64_t first);
  const MicroBatch& first() const { return batches_.front(); }

 private:
  using HostTokens = Kokkos::View<std::int32_t**, Kokkos::LayoutRight, HostSpace>;
  using DeviceTokens = Kokkos::View<std::int32_t**, Kokkos::LayoutRight, MemSpace>;

  std::int64_t micro_batch_;
  std::int64_t seq_len_;
  HostTokens host_inputs_, host_targets_;
  std::vector<DeviceTokens> inputs_, targets_;
  std::vector<MicroBatch> batches_;
};

}  // namespace galore
