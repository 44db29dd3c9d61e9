// Token range checks: kernels cannot throw, so a reduction finds the first bad id on the device
// and the host raises the error.
#include "galore/model/tokens.hpp"

#include "galore/core/error.hpp"

#include <limits>

namespace galore {

void check_token_range(const ExecSpace& space, TokenMatrix tokens, int vocab, bool allow_ignore,
                       const std::string& what) {
  const int seq = static_cast<int>(tokens.extent(1));
  const std::int64_t count = static_cast<std::int64_t>(tokens.extent(0)) * seq;
  constexpr std::int64_t kNone = std::numeric_limits<std::int64_t>::max();
  std::int64_t first_bad = kNone;
  Kokkos::parallel_reduce(
      "galore::check_token_range", Kokkos::RangePolicy<ExecSpace>(space, 0, count),
      KOKKOS_LAMBDA(const std::int64_t t, std::int64_t& first) {
        const std::int32_t id = tokens(t / seq, t % seq);
        const bool ok = (id >= 0 && id < vocab) || (allow_ignore && id == kIgnoreIndex);
        if (!ok && t < first) first = t;
      },
      Kokkos::Min<std::int64_t>(first_bad));
  if (first_bad == kNone) return;
  const int b = static_cast<int>(first_bad / seq);
  const int s = static_cast<int>(first_bad % seq);
  std::int32_t id = 0;
  Kokkos::deep_copy(id, Kokkos::subview(tokens, b, s));
  throw ShapeError(what + "[" + std::to_string(b) + ", " + std::to_string(s) + "] = " +
                   std::to_string(id) + " is outside the vocabulary [0, " + std::to_string(vocab) +
                   ")" + (allow_ignore ? " and is not the ignore index -100" : ""));
}

std::int64_t count_targets(const ExecSpace& space, TokenMatrix targets) {
  const int seq = static_cast<int>(targets.extent(1));
  const std::int64_t count = static_cast<std::int64_t>(targets.extent(0)) * seq;
  std::int64_t valid = 0;
  Kokkos::parallel_reduce(
      "galore::count_targets", Kokkos::RangePolicy<ExecSpace>(space, 0, count),
      KOKKOS_LAMBDA(const std::int64_t t, std::int64_t& n) {
        if (targets(t / seq, t % seq) != kIgnoreIndex) ++n;
      },
      valid);
  return valid;
}

}  // namespace galore
