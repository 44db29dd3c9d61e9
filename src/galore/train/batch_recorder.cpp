#include "galore/train/batch_recorder.hpp"

#include "galore/core/error.hpp"

#include <fmt/format.h>

namespace galore {

namespace {

constexpr std::size_t kPrefixBytes = 10;  // "\x93NUMPY", version 1.0, uint16 header length

std::string npy_dict(std::int64_t steps, std::int64_t micro_batches, std::int64_t micro_batch,
                     std::int64_t window) {
  return fmt::format("{{'descr': '<i4', 'fortran_order': False, 'shape': ({}, {}, {}, {}), }}",
                     steps, micro_batches, micro_batch, window);
}

// The .npy v1.0 header: magic, version, length, then the dictionary padded with spaces to
// `bytes` in all and ended by a newline, as the format requires.
std::string npy_header(const std::string& dict, std::size_t bytes) {
  const std::size_t length = bytes - kPrefixBytes;
  std::string header = "\x93NUMPY";
  header += '\x01';
  header += '\x00';
  header += static_cast<char>(length & 0xff);
  header += static_cast<char>(length >> 8);
  header += dict;
  header.append(bytes - header.size() - 1, ' ');
  return header + '\n';
}

}  // namespace

BatchRecorder::BatchRecorder(const std::string& path, std::int64_t max_steps,
                             std::int64_t micro_batches, std::int64_t micro_batch,
                             std::int64_t seq_len)
    : path_(path),
      max_steps_(max_steps),
      micro_batches_(micro_batches),
      micro_batch_(micro_batch),
      seq_len_(seq_len),
      window_(static_cast<std::size_t>(micro_batch * (seq_len + 1))),
      out_(path, std::ios::binary | std::ios::trunc) {
  // Room for the largest step count; numpy aligns the data to 64 bytes.
  const std::size_t longest = npy_dict(max_steps, micro_batches, micro_batch, seq_len + 1).size();
  header_bytes_ = (kPrefixBytes + longest + 1 + 63) / 64 * 64;
  if (!out_) throw IoError("run.record_batches: cannot create " + path);
  write_header();
}

void BatchRecorder::write_header() {
  out_.seekp(0);
  out_ << npy_header(npy_dict(steps_, micro_batches_, micro_batch_, seq_len_ + 1), header_bytes_);
  out_.seekp(0, std::ios::end);
  if (!out_.flush()) throw IoError("run.record_batches: cannot write " + path_);
}

void BatchRecorder::record(const std::vector<MicroBatch>& batches) {
  if (static_cast<std::int64_t>(batches.size()) != micro_batches_ || steps_ == max_steps_) {
    throw ShapeError(fmt::format(
        "BatchRecorder::record: {} micro-batches at step {} of {}, expected {} of [{}, {}]",
        batches.size(), steps_, max_steps_, micro_batches_, micro_batch_, seq_len_));
  }
  const std::int64_t window = seq_len_ + 1;
  for (const MicroBatch& batch : batches) {
    if (batch.inputs.extent(0) != static_cast<std::size_t>(micro_batch_) ||
        batch.inputs.extent(1) != static_cast<std::size_t>(seq_len_)) {
      throw ShapeError(fmt::format("BatchRecorder::record: micro-batch [{}, {}], expected [{}, {}]",
                                   batch.inputs.extent(0), batch.inputs.extent(1), micro_batch_,
                                   seq_len_));
    }
    const auto inputs = Kokkos::create_mirror_view_and_copy(HostSpace(), batch.inputs);
    const auto targets = Kokkos::create_mirror_view_and_copy(HostSpace(), batch.targets);
    for (std::int64_t r = 0; r < micro_batch_; ++r) {
      std::int32_t* row = window_.data() + r * window;
      for (std::int64_t t = 0; t < seq_len_; ++t) row[t] = inputs(r, t);
      row[seq_len_] = targets(r, seq_len_ - 1);
    }
    out_.write(reinterpret_cast<const char*>(window_.data()),
               static_cast<std::streamsize>(window_.size() * sizeof(std::int32_t)));
  }
  ++steps_;
  write_header();
}

}  // namespace galore
