// Tiled causal attention (FlashAttention-style forward, recomputing backward) and rotary embedding.
//
// Every attention kernel is a Kokkos TeamPolicy over (batch, head, tile). A team stages its tiles
// in scratch memory as fp32; team threads take the tile's rows and vector lanes take the columns,
// so the same code runs as one thread per team on a CPU and as warps on a GPU. The backward pass
// runs in two kernels so that no two teams ever write the same gradient row: one team per key tile
// for dK and dV, one team per query tile for dQ (FlashAttention-2 uses atomics for dQ instead).
#include "galore/model/attention.hpp"

#include "galore/core/cuda_dispatch.hpp"
#include "galore/core/error.hpp"
#include "galore/core/math.hpp"

#if GALORE_CUDA_DISPATCH
#include "kernels/cuda/attention.hpp"
#endif

#include <cmath>
#include <limits>
#include <sstream>
#include <string>

namespace galore {

namespace {

using TeamPolicy = Kokkos::TeamPolicy<ExecSpace>;
using Member = TeamPolicy::member_type;
using ScratchMatrix = Kokkos::View<float**, Kokkos::LayoutRight, ExecSpace::scratch_memory_space,
                                   Kokkos::MemoryUnmanaged>;
using ScratchVector = Kokkos::View<float*, Kokkos::LayoutRight, ExecSpace::scratch_memory_space,
                                   Kokkos::MemoryUnmanaged>;

constexpr int kQueryTile = 32;
constexpr int kKeyTile = 32;
constexpr bool kHostMemory = Kokkos::SpaceAccessibility<HostSpace, MemSpace>::accessible;
// Finite start for running maxima: exp(kLowest - m) is exactly 0 without inf - inf arithmetic.
constexpr float kLowest = std::numeric_limits<float>::lowest();

// --- argument checks -----------------------------------------------------------------------

std::string describe(const AttentionShape& s) {
  std::ostringstream out;
  out << "batch=" << s.batch << " seq=" << s.seq << " heads=" << s.heads
      << " head_dim=" << s.head_dim;
  return out.str();
}

void check_shape(const char* fn, const AttentionShape& s) {
  if (s.batch <= 0 || s.seq <= 0 || s.heads <= 0 || s.head_dim <= 0) {
    throw ShapeError(std::string(fn) + ": every extent must be positive, got " + describe(s));
  }
}

template <class View>
void check_activation(const char* fn, const char* name, const AttentionShape& s, const View& x) {
  if (x.extent(0) != static_cast<std::size_t>(s.tokens()) ||
      x.extent(1) != static_cast<std::size_t>(s.width())) {
    std::ostringstream msg;
    msg << fn << ": " << name << " is " << shape_string(x) << ", expected [" << s.tokens() << 'x'
        << s.width() << "] (tokens x heads*head_dim) for " << describe(s);
    throw ShapeError(msg.str());
  }
}

template <class View>
void check_row_statistic(const char* fn, const char* name, const AttentionShape& s, const View& x) {
  if (x.extent(0) != static_cast<std::size_t>(s.batch) ||
      x.extent(1) != static_cast<std::size_t>(s.heads) ||
      x.extent(2) != static_cast<std::size_t>(s.seq)) {
    std::ostringstream msg;
    msg << fn << ": " << name << " is " << shape_string(x) << ", expected [" << s.batch << 'x'
        << s.heads << 'x' << s.seq << "] (batch x heads x seq) for " << describe(s);
    throw ShapeError(msg.str());
  }
}

// The arguments every forward pass takes: q, k, v, out (tokens x heads*head_dim) and lse.
template <class Q, class K, class V, class O, class L>
void check_forward_arguments(const char* fn, const AttentionShape& s, const Q& q, const K& k,
                             const V& v, const O& out, const L& lse) {
  check_activation(fn, "q", s, q);
  check_activation(fn, "k", s, k);
  check_activation(fn, "v", s, v);
  check_activation(fn, "out", s, out);
  check_row_statistic(fn, "lse", s, lse);
}

// ... and every backward pass: those, d_out and the three input gradients.
template <class Q, class K, class V, class O, class L, class D, class G>
void check_backward_arguments(const char* fn, const AttentionShape& s, const Q& q, const K& k,
                              const V& v, const O& out, const L& lse, const D& d_out, const G& dq,
                              const G& dk, const G& dv) {
  check_forward_arguments(fn, s, q, k, v, out, lse);
  check_activation(fn, "d_out", s, d_out);
  check_activation(fn, "dq", s, dq);
  check_activation(fn, "dk", s, dk);
  check_activation(fn, "dv", s, dv);
}

// --- team launch -----------------------------------------------------------------------------

// Scratch goes to level 0 (on-chip on GPUs) when it fits there, else to level 1.
int scratch_level(std::size_t bytes) {
  return bytes <= static_cast<std::size_t>(TeamPolicy::scratch_size_max(0)) ? 0 : 1;
}

TeamPolicy tile_policy(const ExecSpace& space, int league, int level, std::size_t bytes) {
  const int lanes = kHostMemory ? 1 : 32;  // one warp of lanes across a tile row on GPUs
  return TeamPolicy(space, league, Kokkos::AUTO, lanes)
      .set_scratch_size(level, Kokkos::PerTeam(bytes));
}

// Scores are q . k / sqrt(head_dim).
float score_scale(int head_dim) { return 1.0f / std::sqrt(static_cast<float>(head_dim)); }

std::size_t matrix_bytes(int rows, int cols) { return ScratchMatrix::shmem_size(rows, cols); }
std::size_t vector_bytes(int n) { return ScratchVector::shmem_size(n); }

// Which (batch, head, tile) a team works on; rows of the activations are b * seq + s, columns
// of head h are h * head_dim + c.
struct TileCoord {
  int batch;
  int head;
  int first;  // first sequence position of the tile
  int count;  // positions of the tile inside the sequence (the last tile may be short)
};

// Positions of the tile that starts at `first`; the last tile of a sequence may be short.
KOKKOS_INLINE_FUNCTION int positions_in_tile(int first, int tile, int seq) {
  return seq - first < tile ? seq - first : tile;
}

KOKKOS_INLINE_FUNCTION TileCoord tile_coord(int league_rank, int heads, int seq, int tile) {
  const int tiles = (seq + tile - 1) / tile;
  const int bh = league_rank / tiles;
  const int first = (league_rank % tiles) * tile;
  return {bh / heads, bh % heads, first, positions_in_tile(first, tile, seq)};
}

KOKKOS_INLINE_FUNCTION bool visible(int query, int key) { return key <= query; }

// --- tile primitives (called by the whole team, or by one thread for one row) ----------------

// tile(r, c) = x(row0 + r, col0 + c) as fp32 for r < valid and 0 beyond; stored transposed,
// tile(c, r), when `transpose` is set.
template <class View>
KOKKOS_INLINE_FUNCTION void load_tile(const Member& team, const View& x, int row0, int valid,
                                      int col0, const ScratchMatrix& tile, bool transpose) {
  const int rows = static_cast<int>(transpose ? tile.extent(1) : tile.extent(0));
  const int cols = static_cast<int>(transpose ? tile.extent(0) : tile.extent(1));
  Kokkos::parallel_for(Kokkos::TeamThreadRange(team, rows), [&](const int r) {
    Kokkos::parallel_for(Kokkos::ThreadVectorRange(team, cols), [&](const int c) {
      const float value = r < valid ? to_float(x(row0 + r, col0 + c)) : 0.0f;
      if (transpose) {
        tile(c, r) = value;
      } else {
        tile(r, c) = value;
      }
    });
  });
}

// statistic(r) = source(batch, head, first + r) for r < valid and 0 beyond.
template <class View>
KOKKOS_INLINE_FUNCTION void load_row_statistic(const Member& team, const View& source,
                                               const TileCoord& at,
                                               const ScratchVector& statistic) {
  Kokkos::parallel_for(
      Kokkos::TeamVectorRange(team, static_cast<int>(statistic.extent(0))), [&](const int r) {
        statistic(r) = r < at.count ? source(at.batch, at.head, at.first + r) : 0.0f;
      });
}

// out(r, :) = a(r, :) * b, or += when `accumulate`, for one row r; b is [inner x n]. The inner
// loop is an axpy along a contiguous row: independent sums that vectorise on CPUs, one per lane
// on GPUs.
KOKKOS_INLINE_FUNCTION void row_times(const Member& team, const ScratchMatrix& a, int r,
                                      const ScratchMatrix& b, const ScratchMatrix& out,
                                      bool accumulate) {
  const int inner = static_cast<int>(b.extent(0));
  const int n = static_cast<int>(b.extent(1));
  if (!accumulate) {
    Kokkos::parallel_for(Kokkos::ThreadVectorRange(team, n),
                         [&](const int j) { out(r, j) = 0.0f; });
  }
  for (int c = 0; c < inner; ++c) {
    const float factor = a(r, c);
    Kokkos::parallel_for(Kokkos::ThreadVectorRange(team, n),
                         [&](const int j) { out(r, j) += factor * b(c, j); });
  }
}

// result(row0 + r, col0 + c) = scale * tile(r, c) for the tile's valid rows, rounded to T.
template <class T>
KOKKOS_INLINE_FUNCTION void store_tile(const Member& team, const ScratchMatrix& tile, int valid,
                                       float scale, const MatrixRef<T>& result, int row0,
                                       int col0) {
  Kokkos::parallel_for(Kokkos::TeamThreadRange(team, valid), [&](const int r) {
    Kokkos::parallel_for(
        Kokkos::ThreadVectorRange(team, static_cast<int>(tile.extent(1))),
        [&](const int c) { result(row0 + r, col0 + c) = from_float<T>(scale * tile(r, c)); });
  });
}

// D(b, h, s) = sum_c d_out * out over the head's columns. It equals sum_j P_sj dP_sj, the row term
// of the softmax backward dS = P * (dP - D), but needs no pass over P (FlashAttention-2, Alg. 2).
template <class T>
Tensor3<float> softmax_row_term(const ExecSpace& space, const AttentionShape& shape,
                                const MatrixRef<const T>& out, const MatrixRef<const T>& d_out) {
  const int seq = shape.seq;
  const int heads = shape.heads;
  const int head_dim = shape.head_dim;
  Tensor3<float> row_term(
      Kokkos::view_alloc(space, Kokkos::WithoutInitializing, "galore::attention::row_term"),
      shape.batch, heads, seq);
  Kokkos::parallel_for(
      "galore::attention_backward::row_term",
      Kokkos::RangePolicy<ExecSpace>(space, 0, shape.tokens() * heads), KOKKOS_LAMBDA(const int e) {
        const int t = e / heads;
        const int h = e % heads;
        float sum = 0.0f;
        for (int c = 0; c < head_dim; ++c) {
          sum += to_float(d_out(t, h * head_dim + c)) * to_float(out(t, h * head_dim + c));
        }
        row_term(t / seq, h, t % seq) = sum;
      });
  return row_term;
}

// dK and dV: one team per (batch, head, key tile) walks the query tiles that can see it. Thread
// rows are keys, so each team owns its rows of dk and dv outright.
template <class T>
void attention_backward_keys(const ExecSpace& space, const AttentionShape& shape,
                             const MatrixRef<const T>& q, const MatrixRef<const T>& k,
                             const MatrixRef<const T>& v, const Tensor3Ref<const float>& lse,
                             const Tensor3<float>& row_term, const MatrixRef<const T>& d_out,
                             const MatrixRef<T>& dk, const MatrixRef<T>& dv) {
  const int seq = shape.seq;
  const int heads = shape.heads;
  const int d = shape.head_dim;
  const float scale = score_scale(d);
  const int key_tiles = (seq + kKeyTile - 1) / kKeyTile;
  const std::size_t bytes = 4 * matrix_bytes(kKeyTile, d) + 2 * matrix_bytes(kQueryTile, d) +
                            2 * matrix_bytes(d, kQueryTile) +
                            2 * matrix_bytes(kKeyTile, kQueryTile) + 2 * vector_bytes(kQueryTile);
  const int level = scratch_level(bytes);
  Kokkos::parallel_for(
      "galore::attention_backward::keys",
      tile_policy(space, shape.batch * heads * key_tiles, level, bytes),
      KOKKOS_LAMBDA(const Member& team) {
        const TileCoord keys = tile_coord(team.league_rank(), heads, seq, kKeyTile);
        const int row0 = keys.batch * seq;
        const int col0 = keys.head * d;
        const auto& scratch = team.team_scratch(level);
        const ScratchMatrix k_tile(scratch, kKeyTile, d);
        const ScratchMatrix v_tile(scratch, kKeyTile, d);
        const ScratchMatrix dk_sum(scratch, kKeyTile, d);
        const ScratchMatrix dv_sum(scratch, kKeyTile, d);
        const ScratchMatrix q_tile(scratch, kQueryTile, d);
        const ScratchMatrix do_tile(scratch, kQueryTile, d);
        const ScratchMatrix q_t(scratch, d, kQueryTile);
        const ScratchMatrix do_t(scratch, d, kQueryTile);
        const ScratchMatrix p_t(scratch, kKeyTile, kQueryTile);   // P^T, key rows
        const ScratchMatrix ds_t(scratch, kKeyTile, kQueryTile);  // dP^T, then dS^T
        const ScratchVector lse_tile(scratch, kQueryTile);
        const ScratchVector d_tile(scratch, kQueryTile);

        load_tile(team, k, row0 + keys.first, keys.count, col0, k_tile, false);
        load_tile(team, v, row0 + keys.first, keys.count, col0, v_tile, false);
        Kokkos::parallel_for(Kokkos::TeamThreadRange(team, kKeyTile), [&](const int j) {
          Kokkos::parallel_for(Kokkos::ThreadVectorRange(team, d), [&](const int c) {
            dk_sum(j, c) = 0.0f;
            dv_sum(j, c) = 0.0f;
          });
        });
        // The first query tile that reaches this key tile; earlier queries cannot see it.
        for (int i0 = (keys.first / kQueryTile) * kQueryTile; i0 < seq; i0 += kQueryTile) {
          const TileCoord queries{keys.batch, keys.head, i0,
                                  positions_in_tile(i0, kQueryTile, seq)};
          team.team_barrier();  // the previous query tile is no longer read
          load_tile(team, q, row0 + i0, queries.count, col0, q_tile, false);
          load_tile(team, q, row0 + i0, queries.count, col0, q_t, true);
          load_tile(team, d_out, row0 + i0, queries.count, col0, do_tile, false);
          load_tile(team, d_out, row0 + i0, queries.count, col0, do_t, true);
          load_row_statistic(team, lse, queries, lse_tile);
          load_row_statistic(team, row_term, queries, d_tile);
          team.team_barrier();
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, keys.count), [&](const int j) {
            const int key = keys.first + j;
            if (key > i0 + queries.count - 1) return;  // no query of this tile sees the key
            row_times(team, k_tile, j, q_t, p_t, false);
            Kokkos::parallel_for(Kokkos::ThreadVectorRange(team, kQueryTile), [&](const int i) {
              const bool seen = i < queries.count && visible(i0 + i, key);
              p_t(j, i) = seen ? math::exp(scale * p_t(j, i) - lse_tile(i)) : 0.0f;
            });
            row_times(team, p_t, j, do_tile, dv_sum, true);  // dV += P^T dO
            row_times(team, v_tile, j, do_t, ds_t, false);   // dP^T = V dO^T
            Kokkos::parallel_for(Kokkos::ThreadVectorRange(team, kQueryTile), [&](const int i) {
              ds_t(j, i) = p_t(j, i) * (ds_t(j, i) - d_tile(i));
            });
            row_times(team, ds_t, j, q_tile, dk_sum, true);  // dK += dS^T Q (scaled at the end)
          });
        }
        team.team_barrier();
        store_tile(team, dk_sum, keys.count, scale, dk, row0 + keys.first, col0);
        store_tile(team, dv_sum, keys.count, 1.0f, dv, row0 + keys.first, col0);
      });
}

