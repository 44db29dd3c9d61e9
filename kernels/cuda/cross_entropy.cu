// Chunked LM head + softmax cross-entropy (see cross_entropy.hpp). Per chunk: one GEMM for the
// logits, one kernel for the row softmax, loss and logit gradient, two GEMMs for the gradients.
// Every reduction combines partial results in a fixed order (bitwise reproducible).
#include "kernels/cuda/cross_entropy.hpp"

#include "kernels/cuda/block_reduce.cuh"
#include "kernels/cuda/cuda_check.hpp"
#include "kernels/cuda/gemm.hpp"

#include <algorithm>
#include <string>

namespace galore::kernels::cuda {

namespace {

constexpr int kThreads = 256;
constexpr std::size_t kAlign = 256;

std::size_t aligned(std::size_t bytes) { return (bytes + kAlign - 1) / kAlign * kAlign; }

struct WorkspaceLayout {
  std::size_t d_logits;  // offset of the T logit gradient
  std::size_t row_loss;  // offset of the per-token losses
  std::size_t counters;  // offset of {counted targets, out-of-range targets}
  std::size_t total;
};

WorkspaceLayout layout_of(const LmHeadShape& s, bool with_gradients, std::size_t t_bytes) {
  const std::size_t block = static_cast<std::size_t>(s.chunk) * static_cast<std::size_t>(s.vocab);
  WorkspaceLayout l{};
  l.d_logits = aligned(block * sizeof(float));
  l.row_loss = l.d_logits + (with_gradients ? aligned(block * t_bytes) : 0);
  l.counters = l.row_loss + aligned(static_cast<std::size_t>(s.tokens) * sizeof(float));
  l.total = l.counters + aligned(2 * sizeof(int));
  return l;
}

__device__ inline bool in_vocab(std::int32_t target, int vocab) {
  return target >= 0 && target < vocab;
}

// counters[0] = targets that carry loss, counters[1] = targets outside the vocabulary.
__global__ void __launch_bounds__(kThreads)
    count_targets_kernel(int tokens, int vocab, const std::int32_t* targets, int* counters) {
  __shared__ int counted;
  __shared__ int bad;
  if (threadIdx.x == 0) counted = bad = 0;
  __syncthreads();
  int my_counted = 0;
  int my_bad = 0;
  for (int t = threadIdx.x; t < tokens; t += blockDim.x) {
    const std::int32_t target = targets[t];
    if (in_vocab(target, vocab)) {
      ++my_counted;
    } else if (target != kIgnoreIndex) {
      ++my_bad;
    }
  }
  atomicAdd(&counted, my_counted);  // integer sums: the order does not change the result
  atomicAdd(&bad, my_bad);
  __syncthreads();
  if (threadIdx.x == 0) {
    counters[0] = counted;
    counters[1] = bad;
  }
}

// One block per logit row: log-sum-exp, the row's loss and (with d_logits) its gradient
// row_scale * (softmax - onehot), row_scale = grad_scale / counted (0 on uncounted rows).
template <class T>
__global__ void __launch_bounds__(kThreads)
    softmax_rows_kernel(int vocab, int first_token, const float* logits,
                        const std::int32_t* targets, const int* counters, float grad_scale,
                        T* d_logits, float* row_loss) {
  __shared__ float scratch[32];
  const std::int64_t row = blockIdx.x;
  const float* x = logits + row * vocab;
  const std::int32_t target = targets[first_token + row];
  const bool counted = in_vocab(target, vocab);

  float max_logit = -3.402823466e38f;
  for (int j = threadIdx.x; j < vocab; j += blockDim.x) max_logit = fmaxf(max_logit, x[j]);
  max_logit = device::block_max(max_logit, scratch);
  float sum_exp = 0.0f;
  for (int j = threadIdx.x; j < vocab; j += blockDim.x) sum_exp += expf(x[j] - max_logit);
  sum_exp = device::block_sum(sum_exp, scratch);
  const float lse = max_logit + logf(sum_exp);

  if (d_logits != nullptr) {
    const int total = counters[0];
    const float row_scale = counted && total > 0 ? grad_scale / static_cast<float>(total) : 0.0f;
    T* d = d_logits + row * vocab;
    for (int j = threadIdx.x; j < vocab; j += blockDim.x) {
      const float p = expf(x[j] - lse);
      d[j] = from_float<T>(row_scale * (p - (j == target ? 1.0f : 0.0f)));
    }
  }
  if (threadIdx.x == 0) row_loss[first_token + row] = counted ? lse - x[target] : 0.0f;
}

// loss = sum(row_loss) / counted in double, in a fixed order; 0 without targets, NaN when a
// target was out of range.
__global__ void __launch_bounds__(kThreads)
    mean_loss_kernel(int tokens, const float* row_loss, const int* counters, float* loss) {
  __shared__ double partial[kThreads];
  double sum = 0.0;
  for (int t = threadIdx.x; t < tokens; t += blockDim.x) sum += static_cast<double>(row_loss[t]);
  partial[threadIdx.x] = sum;
  __syncthreads();
  if (threadIdx.x == 0) {
    double total = 0.0;
    for (int i = 0; i < kThreads; ++i) total += partial[i];
    const int counted = counters[0];
    float result = counted > 0 ? static_cast<float>(total / static_cast<double>(counted)) : 0.0f;
    if (counters[1] > 0) result = __int_as_float(0x7fc00000);  // quiet NaN
    *loss = result;
  }
}

void check_shape(const char* fn, const LmHeadShape& s) {
  require(s.tokens >= 1 && s.hidden >= 1 && s.vocab >= 1 && s.chunk >= 1, fn,
          "every extent must be positive, got tokens=" + std::to_string(s.tokens) +
              " hidden=" + std::to_string(s.hidden) + " vocab=" + std::to_string(s.vocab) +
              " chunk=" + std::to_string(s.chunk));
}

}  // namespace

template <class T>
std::size_t lm_head_cross_entropy_workspace_bytes(const LmHeadShape& shape, bool with_gradients) {
  check_shape("lm_head_cross_entropy_workspace_bytes", shape);
  return layout_of(shape, with_gradients, sizeof(T)).total;
}

template <class T>
void lm_head_cross_entropy(BlasContext& ctx, const LmHeadShape& shape, const T* hidden,
                           const T* head_weight, const std::int32_t* targets, float grad_scale,
                           T* d_hidden, float* d_head_weight, void* workspace, float* loss) {
  const char* fn = "lm_head_cross_entropy";
  check_shape(fn, shape);
  require(hidden != nullptr && head_weight != nullptr && targets != nullptr &&
              workspace != nullptr && loss != nullptr,
          fn, "hidden, head_weight, targets, workspace and loss must be non-null");
  require((d_hidden == nullptr) == (d_head_weight == nullptr), fn,
          "d_hidden and d_head_weight are given together or not at all");
  const bool with_gradients = d_hidden != nullptr;
  const WorkspaceLayout l = layout_of(shape, with_gradients, sizeof(T));
  auto* base = static_cast<unsigned char*>(workspace);
  float* logits = reinterpret_cast<float*>(base);
  T* d_logits = with_gradients ? reinterpret_cast<T*>(base + l.d_logits) : nullptr;
  float* row_loss = reinterpret_cast<float*>(base + l.row_loss);
  int* counters = reinterpret_cast<int*>(base + l.counters);
  const cudaStream_t stream = ctx.stream();
  const int h = shape.hidden;
  const int vocab = shape.vocab;

  count_targets_kernel<<<1, kThreads, 0, stream>>>(shape.tokens, vocab, targets, counters);
  check_launch("count_targets_kernel");
  for (int t0 = 0; t0 < shape.tokens; t0 += shape.chunk) {
    const int rows = std::min(shape.chunk, shape.tokens - t0);
    const T* h_rows = hidden + static_cast<std::int64_t>(t0) * h;
    gemm(ctx, Op::N, Op::T, rows, vocab, h, 1.0f, h_rows, h, head_weight, h, 0.0f, logits, vocab);
    softmax_rows_kernel<T><<<rows, kThreads, 0, stream>>>(vocab, t0, logits, targets, counters,
                                                          grad_scale, d_logits, row_loss);
    check_launch("softmax_rows_kernel");
    if (!with_gradients) continue;
    gemm(ctx, Op::N, Op::N, rows, h, vocab, 1.0f, d_logits, vocab, head_weight, h, 0.0f,
         d_hidden + static_cast<std::int64_t>(t0) * h, h);
    gemm(ctx, Op::T, Op::N, vocab, h, rows, 1.0f, d_logits, vocab, h_rows, h, 1.0f, d_head_weight,
         h);
  }
  mean_loss_kernel<<<1, kThreads, 0, stream>>>(shape.tokens, row_loss, counters, loss);
  check_launch("mean_loss_kernel");
}

template std::size_t lm_head_cross_entropy_workspace_bytes<float>(const LmHeadShape&, bool);
template std::size_t lm_head_cross_entropy_workspace_bytes<Bf16Word>(const LmHeadShape&, bool);
template void lm_head_cross_entropy<float>(BlasContext&, const LmHeadShape&, const float*,
                                           const float*, const std::int32_t*, float, float*, float*,
                                           void*, float*);
template void lm_head_cross_entropy<Bf16Word>(BlasContext&, const LmHeadShape&, const Bf16Word*,
                                              const Bf16Word*, const std::int32_t*, float,
                                              Bf16Word*, float*, void*, float*);

}  // namespace galore::kernels::cuda
