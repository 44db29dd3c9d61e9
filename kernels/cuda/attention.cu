// Tiled causal attention kernels with RoPE in the tile loaders (see attention.hpp).
//
// Every kernel works on one (batch, head) and one 32-position tile, with 128 threads: four
// threads share a tile row (a query row in the forward and dQ kernels, a key row in the dK/dV
// kernel). Each thread computes 8 of the row's 32 scores and owns a quarter of the row's
// head_dim accumulator columns (c = lane + 4 * i) in registers; the four threads of a row are
// neighbours in one warp, so row maxima and sums are two shuffles and a row's probabilities are
// exchanged through shared memory behind a __syncwarp. Tiles live in shared memory as fp32 with
// padded rows (head_dim + 1 floats), which keeps the column walks of the score loops free of bank
// conflicts.
//
// The backward pass runs two kernels so that no two blocks write the same gradient row (no
// atomics, bitwise reproducible): one block per key tile accumulates dK and dV over the query
// tiles that see it, one block per query tile accumulates dQ. Both recompute probabilities from
// the saved log-sum-exp; D = rowsum(dO * O) comes from a small kernel first (FlashAttention-2).
#include "kernels/cuda/attention.hpp"

#include "kernels/cuda/block_reduce.cuh"
#include "kernels/cuda/cuda_check.hpp"

#include <cmath>
#include <cstdint>
#include <string>