// dQ: one team per (batch, head, query tile) walks the key tiles up to the causal limit, like the
// forward pass. Thread rows are queries, so each team owns its rows of dq outright.
template <class T>
void attention_backward_queries(const ExecSpace& space, const AttentionShape& shape,
                                const MatrixRef<const T>& q, const MatrixRef<const T>& k,
                                const MatrixRef<const T>& v, const Tensor3Ref<const float>& lse,
                                const Tensor3<float>& row_term, const MatrixRef<const T>& d_out,
                                const MatrixRef<T>& dq) {
  const int seq = shape.seq;
  const int heads = shape.heads;
  const int d = shape.head_dim;
  const float scale = score_scale(d);
  const int query_tiles = (seq + kQueryTile - 1) / kQueryTile;
  const std::size_t bytes = 3 * matrix_bytes(kQueryTile, d) + 2 * matrix_bytes(d, kKeyTile) +
                            matrix_bytes(kKeyTile, d) + 2 * matrix_bytes(kQueryTile, kKeyTile) +
                            2 * vector_bytes(kQueryTile);
  const int level = scratch_level(bytes);
  Kokkos::parallel_for(
      "galore::attention_backward::queries",
      tile_policy(space, shape.batch * heads * query_tiles, level, bytes),
      KOKKOS_LAMBDA(const Member& team) {
        const TileCoord queries = tile_coord(team.league_rank(), heads, seq, kQueryTile);
        const int row0 = queries.batch * seq;
        const int col0 = queries.head * d;
        const auto& scratch = team.team_scratch(level);
        const ScratchMatrix q_tile(scratch, kQueryTile, d);
        const ScratchMatrix do_tile(scratch, kQueryTile, d);
        const ScratchMatrix dq_sum(scratch, kQueryTile, d);
        const ScratchMatrix k_t(scratch, d, kKeyTile);
        const ScratchMatrix v_t(scratch, d, kKeyTile);
        const ScratchMatrix k_tile(scratch, kKeyTile, d);
        const ScratchMatrix p(scratch, kQueryTile, kKeyTile);
        const ScratchMatrix ds(scratch, kQueryTile, kKeyTile);  // dP, then dS
        const ScratchVector lse_tile(scratch, kQueryTile);
        const ScratchVector d_tile(scratch, kQueryTile);

        load_tile(team, q, row0 + queries.first, queries.count, col0, q_tile, false);
        load_tile(team, d_out, row0 + queries.first, queries.count, col0, do_tile, false);
        load_row_statistic(team, lse, queries, lse_tile);
        load_row_statistic(team, row_term, queries, d_tile);
        Kokkos::parallel_for(Kokkos::TeamThreadRange(team, kQueryTile), [&](const int i) {
          Kokkos::parallel_for(Kokkos::ThreadVectorRange(team, d),
                               [&](const int c) { dq_sum(i, c) = 0.0f; });
        });
        const int last_query = queries.first + queries.count - 1;
        for (int j0 = 0; j0 <= last_query; j0 += kKeyTile) {
          const int key_count = positions_in_tile(j0, kKeyTile, seq);
          team.team_barrier();  // the previous key tile is no longer read
          load_tile(team, k, row0 + j0, key_count, col0, k_t, true);
          load_tile(team, v, row0 + j0, key_count, col0, v_t, true);
          load_tile(team, k, row0 + j0, key_count, col0, k_tile, false);
          team.team_barrier();
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, queries.count), [&](const int i) {
            const int query = queries.first + i;
            if (j0 > query) return;  // the whole key tile lies in this query's future
            row_times(team, q_tile, i, k_t, p, false);
            Kokkos::parallel_for(Kokkos::ThreadVectorRange(team, kKeyTile), [&](const int j) {
              p(i, j) = visible(query, j0 + j) ? math::exp(scale * p(i, j) - lse_tile(i)) : 0.0f;
            });
            row_times(team, do_tile, i, v_t, ds, false);  // dP = dO V^T
            Kokkos::parallel_for(Kokkos::ThreadVectorRange(team, kKeyTile),
                                 [&](const int j) { ds(i, j) = p(i, j) * (ds(i, j) - d_tile(i)); });
            row_times(team, ds, i, k_tile, dq_sum, true);  // dQ += dS K (scaled at the end)
          });
        }
        team.team_barrier();
        store_tile(team, dq_sum, queries.count, scale, dq, row0 + queries.first, col0);
      });
}

