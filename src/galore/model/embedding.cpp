// Embedding gather and its column-parallel scatter-add gradient.
#include "galore/model/embedding.hpp"

#include "galore/core/error.hpp"

namespace galore {

namespace {

template <class A, class B>
void check_rows(const char* what, TokenMatrix tokens, const A& table, const B& activations) {
  const auto tokens_total = tokens.extent(0) * tokens.extent(1);
  if (activations.extent(0) != tokens_total || activations.extent(1) != table.extent(1)) {
    throw ShapeError(std::string(what) + ": tokens" + shape_string(tokens) + ", table" +
                     shape_string(table) + " and activations" + shape_string(activations) +
                     " do not fit (need activations [batch*seq, hidden])");
  }
}

}  // namespace

template <class T>
void embedding_forward(const ExecSpace& space, TokenMatrix tokens, MatrixRef<const T> table,
                       MatrixRef<T> out) {
  check_rows("embedding_forward", tokens, table, out);
  check_token_range(space, tokens, static_cast<int>(table.extent(0)), false, "input tokens");
  const int seq = static_cast<int>(tokens.extent(1));
  const int hidden = static_cast<int>(table.extent(1));
  Kokkos::parallel_for(
      "galore::embedding_forward",
      Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>>(space, {0, 0},
                                                        {static_cast<int>(out.extent(0)), hidden}),
      KOKKOS_LAMBDA(const int t, const int j) { out(t, j) = table(tokens(t / seq, t % seq), j); });
}

// Why not atomics: fp32 atomic adds in a thread-dependent order make the gradient differ in the
// last bits from run to run. Owning a block of columns per team and walking the tokens in order
// is race-free and bitwise reproducible; the embedding backward is a small part of a step.
template <class T>
void embedding_backward(const ExecSpace& space, TokenMatrix tokens, MatrixRef<const T> d_out,
                        MatrixRef<float> d_table) {
  check_rows("embedding_backward", tokens, d_table, d_out);
  check_token_range(space, tokens, static_cast<int>(d_table.extent(0)), false, "input tokens");
  constexpr int kColumns = 32;
  const int seq = static_cast<int>(tokens.extent(1));
  const int count = static_cast<int>(d_out.extent(0));
  const int hidden = static_cast<int>(d_out.extent(1));
  const int blocks = (hidden + kColumns - 1) / kColumns;
  using Policy = Kokkos::TeamPolicy<ExecSpace>;
  Kokkos::parallel_for(
      "galore::embedding_backward", Policy(space, blocks, Kokkos::AUTO),
      KOKKOS_LAMBDA(const Policy::member_type& team) {
        const int col0 = team.league_rank() * kColumns;
        const int width = hidden - col0 < kColumns ? hidden - col0 : kColumns;
        for (int t = 0; t < count; ++t) {
          const int row = tokens(t / seq, t % seq);
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, width), [&](const int c) {
            d_table(row, col0 + c) += to_float(d_out(t, col0 + c));
          });
        }
      });
}

#define GALORE_INSTANTIATE_EMBEDDING(T)                                                  \
  template void embedding_forward<T>(const ExecSpace&, TokenMatrix, MatrixRef<const T>,  \
                                     MatrixRef<T>);                                      \
  template void embedding_backward<T>(const ExecSpace&, TokenMatrix, MatrixRef<const T>, \
                                      MatrixRef<float>);
GALORE_INSTANTIATE_EMBEDDING(float)
GALORE_INSTANTIATE_EMBEDDING(bf16)
#undef GALORE_INSTANTIATE_EMBEDDING

}  // namespace galore
