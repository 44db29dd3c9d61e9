// Chunked LM head + softmax cross-entropy, forward and backward.
#include "galore/model/cross_entropy.hpp"

#include "galore/core/cuda_dispatch.hpp"
#include "galore/core/error.hpp"
#include "galore/core/gemm.hpp"
#include "galore/core/math.hpp"

#if GALORE_CUDA_DISPATCH
#include "kernels/cuda/cross_entropy.hpp"
#endif

#include <algorithm>
#include <cfloat>
#include <cstddef>

namespace galore {

namespace {

using Policy = Kokkos::TeamPolicy<ExecSpace>;
using Member = Policy::member_type;

template <class T>
void check_shapes(MatrixRef<const T> hidden, MatrixRef<const T> head_weight, TokenMatrix targets,
                  MatrixRef<float> logits_scratch) {
  const auto tokens = targets.extent(0) * targets.extent(1);
  if (hidden.extent(0) != tokens || head_weight.extent(1) != hidden.extent(1) ||
      logits_scratch.extent(0) == 0 || logits_scratch.extent(1) != head_weight.extent(0)) {
    throw ShapeError(
        "lm_head_cross_entropy: hidden" + shape_string(hidden) + ", head_weight" +
        shape_string(head_weight) + ", targets" + shape_string(targets) + ", logits_scratch" +
        shape_string(logits_scratch) +
        " do not fit (need [tokens, h], [vocab, h], [batch, seq], [chunk >= 1, vocab])");
  }
}

// Per row of the chunk: log-sum-exp and loss; with `d_logits` non-empty also the logit gradient
// scale * (softmax - onehot), zero on ignored rows. Returns the chunk's summed loss.
template <class T>
double chunk_softmax(const ExecSpace& space, MatrixRef<float> logits, TokenMatrix targets,
                     int first_token, MatrixRef<T> d_logits, float scale) {
  const int rows = static_cast<int>(logits.extent(0));
  const int vocab = static_cast<int>(logits.extent(1));
  const int seq = static_cast<int>(targets.extent(1));
  const bool with_grad = d_logits.data() != nullptr;
  double loss_sum = 0.0;
  Kokkos::parallel_reduce(
      "galore::lm_head_cross_entropy::softmax", Policy(space, rows, Kokkos::AUTO),
      KOKKOS_LAMBDA(const Member& team, double& sum) {
        const int row = team.league_rank();
        const int t = first_token + row;
        const int target = targets(t / seq, t % seq);
        float max_logit = -FLT_MAX;
        Kokkos::parallel_reduce(
            Kokkos::TeamThreadRange(team, vocab),
            [&](const int j, float& m) { m = math::max(m, logits(row, j)); },
            Kokkos::Max<float>(max_logit));
        float sum_exp = 0.0f;
        Kokkos::parallel_reduce(
            Kokkos::TeamThreadRange(team, vocab),
            [&](const int j, float& s) { s += math::exp(logits(row, j) - max_logit); }, sum_exp);
        const float lse = max_logit + math::log(sum_exp);
        const bool counted = target != kIgnoreIndex;
        const float target_logit = counted ? logits(row, target) : 0.0f;
        // d_logits may share memory with logits: every thread reads before any thread writes.
        team.team_barrier();
        if (with_grad) {
          const float row_scale = counted ? scale : 0.0f;
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, vocab), [&](const int j) {
            const float p = math::exp(logits(row, j) - lse);
            d_logits(row, j) = from_float<T>(row_scale * (p - (j == target ? 1.0f : 0.0f)));
          });
        }
        Kokkos::single(Kokkos::PerTeam(team), [&]() {
          if (counted) sum += static_cast<double>(lse - target_logit);
        });
      },
      loss_sum);
  return loss_sum;
}