void check_rope(const char* fn, const AttentionShape& shape, float theta) {
  check_shape(fn, shape);
  if (shape.head_dim % 2 != 0) {
    throw ShapeError(std::string(fn) + ": head_dim must be even to rotate pairs, got " +
                     describe(shape));
  }
  if (!(theta > 0.0f)) {
    throw ConfigError(std::string(fn) + ": theta must be positive, got " + std::to_string(theta));
  }
}

// RoPE for positive (forward) or negative (backward: the inverse, which is the transpose) angles.
template <class T>
void rotate_pairs(const ExecSpace& space, const char* fn, const AttentionShape& shape, float theta,
                  const MatrixRef<T>& x, float direction) {
  check_rope(fn, shape, theta);
  check_activation(fn, "x", shape, x);
  const int seq = shape.seq;
  const int heads = shape.heads;
  const int head_dim = shape.head_dim;
  const int half = head_dim / 2;
  Kokkos::parallel_for(
      fn, Kokkos::RangePolicy<ExecSpace>(space, 0, shape.tokens() * heads * half),
      KOKKOS_LAMBDA(const int e) {
        const int i = e % half;
        const int h = (e / half) % heads;
        const int t = e / (half * heads);
        // Same fp32 steps as HF: inv_freq = 1 / theta^(2i/d), angle = position * inv_freq.
        const float inv_freq =
            1.0f / math::pow(theta, static_cast<float>(2 * i) / static_cast<float>(head_dim));
        const float angle = static_cast<float>(t % seq) * inv_freq;
        const float cos_a = math::cos(angle);
        const float sin_a = direction * math::sin(angle);
        const int col = h * head_dim + i;
        const float x1 = to_float(x(t, col));
        const float x2 = to_float(x(t, col + half));
        x(t, col) = from_float<T>(x1 * cos_a - x2 * sin_a);
        x(t, col + half) = from_float<T>(x2 * cos_a + x1 * sin_a);
      });
}

