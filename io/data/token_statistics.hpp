// Token histograms and the unigram entropy: the loss a model that ignores context would reach on a
// split, printed by galore-train next to the validation loss and by `galore-data info`.
#pragma once

#include "io/data/token_source.hpp"

#include <cstdint>
#include <vector>

namespace galore::data {

struct TokenHistogram {
  std::vector<std::int64_t> counts;  // counts[id], one entry per vocabulary id
  std::int64_t total = 0;

  std::int64_t distinct() const;  // ids that occur at least once
  std::int64_t min_id() const;    // smallest id that occurs (-1 when empty)
  std::int64_t max_id() const;    // largest id that occurs (-1 when empty)
};

// Counts every token of `source` (a full scan that also validates every id).
TokenHistogram token_histogram(const TokenSource& source);
TokenHistogram token_histogram(const std::vector<std::int32_t>& tokens, std::int64_t vocab_size);

// -sum p log p in nats, with p the empirical unigram distribution (0 for an empty histogram).
double unigram_entropy(const TokenHistogram& histogram);

}  // namespace galore::data
