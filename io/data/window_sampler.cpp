// Window filling, the counter-based random sampler and the fixed evaluation windows.
#include "io/data/window_sampler.hpp"

#include "galore/core/error.hpp"
#include "galore/core/rng.hpp"

#include <algorithm>
#include <utility>

namespace galore::data {

namespace {

// The RNG stream reserved for data sampling (model initialisation uses others).
constexpr std::uint64_t kSamplerStream = 0x5A4D504C45ull;  // "SAMPLE"

void require_one_window(const TokenSource& source, std::int64_t seq_len) {
  if (seq_len < 1) {
    throw IoError(source.name() + ": sequence length " + std::to_string(seq_len) +
                  " must be at least 1");
  }
  if (source.size() < seq_len + 1) {
    throw IoError(source.name() + ": holds " + std::to_string(source.size()) +
                  " tokens, fewer than the seq_len + 1 = " + std::to_string(seq_len + 1) +
                  " one window needs (the data ends at " + source.position(source.size()) + ")");
  }
}

}  // namespace

void fill_window(const TokenSource& source, std::int64_t offset, std::int64_t seq_len,
                 std::int32_t* inputs, std::int32_t* targets) {
  source.read(offset, seq_len, inputs);
  std::copy(inputs + 1, inputs + seq_len, targets);
  source.read(offset + seq_len, 1, targets + seq_len - 1);
}

RandomWindowSampler::RandomWindowSampler(TokenSourcePtr source, std::int64_t seq_len,
                                         std::uint64_t seed)
    : source_(std::move(source)), seq_len_(seq_len), window_starts_(0), state_{seed, 0} {
  require_one_window(*source_, seq_len_);
  window_starts_ = source_->size() - seq_len_;
}

std::int64_t RandomWindowSampler::window_offset(std::uint64_t index) const {
  std::uint32_t words[4];
  CounterRng(state_.seed, kSamplerStream).words(index, words);
  const std::uint64_t draw = (static_cast<std::uint64_t>(words[1]) << 32) | words[0];
  // Modulo bias is at most window_starts / 2^64: below 1e-9 for any corpus under 16 G tokens.
  return static_cast<std::int64_t>(draw % static_cast<std::uint64_t>(window_starts_));
}

void RandomWindowSampler::next_batch(std::int64_t rows, std::int32_t* inputs,
                                     std::int32_t* targets) {
  for (std::int64_t row = 0; row < rows; ++row) {
    fill_window(*source_, window_offset(state_.samples_drawn), seq_len_, inputs + row * seq_len_,
                targets + row * seq_len_);
    ++state_.samples_drawn;
  }
}

EvaluationWindows::EvaluationWindows(TokenSourcePtr source, std::int64_t seq_len,
                                     std::int64_t max_tokens)
    : source_(std::move(source)), seq_len_(seq_len), count_(0) {
  require_one_window(*source_, seq_len_);
  count_ = (source_->size() - 1) / seq_len_;
  if (max_tokens > 0) count_ = std::min(count_, std::max<std::int64_t>(1, max_tokens / seq_len_));
}

std::int64_t EvaluationWindows::fill(std::int64_t first, std::int64_t rows, std::int32_t* inputs,
                                     std::int32_t* targets) const {
  const std::int64_t filled = std::clamp<std::int64_t>(count_ - first, 0, rows);
  for (std::int64_t row = 0; row < filled; ++row) {
    fill_window(*source_, window_offset(first + row), seq_len_, inputs + row * seq_len_,
                targets + row * seq_len_);
  }
  return filled;
}

}  // namespace galore::data