#if GALORE_CUDA_DISPATCH
// --- CUDA: the fused kernels of kernels/cuda/attention.hpp ---------------------------------------
//
// Same layout as here ([tokens, heads*head_dim] activations, head h in columns h*head_dim..,
// fp32 lse [batch, heads, seq], scores scaled by 1/sqrt(head_dim), causal), same outputs (dq, dk,
// dv overwritten). The kernels take one row stride for q/k/v, one for out/d_out and one for
// dq/dk/dv, a packed lse, head_dim 64 or 128 and at most 65535 (batch, head) pairs; anything
// else stays on the Kokkos kernels above.

namespace cd = cuda_dispatch;
namespace kc = kernels::cuda;

template <class View>
bool packed_row_statistic(const View& x) {
  const auto b = x.extent(0), h = x.extent(1), s = x.extent(2);
  return (s <= 1 || x.stride(2) == 1) && (h <= 1 || x.stride(1) == s) &&
         (b <= 1 || x.stride(0) == h * s);
}

bool fused_shape(const AttentionShape& s) {
  return kc::attention_supports(s.head_dim) && static_cast<long long>(s.batch) * s.heads <= 65535;
}

// The row stride shared by every view, or 0 if they differ or one is strided in its last index.
template <class First, class... Rest>
int shared_row_stride(const First& first, const Rest&... rest) {
  const int ld = cd::row_stride(first);
  return ((cd::row_stride(rest) == ld) && ...) ? ld : 0;
}

