// How much of a known-spectrum matrix the randomized range finder's rank-r basis captures, next to
// the exact SVD's (the optimum), and what each costs: the GaLore projector's refresh on a
// gradient-shaped matrix.
#pragma once

#include <string>

namespace galore::bench {

// Prints a table to stdout and returns its findings as one sentence (for the Markdown fragment);
// `quick` uses a small matrix.
std::string print_range_finder_report(bool quick);

}  // namespace galore::bench
