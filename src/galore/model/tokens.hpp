// Token id matrices as the model takes them, and the checks every token consumer needs.
//
// Inputs and targets are [batch, seq] int32; token t of the flattened activations [tokens, hidden]
// is (t / seq, t % seq). Targets equal to kIgnoreIndex (torch's default -100) carry no loss.
#pragma once

#include "galore/core/tensor.hpp"

#include <cstdint>
#include <string>

namespace galore {

using TokenMatrix = Kokkos::View<const std::int32_t**, Kokkos::LayoutRight, MemSpace>;

constexpr std::int32_t kIgnoreIndex = -100;

// Throws ShapeError naming the first id outside [0, vocab) (kIgnoreIndex allowed when
// `allow_ignore`), with its position, for the tensor called `what`.
void check_token_range(const ExecSpace& space, TokenMatrix tokens, int vocab, bool allow_ignore,
                       const std::string& what);

// Number of targets that are not kIgnoreIndex.
std::int64_t count_targets(const ExecSpace& space, TokenMatrix targets);

}  // namespace galore