kc::AttentionShape kernel_shape(const AttentionShape& s, float rope_theta) {
  return {s.batch, s.seq, s.heads, s.head_dim, rope_theta};
}

// rope_theta 0: q and k are used as given (already rotated, as attention_forward's contract).
template <class T>
bool try_cuda_forward(const ExecSpace& space, const AttentionShape& shape, float rope_theta,
                      const MatrixRef<const T>& q, const MatrixRef<const T>& k,
                      const MatrixRef<const T>& v, const MatrixRef<T>& out,
                      const Tensor3Ref<float>& lse) {
  const int ld_qkv = shared_row_stride(q, k, v);
  const int ld_out = cd::row_stride(out);
  if (!fused_shape(shape) || ld_qkv == 0 || ld_out == 0 || !packed_row_statistic(lse)) {
    return false;
  }
  kc::attention_forward(kernel_shape(shape, rope_theta), cd::words(q.data()), cd::words(k.data()),
                        cd::words(v.data()), ld_qkv, cd::words(out.data()), ld_out, lse.data(),
                        cd::stream(space));
  return true;
}

template <class T>
bool try_cuda_backward(const ExecSpace& space, const AttentionShape& shape, float rope_theta,
                       const MatrixRef<const T>& q, const MatrixRef<const T>& k,
                       const MatrixRef<const T>& v, const MatrixRef<const T>& out,
                       const Tensor3Ref<const float>& lse, const MatrixRef<const T>& d_out,
                       const MatrixRef<T>& dq, const MatrixRef<T>& dk, const MatrixRef<T>& dv) {
  const int ld_qkv = shared_row_stride(q, k, v);
  const int ld_out = shared_row_stride(out, d_out);
  const int ld_grad = shared_row_stride(dq, dk, dv);
  if (!fused_shape(shape) || ld_qkv == 0 || ld_out == 0 || ld_grad == 0 ||
      !packed_row_statistic(lse)) {
    return false;
  }
  // The row term D = rowsum(d_out * out) goes to the stream's workspace: no allocation, no fence.
  const std::size_t row_term_bytes = sizeof(float) * static_cast<std::size_t>(shape.tokens()) *
                                     static_cast<std::size_t>(shape.heads);
  float* row_term = static_cast<float*>(cd::workspace(space, row_term_bytes));
  kc::attention_backward(kernel_shape(shape, rope_theta), cd::words(q.data()), cd::words(k.data()),
                         cd::words(v.data()), ld_qkv, cd::words(out.data()),
                         cd::words(d_out.data()), ld_out, lse.data(), cd::words(dq.data()),
                         cd::words(dk.data()), cd::words(dv.data()), ld_grad, row_term,
                         cd::stream(space));
  return true;
}
#endif

}  // namespace

