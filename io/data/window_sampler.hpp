// Training and evaluation windows over a TokenSource. A window is seq_len + 1 consecutive tokens:
// inputs are the first seq_len, targets the same tokens shifted by one (next-token prediction).
//
// RandomWindowSampler draws window starts uniformly from a counter-based RNG: sample k's start is
// a pure function of (seed, k), so the whole sampler state is (seed, samples_drawn) and a resumed
// run sees exactly the windows the uninterrupted run would have seen.
// EvaluationWindows is the fixed, deterministic set of non-overlapping windows used for validation.
#pragma once

#include "io/data/token_source.hpp"

#include <cstdint>

namespace galore::data {

// Reads window [offset, offset + seq_len + 1) of `source` into inputs[0, seq_len) and
// targets[0, seq_len) (targets[i] == inputs[i + 1] for i < seq_len - 1).
void fill_window(const TokenSource& source, std::int64_t offset, std::int64_t seq_len,
                 std::int32_t* inputs, std::int32_t* targets);

struct SamplerState {
  std::uint64_t seed = 0;
  std::uint64_t samples_drawn = 0;
};

class RandomWindowSampler {
 public:
  // IoError naming the source when it holds fewer than seq_len + 1 tokens.
  RandomWindowSampler(TokenSourcePtr source, std::int64_t seq_len, std::uint64_t seed);

  // Start of sample `index` in [0, size - seq_len - 1]; independent of samples_drawn.
  std::int64_t window_offset(std::uint64_t index) const;
  // Fills `rows` windows (row-major rows x seq_len arrays) with the next samples.
  void next_batch(std::int64_t rows, std::int32_t* inputs, std::int32_t* targets);
  // Advances past samples another consumer (e.g. another data-parallel rank) takes.
  void skip(std::uint64_t samples) { state_.samples_drawn += samples; }

  SamplerState state() const { return state_; }
  void restore(const SamplerState& state) { state_ = state; }
  std::int64_t seq_len() const { return seq_len_; }
  const TokenSource& source() const { return *source_; }

 private:
  TokenSourcePtr source_;
  std::int64_t seq_len_;
  std::int64_t window_starts_;  // number of valid starts: size - seq_len
  SamplerState state_;
};

class EvaluationWindows {
 public:
  // Windows start at 0, seq_len, 2 seq_len, ... so every token is predicted once; the count is
  // (size - 1) / seq_len, capped at max(1, max_tokens / seq_len) when max_tokens > 0.
  // IoError naming the source when it holds fewer than seq_len + 1 tokens.
  EvaluationWindows(TokenSourcePtr source, std::int64_t seq_len, std::int64_t max_tokens = 0);

  std::int64_t count() const { return count_; }
  std::int64_t seq_len() const { return seq_len_; }
  std::int64_t window_offset(std::int64_t index) const { return index * seq_len_; }
  // Fills windows first, first + 1, ... (at most `rows`, stopping at count()); returns how many.
  std::int64_t fill(std::int64_t first, std::int64_t rows, std::int32_t* inputs,
                    std::int32_t* targets) const;
  const TokenSource& source() const { return *source_; }

 private:
  TokenSourcePtr source_;
  std::int64_t seq_len_;
  std::int64_t count_;
};

}  // namespace galore::data