#if GALORE_CUDA_DISPATCH
// kernels/cuda/cross_entropy.hpp computes the same loss and gradients (d_logits rounded to T,
// d_hidden overwritten, d_head_weight += in fp32, ignored targets skipped) on packed hidden,
// head_weight, d_hidden and d_head_weight and int32 targets in token order, without a host
// round trip until the loss is read here. Its fp32 logit block and T logit gradient share one
// workspace: the caller's logits scratch is reused, with the chunk shrunk until the workspace
// and the loss fit in it, so peak memory stays what the model accounted for. Only when not even
// one row fits does the stream's own workspace serve. Returns false when a layout does not fit.
template <class T>
bool try_cuda_lm_head(const ExecSpace& space, const MatrixRef<const T>& hidden,
                      const MatrixRef<const T>& head_weight, const TokenMatrix& targets,
                      const MatrixRef<float>& logits_scratch, float grad_scale,
                      const MatrixRef<T>& d_hidden, const MatrixRef<float>& d_head_weight,
                      float& loss) {
  namespace cd = cuda_dispatch;
  namespace kc = kernels::cuda;
  using Word = typename cd::KernelWord<T>::type;
  const bool with_grad = d_hidden.data() != nullptr;
  if (!cd::packed(hidden) || !cd::packed(head_weight) ||
      (with_grad && (!cd::packed(d_hidden) || !cd::packed(d_head_weight))) ||
      hidden.extent(0) == 0 || hidden.extent(1) == 0) {
    return false;
  }
  constexpr std::size_t kLossBytes = 256;  // the device loss, kept 256-byte aligned after the rest
  kc::LmHeadShape shape{static_cast<int>(hidden.extent(0)), static_cast<int>(hidden.extent(1)),
                        static_cast<int>(head_weight.extent(0)),
                        static_cast<int>(logits_scratch.extent(0))};
  const auto bytes_for = [&](int chunk) {
    kc::LmHeadShape s = shape;
    s.chunk = chunk;
    return (kc::lm_head_cross_entropy_workspace_bytes<Word>(s, with_grad) + 255) / 256 * 256 +
           kLossBytes;
  };
  const std::size_t scratch_bytes =
      cd::packed(logits_scratch) ? logits_scratch.span() * sizeof(float) : 0;
  // The largest chunk whose workspace fits the scratch (bytes_for grows with the chunk).
  int lo = 0, hi = shape.chunk;
  while (lo < hi) {
    const int mid = lo + (hi - lo + 1) / 2;
    if (bytes_for(mid) <= scratch_bytes) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  unsigned char* base = nullptr;
  if (lo >= 1) {
    shape.chunk = lo;
    base = reinterpret_cast<unsigned char*>(logits_scratch.data());
  } else {
    base = static_cast<unsigned char*>(cd::workspace(space, bytes_for(shape.chunk)));
  }
  float* device_loss = reinterpret_cast<float*>(base + bytes_for(shape.chunk) - kLossBytes);
  kc::lm_head_cross_entropy<Word>(cd::blas(space), shape, cd::words(hidden.data()),
                                  cd::words(head_weight.data()), targets.data(), grad_scale,
                                  with_grad ? cd::words(d_hidden.data()) : nullptr,
                                  with_grad ? d_head_weight.data() : nullptr, base, device_loss);
  Kokkos::View<float, HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> host_loss(&loss);
  Kokkos::deep_copy(
      space, host_loss,
      Kokkos::View<const float, MemSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>(device_loss));
  space.fence();
  return true;
}
#endif

template <class T>
float run(const ExecSpace& space, MatrixRef<const T> hidden, MatrixRef<const T> head_weight,
          TokenMatrix targets, MatrixRef<float> logits_scratch, MatrixRef<T> d_logits_scratch,
          float grad_scale, MatrixRef<T> d_hidden, MatrixRef<float> d_head_weight) {
  check_shapes(hidden, head_weight, targets, logits_scratch);
  const bool with_grad = d_hidden.data() != nullptr;
  if (with_grad &&
      (d_hidden.extent(0) != hidden.extent(0) || d_hidden.extent(1) != hidden.extent(1) ||
       d_head_weight.extent(0) != head_weight.extent(0) ||
       d_head_weight.extent(1) != head_weight.extent(1) ||
       d_logits_scratch.extent(0) != logits_scratch.extent(0) ||
       d_logits_scratch.extent(1) != logits_scratch.extent(1))) {
    throw ShapeError("lm_head_cross_entropy: gradients d_hidden" + shape_string(d_hidden) +
                     ", d_head_weight" + shape_string(d_head_weight) + ", d_logits_scratch" +
                     shape_string(d_logits_scratch) + " do not fit hidden" + shape_string(hidden) +
                     ", head_weight" + shape_string(head_weight) + ", logits_scratch" +
                     shape_string(logits_scratch));
  }
  check_token_range(space, targets, static_cast<int>(head_weight.extent(0)), true, "targets");
#if GALORE_CUDA_DISPATCH
  // The fused chunked kernel counts the targets itself; the range check above keeps its
  // ShapeError (the kernel would only make the loss NaN).
  float cuda_loss = 0.0f;
  if (try_cuda_lm_head<T>(space, hidden, head_weight, targets, logits_scratch, grad_scale, d_hidden,
                          d_head_weight, cuda_loss)) {
    return cuda_loss;
  }
#endif
  const std::int64_t counted = count_targets(space, targets);
  if (counted == 0) {
    if (with_grad) {
      // Kokkos 3.4's deep_copy cannot fill a LayoutStride view.
      Kokkos::parallel_for(
          "galore::lm_head_cross_entropy::zero_d_hidden",
          Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>>(
              space, {0, 0},
              {static_cast<int>(d_hidden.extent(0)), static_cast<int>(d_hidden.extent(1))}),
          KOKKOS_LAMBDA(const int i, const int j) { d_hidden(i, j) = from_float<T>(0.0f); });
    }
    return 0.0f;
  }
  const float scale = grad_scale / static_cast<float>(counted);
  const int tokens = static_cast<int>(hidden.extent(0));
  const int chunk = static_cast<int>(logits_scratch.extent(0));
  const auto all = Kokkos::ALL;
  double loss_sum = 0.0;
  for (int t0 = 0; t0 < tokens; t0 += chunk) {
    const auto rows = Kokkos::make_pair(t0, std::min(tokens, t0 + chunk));
    const auto chunk_rows = Kokkos::make_pair(0, rows.second - t0);
    const auto h = Kokkos::subview(hidden, rows, all);
    const auto logits = Kokkos::subview(logits_scratch, chunk_rows, all);
    gemm(space, Op::N, Op::T, 1.0f, h, head_weight, 0.0f, logits);
    if (!with_grad) {
      loss_sum += chunk_softmax<T>(space, logits, targets, t0, MatrixRef<T>(), 0.0f);
      continue;
    }
    const auto d_logits = Kokkos::subview(d_logits_scratch, chunk_rows, all);
    loss_sum += chunk_softmax<T>(space, logits, targets, t0, d_logits, scale);
    gemm(space, Op::N, Op::N, 1.0f, d_logits, head_weight, 0.0f,
         Kokkos::subview(d_hidden, rows, all));
    gemm(space, Op::T, Op::N, 1.0f, d_logits, h, 1.0f, d_head_weight);
  }
  return static_cast<float>(loss_sum / static_cast<double>(counted));
}

}  // namespace