template <class T>
void rope_forward(const ExecSpace& space, const AttentionShape& shape, float theta,
                  MatrixRef<T> x) {
  rotate_pairs(space, "galore::rope_forward", shape, theta, x, 1.0f);
}

template <class T>
void rope_backward(const ExecSpace& space, const AttentionShape& shape, float theta,
                   MatrixRef<T> dx) {
  rotate_pairs(space, "galore::rope_backward", shape, theta, dx, -1.0f);
}

template <class T>
void attention_forward(const ExecSpace& space, const AttentionShape& shape, MatrixRef<const T> q,
                       MatrixRef<const T> k, MatrixRef<const T> v, MatrixRef<T> out,
                       Tensor3Ref<float> lse) {
  const char* fn = "attention_forward";
  check_shape(fn, shape);
  check_forward_arguments(fn, shape, q, k, v, out, lse);
#if GALORE_CUDA_DISPATCH
  // Fused CUDA kernel without RoPE (q, k arrive rotated) when the layouts fit.
  if (try_cuda_forward<T>(space, shape, 0.0f, q, k, v, out, lse)) return;
#endif

  const int seq = shape.seq;
  const int heads = shape.heads;
  const int d = shape.head_dim;
  const float scale = score_scale(d);
  const int query_tiles = (seq + kQueryTile - 1) / kQueryTile;
  const std::size_t bytes = 2 * matrix_bytes(kQueryTile, d) + matrix_bytes(d, kKeyTile) +
                            matrix_bytes(kKeyTile, d) + matrix_bytes(kQueryTile, kKeyTile) +
                            2 * vector_bytes(kQueryTile);
  const int level = scratch_level(bytes);
  Kokkos::parallel_for(
      "galore::attention_forward",
      tile_policy(space, shape.batch * heads * query_tiles, level, bytes),
      KOKKOS_LAMBDA(const Member& team) {
        const TileCoord queries = tile_coord(team.league_rank(), heads, seq, kQueryTile);
        const int row0 = queries.batch * seq;
        const int col0 = queries.head * d;
        const auto& scratch = team.team_scratch(level);
        const ScratchMatrix q_tile(scratch, kQueryTile, d);
        const ScratchMatrix o_sum(scratch, kQueryTile, d);  // unnormalised output
        const ScratchMatrix k_t(scratch, d, kKeyTile);
        const ScratchMatrix v_tile(scratch, kKeyTile, d);
        const ScratchMatrix p(scratch, kQueryTile, kKeyTile);  // scores, then probabilities
        const ScratchVector row_max(scratch, kQueryTile);
        const ScratchVector row_sum(scratch, kQueryTile);

        load_tile(team, q, row0 + queries.first, queries.count, col0, q_tile, false);
        Kokkos::parallel_for(Kokkos::TeamThreadRange(team, kQueryTile), [&](const int i) {
          Kokkos::parallel_for(Kokkos::ThreadVectorRange(team, d),
                               [&](const int c) { o_sum(i, c) = 0.0f; });
          Kokkos::single(Kokkos::PerThread(team), [&]() {
            row_max(i) = kLowest;
            row_sum(i) = 0.0f;
          });
        });
        const int last_query = queries.first + queries.count - 1;
        for (int j0 = 0; j0 <= last_query; j0 += kKeyTile) {
          const int key_count = positions_in_tile(j0, kKeyTile, seq);
          team.team_barrier();  // the previous key tile is no longer read
          load_tile(team, k, row0 + j0, key_count, col0, k_t, true);
          load_tile(team, v, row0 + j0, key_count, col0, v_tile, false);
          team.team_barrier();
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, queries.count), [&](const int i) {
            const int query = queries.first + i;
            if (j0 > query) return;  // the whole key tile lies in this query's future
            row_times(team, q_tile, i, k_t, p, false);
            float tile_max;
            Kokkos::parallel_reduce(
                Kokkos::ThreadVectorRange(team, kKeyTile),
                [&](const int j, float& m) {
                  if (visible(query, j0 + j)) m = math::max(m, scale * p(i, j));
                },
                Kokkos::Max<float>(tile_max));
            // Online softmax: rescale what was summed under the old maximum.
            const float new_max = math::max(row_max(i), tile_max);
            const float rescale = math::exp(row_max(i) - new_max);
            float tile_sum;
            Kokkos::parallel_reduce(
                Kokkos::ThreadVectorRange(team, kKeyTile),
                [&](const int j, float& sum) {
                  const float prob =
                      visible(query, j0 + j) ? math::exp(scale * p(i, j) - new_max) : 0.0f;
                  p(i, j) = prob;
                  sum += prob;
                },
                tile_sum);
            Kokkos::parallel_for(Kokkos::ThreadVectorRange(team, d),
                                 [&](const int c) { o_sum(i, c) *= rescale; });
            row_times(team, p, i, v_tile, o_sum, true);
            Kokkos::single(Kokkos::PerThread(team), [&]() {
              row_sum(i) = row_sum(i) * rescale + tile_sum;
              row_max(i) = new_max;
            });
          });
        }
        team.team_barrier();
        Kokkos::parallel_for(Kokkos::TeamThreadRange(team, queries.count), [&](const int i) {
          const float inv_sum = 1.0f / row_sum(i);
          Kokkos::parallel_for(Kokkos::ThreadVectorRange(team, d), [&](const int c) {
            out(row0 + queries.first + i, col0 + c) = from_float<T>(o_sum(i, c) * inv_sum);
          });
          Kokkos::single(Kokkos::PerThread(team), [&]() {
            lse(queries.batch, queries.head, queries.first + i) =
                row_max(i) + math::log(row_sum(i));
          });
        });
      });
}

