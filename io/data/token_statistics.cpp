// Histogram accumulation and the entropy of the empirical unigram distribution.
#include "io/data/token_statistics.hpp"

#include "galore/core/error.hpp"

#include <algorithm>
#include <cmath>

namespace galore::data {

std::int64_t TokenHistogram::distinct() const {
  return std::count_if(counts.begin(), counts.end(), [](std::int64_t c) { return c > 0; });
}

std::int64_t TokenHistogram::min_id() const {
  for (std::size_t id = 0; id < counts.size(); ++id) {
    if (counts[id] > 0) return static_cast<std::int64_t>(id);
  }
  return -1;
}

std::int64_t TokenHistogram::max_id() const {
  for (std::size_t id = counts.size(); id-- > 0;) {
    if (counts[id] > 0) return static_cast<std::int64_t>(id);
  }
  return -1;
}

TokenHistogram token_histogram(const TokenSource& source) {
  TokenHistogram histogram;
  histogram.counts.assign(static_cast<std::size_t>(source.vocab_size()), 0);
  source.for_each_chunk([&](const std::int32_t* tokens, std::int64_t count) {
    for (std::int64_t i = 0; i < count; ++i) ++histogram.counts[tokens[i]];
  });
  histogram.total = source.size();
  return histogram;
}

TokenHistogram token_histogram(const std::vector<std::int32_t>& tokens, std::int64_t vocab_size) {
  TokenHistogram histogram;
  histogram.counts.assign(static_cast<std::size_t>(vocab_size), 0);
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] < 0 || tokens[i] >= vocab_size) {
      throw IoError("token histogram: id " + std::to_string(tokens[i]) + " at token offset " +
                    std::to_string(i) + " is outside the vocabulary [0, " +
                    std::to_string(vocab_size) + ")");
    }
    ++histogram.counts[tokens[i]];
  }
  histogram.total = static_cast<std::int64_t>(tokens.size());
  return histogram;
}

double unigram_entropy(const TokenHistogram& histogram) {
  if (histogram.total == 0) return 0.0;
  const double total = static_cast<double>(histogram.total);
  double entropy = 0.0;
  for (const std::int64_t count : histogram.counts) {
    if (count == 0) continue;
    const double p = static_cast<double>(count) / total;
    entropy -= p * std::log(p);
  }
  return entropy;
}

}  // namespace galore::data
