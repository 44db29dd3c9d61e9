// Wall-clock timing for benchmarks: a warm-up call, then the median of fenced repetitions.
#pragma once

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <chrono>
#include <vector>

namespace galore::bench {

// Seconds of one call of `f`, fenced on both sides so asynchronous backends are timed fully.
template <class F>
double fenced_seconds(F&& f) {
  Kokkos::fence();
  const auto start = std::chrono::steady_clock::now();
  f();
  Kokkos::fence();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

inline double median(std::vector<double> times) {
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

// Median over `reps` timed calls after one untimed warm-up (page faults, thread start, caches).
template <class F>
double median_seconds(int reps, F&& f) {
  fenced_seconds(f);
  std::vector<double> times;
  for (int i = 0; i < reps; ++i) times.push_back(fenced_seconds(f));
  return median(times);
}

}  // namespace galore::bench