template <class T>
void attention_backward(const ExecSpace& space, const AttentionShape& shape, MatrixRef<const T> q,
                        MatrixRef<const T> k, MatrixRef<const T> v, MatrixRef<const T> out,
                        Tensor3Ref<const float> lse, MatrixRef<const T> d_out, MatrixRef<T> dq,
                        MatrixRef<T> dk, MatrixRef<T> dv) {
  const char* fn = "attention_backward";
  check_shape(fn, shape);
  check_backward_arguments(fn, shape, q, k, v, out, lse, d_out, dq, dk, dv);
#if GALORE_CUDA_DISPATCH
  // Fused CUDA kernels without RoPE when the layouts fit (no temporary, so no fence either).
  if (try_cuda_backward<T>(space, shape, 0.0f, q, k, v, out, lse, d_out, dq, dk, dv)) return;
#endif

  const Tensor3<float> row_term = softmax_row_term(space, shape, out, d_out);
  attention_backward_keys(space, shape, q, k, v, lse, row_term, d_out, dk, dv);
  attention_backward_queries(space, shape, q, k, v, lse, row_term, d_out, dq);
  space.fence();  // row_term is released on return
}

template <class T>
bool rope_attention_forward(const ExecSpace& space, const AttentionShape& shape, float theta,
                            MatrixRef<T> q, MatrixRef<T> k, MatrixRef<const T> v, MatrixRef<T> out,
                            Tensor3Ref<float> lse) {
  check_rope("rope_attention_forward", shape, theta);
#if GALORE_CUDA_DISPATCH
  {
    const char* fn = "rope_attention_forward";
    check_forward_arguments(fn, shape, q, k, v, out, lse);
    // RoPE inside the fused kernel: q and k stay unrotated (and are never rounded after rotation).
    if (try_cuda_forward<T>(space, shape, theta, q, k, v, out, lse)) return false;
  }
#endif
  rope_forward<T>(space, shape, theta, q);
  rope_forward<T>(space, shape, theta, k);
  attention_forward<T>(space, shape, q, k, v, out, lse);
  return true;
}

template <class T>
void rope_attention_backward(const ExecSpace& space, const AttentionShape& shape, float theta,
                             bool qk_rotated, MatrixRef<const T> q, MatrixRef<const T> k,
                             MatrixRef<const T> v, MatrixRef<const T> out,
                             Tensor3Ref<const float> lse, MatrixRef<const T> d_out, MatrixRef<T> dq,
                             MatrixRef<T> dk, MatrixRef<T> dv) {
  check_rope("rope_attention_backward", shape, theta);
  if (!qk_rotated) {
#if GALORE_CUDA_DISPATCH
    const char* fn = "rope_attention_backward";
    check_backward_arguments(fn, shape, q, k, v, out, lse, d_out, dq, dk, dv);
    if (try_cuda_backward<T>(space, shape, theta, q, k, v, out, lse, d_out, dq, dk, dv)) return;
    // The gradients' layout does not fit the kernel: rotate copies of q and k instead.
    const auto rotated = [&](const MatrixRef<const T>& x, const char* label) {
      Matrix<T> copy(Kokkos::view_alloc(space, Kokkos::WithoutInitializing, std::string(label)),
                     x.extent(0), x.extent(1));
      Kokkos::deep_copy(space, copy, x);
      rope_forward<T>(space, shape, theta, copy);
      return copy;
    };
    const Matrix<T> q_rotated = rotated(q, "galore::rope_attention::q");
    const Matrix<T> k_rotated = rotated(k, "galore::rope_attention::k");
    attention_backward<T>(space, shape, q_rotated, k_rotated, v, out, lse, d_out, dq, dk, dv);
#else
    throw Error(
        "rope_attention_backward: q and k are unrotated, but only the CUDA build leaves "
        "them so");
#endif
  } else {
    attention_backward<T>(space, shape, q, k, v, out, lse, d_out, dq, dk, dv);
  }
  rope_backward<T>(space, shape, theta, dq);
  rope_backward<T>(space, shape, theta, dk);
}

