// "Did you mean ...?" for configuration keys and names: the closest candidate by edit distance.
#pragma once

#include <string>
#include <vector>

namespace galore {

// Levenshtein distance (insertions, deletions, substitutions each cost 1).
int edit_distance(const std::string& a, const std::string& b);

// The candidate nearest to `word` when it is close enough to be a plausible typo (distance at most
// max(2, |word| / 3)), else an empty string.
std::string closest_spelling(const std::string& word, const std::vector<std::string>& candidates);

// " (did you mean 'x'?)" or "" — ready to append to an error message.
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace galore