namespace galore::kernels::cuda {

namespace {

constexpr int kTile = 32;                               // positions per query or key tile
constexpr int kLanesPerRow = 4;                         // threads sharing one tile row
constexpr int kThreads = kTile * kLanesPerRow;          // 128
constexpr int kScoresPerLane = kTile / kLanesPerRow;    // 8
constexpr int kScorePitch = kTile + 1;                  // padded probability rows
constexpr float kLowest = -3.402823466e38f;             // finite start for running maxima
constexpr std::size_t kDefaultSharedBytes = 48 * 1024;  // above this a kernel must opt in

// Reductions over the four threads of one tile row (lanes 4r .. 4r+3 of a warp).
__device__ inline float row_group_max(float v) {
  v = fmaxf(v, __shfl_xor_sync(device::kFullWarp, v, 1));
  return fmaxf(v, __shfl_xor_sync(device::kFullWarp, v, 2));
}
__device__ inline float row_group_sum(float v) {
  v += __shfl_xor_sync(device::kFullWarp, v, 1);
  return v + __shfl_xor_sync(device::kFullWarp, v, 2);
}

// RoPE inverse frequencies 1 / theta^(2i / D), computed as the reference does.
template <int D>
__device__ void fill_inv_freq(float* inv_freq, float theta) {
  for (int i = threadIdx.x; i < D / 2; i += blockDim.x) {
    inv_freq[i] = 1.0f / powf(theta, static_cast<float>(2 * i) / static_cast<float>(D));
  }
}

// tile(r, c) = x(row0 + r, col0 + c) in fp32 for r < count, 0 beyond; rotated by RoPE at
// sequence position pos0 + r when inv_freq is given. Whole block.
template <int D, class T>
__device__ void load_tile(const T* x, int ld, std::int64_t row0, int count, int col0, int pos0,
                          const float* inv_freq, float* tile) {
  constexpr int kHalf = D / 2;
  constexpr int kPitch = D + 1;
  for (int e = threadIdx.x; e < kTile * kHalf; e += kThreads) {
    const int r = e / kHalf;
    const int i = e % kHalf;
    float x1 = 0.0f;
    float x2 = 0.0f;
    if (r < count) {
      const T* src = x + (row0 + r) * ld + col0;
      x1 = to_float(src[i]);
      x2 = to_float(src[i + kHalf]);
      if (inv_freq != nullptr) {
        float sin_a;
        float cos_a;
        sincosf(static_cast<float>(pos0 + r) * inv_freq[i], &sin_a, &cos_a);
        const float rotated = x1 * cos_a - x2 * sin_a;
        x2 = x2 * cos_a + x1 * sin_a;
        x1 = rotated;
      }
    }
    tile[r * kPitch + i] = x1;
    tile[r * kPitch + i + kHalf] = x2;
  }
}

// Stores this thread's accumulator columns c = sub + 4 * cc of one row as scale * acc, after the
// inverse RoPE rotation R^T at sequence position `pos` when inv_freq is given. Column c < D/2 is
// paired with c + D/2, which the same thread holds at index cc + D/8.
template <int D, class T>
__device__ void store_row(float (&acc)[D / kLanesPerRow], float scale, const float* inv_freq,
                          int pos, int sub, T* dst) {
  constexpr int kCols = D / kLanesPerRow;
  constexpr int kHalfCols = kCols / 2;
  if (inv_freq != nullptr) {
#pragma unroll
    for (int cc = 0; cc < kHalfCols; ++cc) {
      float sin_a;
      float cos_a;
      sincosf(static_cast<float>(pos) * inv_freq[sub + kLanesPerRow * cc], &sin_a, &cos_a);
      const float y1 = acc[cc];
      const float y2 = acc[cc + kHalfCols];
      acc[cc] = y1 * cos_a + y2 * sin_a;
      acc[cc + kHalfCols] = y2 * cos_a - y1 * sin_a;
    }
  }
#pragma unroll
  for (int cc = 0; cc < kCols; ++cc) dst[sub + kLanesPerRow * cc] = from_float<T>(scale * acc[cc]);
}

// Shared memory of each kernel, in floats.
template <int D>
constexpr int forward_smem_floats() {
  return 3 * kTile * (D + 1) + kTile * kScorePitch + D / 2;
}
template <int D>
constexpr int backward_keys_smem_floats() {
  return 4 * kTile * (D + 1) + 2 * kTile * kScorePitch + 2 * kTile + D / 2;
}
template <int D>
constexpr int backward_queries_smem_floats() {
  return 4 * kTile * (D + 1) + kTile * kScorePitch + D / 2;
}

template <class T, int D>
__global__ void __launch_bounds__(kThreads)
    attention_forward_kernel(AttentionShape s, const T* q, const T* k, const T* v, int ld_qkv,
                             T* out, int ld_out, float* lse, float scale) {
  constexpr int kPitch = D + 1;
  constexpr int kCols = D / kLanesPerRow;
  extern __shared__ float smem[];
  float* q_tile = smem;
  float* k_tile = q_tile + kTile * kPitch;
  float* v_tile = k_tile + kTile * kPitch;
  float* probs = v_tile + kTile * kPitch;
  float* inv_freq = probs + kTile * kScorePitch;

  const int tiles = (s.seq + kTile - 1) / kTile;
  const int tile = tiles - 1 - static_cast<int>(blockIdx.x);  // longest causal rows first
  const int bh = static_cast<int>(blockIdx.y);
  const int q0 = tile * kTile;
  const int q_count = min(kTile, s.seq - q0);
  const std::int64_t seq_row0 = static_cast<std::int64_t>(bh / s.heads) * s.seq;
  const int col0 = (bh % s.heads) * D;
  const float* freq = s.rope_theta > 0.0f ? inv_freq : nullptr;
  if (freq != nullptr) fill_inv_freq<D>(inv_freq, s.rope_theta);
  __syncthreads();
  load_tile<D>(q, ld_qkv, seq_row0 + q0, q_count, col0, q0, freq, q_tile);

  const int r = static_cast<int>(threadIdx.x) / kLanesPerRow;
  const int sub = static_cast<int>(threadIdx.x) % kLanesPerRow;
  const int query = q0 + r;
  const bool row_valid = r < q_count;
  float acc[kCols];
#pragma unroll
  for (int cc = 0; cc < kCols; ++cc) acc[cc] = 0.0f;
  float row_max = kLowest;
  float row_sum = 0.0f;

  const int last_query = q0 + q_count - 1;
  for (int k0 = 0; k0 <= last_query; k0 += kTile) {
    const int k_count = min(kTile, s.seq - k0);
    __syncthreads();  // the previous key tile is no longer read
    load_tile<D>(k, ld_qkv, seq_row0 + k0, k_count, col0, k0, freq, k_tile);
    load_tile<D>(v, ld_qkv, seq_row0 + k0, k_count, col0, k0, nullptr, v_tile);
    __syncthreads();

    float score[kScoresPerLane];
#pragma unroll
    for (int jj = 0; jj < kScoresPerLane; ++jj) score[jj] = 0.0f;
    for (int c = 0; c < D; ++c) {
      const float qc = q_tile[r * kPitch + c];
#pragma unroll
      for (int jj = 0; jj < kScoresPerLane; ++jj) {
        score[jj] += qc * k_tile[(sub + kLanesPerRow * jj) * kPitch + c];
      }
    }
    float tile_max = kLowest;
#pragma unroll
    for (int jj = 0; jj < kScoresPerLane; ++jj) {
      const int key = k0 + sub + kLanesPerRow * jj;
      if (row_valid && key <= query) tile_max = fmaxf(tile_max, scale * score[jj]);
    }
    tile_max = row_group_max(tile_max);
    // Online softmax: rescale what was summed under the old maximum.
    const float new_max = fmaxf(row_max, tile_max);
    const float rescale = expf(row_max - new_max);
    float tile_sum = 0.0f;
#pragma unroll
    for (int jj = 0; jj < kScoresPerLane; ++jj) {
      const int j = sub + kLanesPerRow * jj;
      const bool visible = row_valid && k0 + j <= query;
      const float p = visible ? expf(scale * score[jj] - new_max) : 0.0f;
      probs[r * kScorePitch + j] = p;
      tile_sum += p;
    }
    tile_sum = row_group_sum(tile_sum);
    row_sum = row_sum * rescale + tile_sum;
    row_max = new_max;
#pragma unroll
    for (int cc = 0; cc < kCols; ++cc) acc[cc] *= rescale;
    __syncwarp();  // the row's probabilities come from its four threads, all in this warp
    for (int j = 0; j < kTile; ++j) {
      const float p = probs[r * kScorePitch + j];
#pragma unroll
      for (int cc = 0; cc < kCols; ++cc)
        acc[cc] += p * v_tile[j * kPitch + sub + kLanesPerRow * cc];
    }
  }
  if (row_valid) {
    T* dst = out + (seq_row0 + query) * ld_out + col0;
    const float inv_sum = 1.0f / row_sum;
#pragma unroll
    for (int cc = 0; cc < kCols; ++cc)
      dst[sub + kLanesPerRow * cc] = from_float<T>(acc[cc] * inv_sum);
    if (sub == 0) lse[static_cast<std::int64_t>(bh) * s.seq + query] = row_max + logf(row_sum);
  }
}

// D(b, h, s) = sum_c d_out * out over the head's columns, one warp per (token, head).
template <class T>
__global__ void __launch_bounds__(256)
    attention_row_term_kernel(AttentionShape s, const T* out, const T* d_out, int ld_out,
                              float* row_term) {
  const std::int64_t warp = (static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const int lane = static_cast<int>(threadIdx.x) % 32;
  const std::int64_t rows = static_cast<std::int64_t>(s.batch) * s.seq * s.heads;
  if (warp >= rows) return;  // uniform across the warp
  const std::int64_t t = warp / s.heads;
  const int h = static_cast<int>(warp % s.heads);
  const T* o = out + t * ld_out + static_cast<std::int64_t>(h) * s.head_dim;
  const T* g = d_out + t * ld_out + static_cast<std::int64_t>(h) * s.head_dim;
  float sum = 0.0f;
  for (int c = lane; c < s.head_dim; c += 32) sum += to_float(g[c]) * to_float(o[c]);
  sum = device::warp_sum(sum);
  if (lane == 0) {
    const std::int64_t b = t / s.seq;
    const std::int64_t pos = t % s.seq;
    row_term[(b * s.heads + h) * s.seq + pos] = sum;
  }
}

// dK and dV: one block per key tile walks the query tiles that see it; thread rows are keys.
template <class T, int D>
__global__ void __launch_bounds__(kThreads)
    attention_backward_keys_kernel(AttentionShape s, const T* q, const T* k, const T* v, int ld_qkv,
                                   const T* d_out, int ld_out, const float* lse,
                                   const float* row_term, T* dk, T* dv, int ld_grad, float scale) {
  constexpr int kPitch = D + 1;
  constexpr int kCols = D / kLanesPerRow;
  extern __shared__ float smem[];
  float* k_tile = smem;
  float* v_tile = k_tile + kTile * kPitch;
  float* q_tile = v_tile + kTile * kPitch;
  float* do_tile = q_tile + kTile * kPitch;
  float* probs_t = do_tile + kTile * kPitch;         // P^T: key rows, query columns
  float* dscores_t = probs_t + kTile * kScorePitch;  // dS^T
  float* lse_tile = dscores_t + kTile * kScorePitch;
  float* term_tile = lse_tile + kTile;
  float* inv_freq = term_tile + kTile;

  const int tile = static_cast<int>(blockIdx.x);  // key tile 0 is seen by every query: first
  const int bh = static_cast<int>(blockIdx.y);
  const int k0 = tile * kTile;
  const int k_count = min(kTile, s.seq - k0);
  const std::int64_t seq_row0 = static_cast<std::int64_t>(bh / s.heads) * s.seq;
  const std::int64_t stat0 = static_cast<std::int64_t>(bh) * s.seq;
  const int col0 = (bh % s.heads) * D;
  const float* freq = s.rope_theta > 0.0f ? inv_freq : nullptr;
  if (freq != nullptr) fill_inv_freq<D>(inv_freq, s.rope_theta);
  __syncthreads();
  load_tile<D>(k, ld_qkv, seq_row0 + k0, k_count, col0, k0, freq, k_tile);
  load_tile<D>(v, ld_qkv, seq_row0 + k0, k_count, col0, k0, nullptr, v_tile);

  const int r = static_cast<int>(threadIdx.x) / kLanesPerRow;
  const int sub = static_cast<int>(threadIdx.x) % kLanesPerRow;
  const int key = k0 + r;
  const bool key_valid = r < k_count;
  float dk_acc[kCols];
  float dv_acc[kCols];
#pragma unroll
  for (int cc = 0; cc < kCols; ++cc) dk_acc[cc] = dv_acc[cc] = 0.0f;

  for (int q0 = k0; q0 < s.seq; q0 += kTile) {  // earlier queries cannot see these keys
    const int q_count = min(kTile, s.seq - q0);
    __syncthreads();  // the previous query tile is no longer read
    load_tile<D>(q, ld_qkv, seq_row0 + q0, q_count, col0, q0, freq, q_tile);
    load_tile<D>(d_out, ld_out, seq_row0 + q0, q_count, col0, q0, nullptr, do_tile);
    for (int i = threadIdx.x; i < kTile; i += kThreads) {
      lse_tile[i] = i < q_count ? lse[stat0 + q0 + i] : 0.0f;
      term_tile[i] = i < q_count ? row_term[stat0 + q0 + i] : 0.0f;
    }
    __syncthreads();

    float score[kScoresPerLane];
    float dprob[kScoresPerLane];
#pragma unroll
    for (int ii = 0; ii < kScoresPerLane; ++ii) score[ii] = dprob[ii] = 0.0f;
    for (int c = 0; c < D; ++c) {
      const float kc = k_tile[r * kPitch + c];
      const float vc = v_tile[r * kPitch + c];
#pragma unroll
      for (int ii = 0; ii < kScoresPerLane; ++ii) {
        const int i = sub + kLanesPerRow * ii;
        score[ii] += q_tile[i * kPitch + c] * kc;
        dprob[ii] += do_tile[i * kPitch + c] * vc;  // dP = dO V^T
      }
    }
#pragma unroll
    for (int ii = 0; ii < kScoresPerLane; ++ii) {
      const int i = sub + kLanesPerRow * ii;
      const bool visible = key_valid && i < q_count && key <= q0 + i;
      const float p = visible ? expf(scale * score[ii] - lse_tile[i]) : 0.0f;
      probs_t[r * kScorePitch + i] = p;
      dscores_t[r * kScorePitch + i] = p * (dprob[ii] - term_tile[i]);  // dS = P (dP - D)
    }
    __syncwarp();
    for (int i = 0; i < kTile; ++i) {
      const float p = probs_t[r * kScorePitch + i];
      const float ds = dscores_t[r * kScorePitch + i];
#pragma unroll
      for (int cc = 0; cc < kCols; ++cc) {
        const int c = sub + kLanesPerRow * cc;
        dv_acc[cc] += p * do_tile[i * kPitch + c];  // dV += P^T dO
        dk_acc[cc] += ds * q_tile[i * kPitch + c];  // dK += dS^T Q (scaled when stored)
      }
    }
  }
  if (key_valid) {
    const std::int64_t at = (seq_row0 + key) * ld_grad + col0;
    store_row<D>(dv_acc, 1.0f, nullptr, key, sub, dv + at);
    store_row<D>(dk_acc, scale, freq, key, sub, dk + at);
  }
}

// dQ: one block per query tile walks the key tiles it sees; thread rows are queries.
template <class T, int D>
__global__ void __launch_bounds__(kThreads)
    attention_backward_queries_kernel(AttentionShape s, const T* q, const T* k, const T* v,
                                      int ld_qkv, const T* d_out, int ld_out, const float* lse,
                                      const float* row_term, T* dq, int ld_grad, float scale) {
  constexpr int kPitch = D + 1;
  constexpr int kCols = D / kLanesPerRow;
  extern __shared__ float smem[];
  float* q_tile = smem;
  float* do_tile = q_tile + kTile * kPitch;
  float* k_tile = do_tile + kTile * kPitch;
  float* v_tile = k_tile + kTile * kPitch;
  float* dscores = v_tile + kTile * kPitch;
  float* inv_freq = dscores + kTile * kScorePitch;

  const int tiles = (s.seq + kTile - 1) / kTile;
  const int tile = tiles - 1 - static_cast<int>(blockIdx.x);  // longest causal rows first
  const int bh = static_cast<int>(blockIdx.y);
  const int q0 = tile * kTile;
  const int q_count = min(kTile, s.seq - q0);
  const std::int64_t seq_row0 = static_cast<std::int64_t>(bh / s.heads) * s.seq;
  const int col0 = (bh % s.heads) * D;
  const float* freq = s.rope_theta > 0.0f ? inv_freq : nullptr;
  if (freq != nullptr) fill_inv_freq<D>(inv_freq, s.rope_theta);
  __syncthreads();
  load_tile<D>(q, ld_qkv, seq_row0 + q0, q_count, col0, q0, freq, q_tile);
  load_tile<D>(d_out, ld_out, seq_row0 + q0, q_count, col0, q0, nullptr, do_tile);

  const int r = static_cast<int>(threadIdx.x) / kLanesPerRow;
  const int sub = static_cast<int>(threadIdx.x) % kLanesPerRow;
  const int query = q0 + r;
  const bool row_valid = r < q_count;
  const std::int64_t stat = static_cast<std::int64_t>(bh) * s.seq + query;
  const float row_lse = row_valid ? lse[stat] : 0.0f;
  const float row_d = row_valid ? row_term[stat] : 0.0f;
  float dq_acc[kCols];
#pragma unroll
  for (int cc = 0; cc < kCols; ++cc) dq_acc[cc] = 0.0f;

  const int last_query = q0 + q_count - 1;
  for (int k0 = 0; k0 <= last_query; k0 += kTile) {
    const int k_count = min(kTile, s.seq - k0);
    __syncthreads();  // the previous key tile is no longer read
    load_tile<D>(k, ld_qkv, seq_row0 + k0, k_count, col0, k0, freq, k_tile);
    load_tile<D>(v, ld_qkv, seq_row0 + k0, k_count, col0, k0, nullptr, v_tile);
    __syncthreads();

    float score[kScoresPerLane];
    float dprob[kScoresPerLane];
#pragma unroll
    for (int jj = 0; jj < kScoresPerLane; ++jj) score[jj] = dprob[jj] = 0.0f;
    for (int c = 0; c < D; ++c) {
      const float qc = q_tile[r * kPitch + c];
      const float dc = do_tile[r * kPitch + c];
#pragma unroll
      for (int jj = 0; jj < kScoresPerLane; ++jj) {
        const int j = sub + kLanesPerRow * jj;
        score[jj] += qc * k_tile[j * kPitch + c];
        dprob[jj] += dc * v_tile[j * kPitch + c];
      }
    }
#pragma unroll
    for (int jj = 0; jj < kScoresPerLane; ++jj) {
      const int j = sub + kLanesPerRow * jj;
      const bool visible = row_valid && k0 + j <= query;
      const float p = visible ? expf(scale * score[jj] - row_lse) : 0.0f;
      dscores[r * kScorePitch + j] = p * (dprob[jj] - row_d);
    }
    __syncwarp();
    for (int j = 0; j < kTile; ++j) {
      const float ds = dscores[r * kScorePitch + j];
#pragma unroll
      for (int cc = 0; cc < kCols; ++cc)
        dq_acc[cc] += ds * k_tile[j * kPitch + sub + kLanesPerRow * cc];
    }
  }
  if (row_valid) {
    store_row<D>(dq_acc, scale, freq, query, sub, dq + (seq_row0 + query) * ld_grad + col0);
  }
}

// --- host side -------------------------------------------------------------------------------

std::string describe(const AttentionShape& s) {
  return "batch=" + std::to_string(s.batch) + " seq=" + std::to_string(s.seq) +
         " heads=" + std::to_string(s.heads) + " head_dim=" + std::to_string(s.head_dim) +
         " rope_theta=" + std::to_string(s.rope_theta);
}

void check_shape(const char* fn, const AttentionShape& s, int ld_qkv, int ld_out) {
  require(s.batch >= 1 && s.seq >= 1 && s.heads >= 1, fn,
          "batch, seq and heads must be positive, got " + describe(s));
  require(attention_supports(s.head_dim), fn,
          "head_dim must be 64 or 128 (use the portable kernel otherwise), got " + describe(s));
  require(std::isfinite(s.rope_theta) && s.rope_theta >= 0.0f, fn,
          "rope_theta must be finite and >= 0 (0 disables RoPE), got " + describe(s));
  require(static_cast<std::int64_t>(s.batch) * s.heads <= 65535, fn,
          "batch * heads must be at most 65535 (grid y), got " + describe(s));
  const int width = s.heads * s.head_dim;
  require(ld_qkv >= width && ld_out >= width, fn,
          "row strides must be >= heads * head_dim = " + std::to_string(width) +
              ", got ld_qkv=" + std::to_string(ld_qkv) + " ld_out=" + std::to_string(ld_out));
}

// Opts the kernel in to more than 48 KiB of dynamic shared memory where it needs it.
template <class Kernel>
void prepare_shared_memory(Kernel kernel, std::size_t bytes, const char* name) {
  int device = 0;
  check_cuda(cudaGetDevice(&device), "cudaGetDevice");
  int limit = 0;
  check_cuda(cudaDeviceGetAttribute(&limit, cudaDevAttrMaxSharedMemoryPerBlockOptin, device),
             "cudaDeviceGetAttribute(MaxSharedMemoryPerBlockOptin)");
  require(bytes <= static_cast<std::size_t>(limit), name,
          "needs " + std::to_string(bytes) +
              " bytes of shared memory per block, the device allows " + std::to_string(limit));
  if (bytes > kDefaultSharedBytes) {
    check_cuda(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                    static_cast<int>(bytes)),
               "cudaFuncSetAttribute(MaxDynamicSharedMemorySize)");
  }
}

dim3 tile_grid(const AttentionShape& s) {
  return dim3(static_cast<unsigned>((s.seq + kTile - 1) / kTile),
              static_cast<unsigned>(s.batch * s.heads));
}

float score_scale(int head_dim) { return 1.0f / std::sqrt(static_cast<float>(head_dim)); }

template <class T, int D>
void launch_forward(const AttentionShape& s, const T* q, const T* k, const T* v, int ld_qkv, T* out,
                    int ld_out, float* lse, cudaStream_t stream) {
  const std::size_t bytes = forward_smem_floats<D>() * sizeof(float);
  prepare_shared_memory(attention_forward_kernel<T, D>, bytes, "attention_forward");
  attention_forward_kernel<T, D><<<tile_grid(s), kThreads, bytes, stream>>>(
      s, q, k, v, ld_qkv, out, ld_out, lse, score_scale(D));
  check_launch("attention_forward_kernel");
}

template <class T, int D>
void launch_backward(const AttentionShape& s, const T* q, const T* k, const T* v, int ld_qkv,
                     const T* d_out, int ld_out, const float* lse, const float* row_term, T* dq,
                     T* dk, T* dv, int ld_grad, cudaStream_t stream) {
  const float scale = score_scale(D);
  const std::size_t key_bytes = backward_keys_smem_floats<D>() * sizeof(float);
  prepare_shared_memory(attention_backward_keys_kernel<T, D>, key_bytes, "attention_backward");
  attention_backward_keys_kernel<T, D><<<tile_grid(s), kThreads, key_bytes, stream>>>(
      s, q, k, v, ld_qkv, d_out, ld_out, lse, row_term, dk, dv, ld_grad, scale);
  check_launch("attention_backward_keys_kernel");
  const std::size_t query_bytes = backward_queries_smem_floats<D>() * sizeof(float);
  prepare_shared_memory(attention_backward_queries_kernel<T, D>, query_bytes, "attention_backward");
  attention_backward_queries_kernel<T, D><<<tile_grid(s), kThreads, query_bytes, stream>>>(
      s, q, k, v, ld_qkv, d_out, ld_out, lse, row_term, dq, ld_grad, scale);
  check_launch("attention_backward_queries_kernel");
}

}  // namespace

bool attention_supports(int head_dim) { return head_dim == 64 || head_dim == 128; }

template <class T>
void attention_forward(const AttentionShape& shape, const T* q, const T* k, const T* v, int ld_qkv,
                       T* out, int ld_out, float* lse, cudaStream_t stream) {
  check_shape("attention_forward", shape, ld_qkv, ld_out);
  if (shape.head_dim == 64) {
    launch_forward<T, 64>(shape, q, k, v, ld_qkv, out, ld_out, lse, stream);
  } else {
    launch_forward<T, 128>(shape, q, k, v, ld_qkv, out, ld_out, lse, stream);
  }
}

template <class T>
void attention_backward(const AttentionShape& shape, const T* q, const T* k, const T* v, int ld_qkv,
                        const T* out, const T* d_out, int ld_out, const float* lse, T* dq, T* dk,
                        T* dv, int ld_grad, float* row_term_scratch, cudaStream_t stream) {
  const char* fn = "attention_backward";
  check_shape(fn, shape, ld_qkv, ld_out);
  require(ld_grad >= shape.heads * shape.head_dim, fn,
          "ld_grad must be >= heads * head_dim, got " + std::to_string(ld_grad));
  require(row_term_scratch != nullptr, fn, "row_term_scratch is null");
  const std::int64_t rows = static_cast<std::int64_t>(shape.batch) * shape.seq * shape.heads;
  constexpr int kRowTermThreads = 256;
  const std::int64_t blocks = (rows * 32 + kRowTermThreads - 1) / kRowTermThreads;
  attention_row_term_kernel<T><<<static_cast<unsigned>(blocks), kRowTermThreads, 0, stream>>>(
      shape, out, d_out, ld_out, row_term_scratch);
  check_launch("attention_row_term_kernel");
  if (shape.head_dim == 64) {
    launch_backward<T, 64>(shape, q, k, v, ld_qkv, d_out, ld_out, lse, row_term_scratch, dq, dk, dv,
                           ld_grad, stream);
  } else {
    launch_backward<T, 128>(shape, q, k, v, ld_qkv, d_out, ld_out, lse, row_term_scratch, dq, dk,
                            dv, ld_grad, stream);
  }
}

template void attention_forward<float>(const AttentionShape&, const float*, const float*,
                                       const float*, int, float*, int, float*, cudaStream_t);
template void attention_forward<Bf16Word>(const AttentionShape&, const Bf16Word*, const Bf16Word*,
                                          const Bf16Word*, int, Bf16Word*, int, float*,
                                          cudaStream_t);
template void attention_backward<float>(const AttentionShape&, const float*, const float*,
                                        const float*, int, const float*, const float*, int,
                                        const float*, float*, float*, float*, int, float*,
                                        cudaStream_t);
template void attention_backward<Bf16Word>(const AttentionShape&, const Bf16Word*, const Bf16Word*,
                                           const Bf16Word*, int, const Bf16Word*, const Bf16Word*,
                                           int, const float*, Bf16Word*, Bf16Word*, Bf16Word*, int,
                                           float*, cudaStream_t);

}  // namespace galore::kernels::cuda