template <class T>
void attention_forward_naive(const ExecSpace& space, const AttentionShape& shape,
                             MatrixRef<const T> q, MatrixRef<const T> k, MatrixRef<const T> v,
                             MatrixRef<T> out) {
  const char* fn = "attention_forward_naive";
  check_shape(fn, shape);
  check_activation(fn, "q", shape, q);
  check_activation(fn, "k", shape, k);
  check_activation(fn, "v", shape, v);
  check_activation(fn, "out", shape, out);

  const int seq = shape.seq;
  const int heads = shape.heads;
  const int d = shape.head_dim;
  const float scale = score_scale(d);
  const int rows = shape.batch * heads * seq;
  Tensor3<float> probs(Kokkos::view_alloc(space, "galore::attention_naive::probs"),
                       shape.batch * heads, seq, seq);
  Kokkos::parallel_for(
      "galore::attention_naive::scores", Kokkos::RangePolicy<ExecSpace>(space, 0, rows * seq),
      KOKKOS_LAMBDA(const int e) {
        const int j = e % seq;
        const int i = (e / seq) % seq;
        const int bh = e / (seq * seq);
        const int row0 = (bh / heads) * seq;
        const int col0 = (bh % heads) * d;
        float dot = 0.0f;
        for (int c = 0; c < d; ++c) {
          dot += to_float(q(row0 + i, col0 + c)) * to_float(k(row0 + j, col0 + c));
        }
        probs(bh, i, j) = scale * dot;
      });
  Kokkos::parallel_for(
      "galore::attention_naive::softmax_times_v", Kokkos::RangePolicy<ExecSpace>(space, 0, rows),
      KOKKOS_LAMBDA(const int e) {
        const int i = e % seq;
        const int bh = e / seq;
        const int row0 = (bh / heads) * seq;
        const int col0 = (bh % heads) * d;
        float max_score = kLowest;
        for (int j = 0; j <= i; ++j) max_score = math::max(max_score, probs(bh, i, j));
        float sum = 0.0f;
        for (int j = 0; j <= i; ++j) {
          probs(bh, i, j) = math::exp(probs(bh, i, j) - max_score);
          sum += probs(bh, i, j);
        }
        for (int c = 0; c < d; ++c) {
          float acc = 0.0f;
          for (int j = 0; j <= i; ++j) acc += probs(bh, i, j) * to_float(v(row0 + j, col0 + c));
          out(row0 + i, col0 + c) = from_float<T>(acc / sum);
        }
      });
  space.fence();  // probs is released on return
}

#define GALORE_INSTANTIATE_ATTENTION(T)                                                            \
  template void rope_forward<T>(const ExecSpace&, const AttentionShape&, float, MatrixRef<T>);     \
  template void rope_backward<T>(const ExecSpace&, const AttentionShape&, float, MatrixRef<T>);    \
  template void attention_forward<T>(const ExecSpace&, const AttentionShape&, MatrixRef<const T>,  \
                                     MatrixRef<const T>, MatrixRef<const T>, MatrixRef<T>,         \
                                     Tensor3Ref<float>);                                           \
  template void attention_backward<T>(const ExecSpace&, const AttentionShape&, MatrixRef<const T>, \
                                      MatrixRef<const T>, MatrixRef<const T>, MatrixRef<const T>,  \
                                      Tensor3Ref<const float>, MatrixRef<const T>, MatrixRef<T>,   \
                                      MatrixRef<T>, MatrixRef<T>);                                 \
  template bool rope_attention_forward<T>(const ExecSpace&, const AttentionShape&, float,          \
                                          MatrixRef<T>, MatrixRef<T>, MatrixRef<const T>,          \
                                          MatrixRef<T>, Tensor3Ref<float>);                        \
  template void rope_attention_backward<T>(                                                        \
      const ExecSpace&, const AttentionShape&, float, bool, MatrixRef<const T>,                    \
      MatrixRef<const T>, MatrixRef<const T>, MatrixRef<const T>, Tensor3Ref<const float>,         \
      MatrixRef<const T>, MatrixRef<T>, MatrixRef<T>, MatrixRef<T>);                               \
  template void attention_forward_naive<T>(const ExecSpace&, const AttentionShape&,                \
                                           MatrixRef<const T>, MatrixRef<const T>,                 \
                                           MatrixRef<const T>, MatrixRef<T>);

GALORE_INSTANTIATE_ATTENTION(float)
GALORE_INSTANTIATE_ATTENTION(bf16)

#undef GALORE_INSTANTIATE_ATTENTION

}  // namespace galore
