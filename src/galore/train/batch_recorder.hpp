// Records the token windows a run trains on (run.record_batches), so that another implementation
// (benchmarks/compare_torch) can train on exactly the same batches.
//
// The file is a NumPy .npy array, int32, C order, shape [steps, micro_batches, micro_batch,
// seq_len + 1]: row r of micro-batch i of a step is one window; its inputs are [..., :-1] and its
// targets [..., 1:] (the sampler's windows are next-token shifted). The header is rewritten after
// every step, so the file always holds exactly the steps recorded so far.
#pragma once

#include "galore/train/train_step.hpp"

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace galore {

class BatchRecorder {
 public:
  // Creates (replaces) `path` for up to `max_steps` steps of `micro_batches` micro-batches of
  // [micro_batch, seq_len] tokens. IoError naming the file when it cannot be written.
  BatchRecorder(const std::string& path, std::int64_t max_steps, std::int64_t micro_batches,
                std::int64_t micro_batch, std::int64_t seq_len);

  // Appends one step. ShapeError if the micro-batches do not have the shape given at
  // construction or max_steps are already recorded; IoError if the write fails.
  void record(const std::vector<MicroBatch>& batches);

  std::int64_t steps() const { return steps_; }

 private:
  void write_header();

  std::string path_;
  std::int64_t max_steps_, micro_batches_, micro_batch_, seq_len_;
  std::int64_t steps_ = 0;
  std::size_t header_bytes_;
  std::vector<std::int32_t> window_;  // one micro-batch, [micro_batch, seq_len + 1]
  std::ofstream out_;
};

}  // namespace galore