template <class T>
float lm_head_cross_entropy_forward(const ExecSpace& space, MatrixRef<const T> hidden,
                                    MatrixRef<const T> head_weight, TokenMatrix targets,
                                    MatrixRef<float> logits_scratch) {
  return run<T>(space, hidden, head_weight, targets, logits_scratch, MatrixRef<T>(), 0.0f,
                MatrixRef<T>(), MatrixRef<float>());
}

template <class T>
float lm_head_cross_entropy_forward_backward(const ExecSpace& space, MatrixRef<const T> hidden,
                                             MatrixRef<const T> head_weight, TokenMatrix targets,
                                             MatrixRef<float> logits_scratch,
                                             MatrixRef<T> d_logits_scratch, float grad_scale,
                                             MatrixRef<T> d_hidden,
                                             MatrixRef<float> d_head_weight) {
  if (d_hidden.data() == nullptr || d_head_weight.data() == nullptr ||
      d_logits_scratch.data() == nullptr) {
    throw ShapeError("lm_head_cross_entropy_forward_backward: d_hidden" + shape_string(d_hidden) +
                     ", d_head_weight" + shape_string(d_head_weight) + " and d_logits_scratch" +
                     shape_string(d_logits_scratch) + " must all be allocated");
  }
  return run<T>(space, hidden, head_weight, targets, logits_scratch, d_logits_scratch, grad_scale,
                d_hidden, d_head_weight);
}

#define GALORE_INSTANTIATE_CROSS_ENTROPY(T)                                                     \
  template float lm_head_cross_entropy_forward<T>(                                              \
      const ExecSpace&, MatrixRef<const T>, MatrixRef<const T>, TokenMatrix, MatrixRef<float>); \
  template float lm_head_cross_entropy_forward_backward<T>(                                     \
      const ExecSpace&, MatrixRef<const T>, MatrixRef<const T>, TokenMatrix, MatrixRef<float>,  \
      MatrixRef<T>, float, MatrixRef<T>, MatrixRef<float>);
GALORE_INSTANTIATE_CROSS_ENTROPY(float)
GALORE_INSTANTIATE_CROSS_ENTROPY(bf16)
#undef GALORE_INSTANTIATE_CROSS_ENTROPY

}  // namespace galore
