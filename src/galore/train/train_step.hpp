// One optimizer step over several micro-batches: gradient accumulation, clipping and the update,
// in the standard mode or with per-layer updates.
//
// Standard: every micro-batch adds grad(loss / n) into the fp32 gradients; then the global norm is
// clipped and every parameter updated; then the gradients are released.
// Per-layer: micro-batches 1..n-1 accumulate as above; the last one runs in Deliver mode, where
// each parameter is clipped (previous-step norm rule, see gradient_clipping.hpp), updated and its
// gradient freed the moment the backward pass completes it. With one micro-batch only one
// weight's gradient ever exists. The reference (galore_torch) instead steps on every micro-batch
// in per-layer mode, which makes accumulation wrong; here both modes apply the same update.
//
// Data parallelism (a ProcessGroup of N ranks, each given its own micro-batches): the update is
// the one a single process would make from all N ranks' micro-batches. Gradients are averaged
// over the ranks before they are clipped or consumed:
//   full averaging (clipping on, or a non-GaLore optimizer): the all-reduces overlap the backward
//     pass of the last micro-batch (GradientMode::Deliver reports each gradient as soon as it is
//     final). Standard mode packs the gradients, in the order they complete, into 25 MiB buckets
//     (the first 1 MiB) and starts each bucket's non-blocking all-reduce when it is full; the
//     step waits for all of them before clipping and updating. Per-layer mode starts one
//     all-reduce per delivered gradient and clips, updates and frees each gradient, in delivery
//     order, once its average has arrived. At most 2 delivered gradients wait at a time (the
//     oldest is waited for when a third arrives), so besides the gradients the backward pass is
//     still computing (one, or q/k/v and gate/up together) a rank holds at most two, never the
//     whole model's gradients. The collectives progress whenever a gradient is delivered.
//     Clipping measures the global norm of the averaged gradients, exactly.
//     FullAveraging::overlap = false instead averages after the backward pass (standard) or
//     before each update (per-layer): the same values, kept as the baseline of the overlap
//     benchmark and tests.
//   projected averaging (a GaLore optimizer with grad_clip = 0): the optimizer averages the
//     low-rank projected gradients (Optimizer::set_gradient_averaging), which sends
//     r max(m, n) instead of m n floats per projected weight. These are blocking collectives
//     inside update() (the projection needs the complete gradient, the update needs the
//     average). The exact norm of the averaged full gradients is then unknown, so this is used
//     only without clipping, and the reported grad_norm is this rank's local norm.
#pragma once

#include "galore/core/process_group.hpp"
#include "galore/model/llama_model.hpp"
#include "galore/optim/gradient_clipping.hpp"
#include "galore/optim/optimizer.hpp"

#include <cstdint>
#include <memory>
#include <vector>

namespace galore {

struct MicroBatch {
  TokenMatrix inputs;   // [micro_batch, seq]
  TokenMatrix targets;  // [micro_batch, seq]
};

struct StepOutcome {
  double loss = 0;       // mean over the micro-batches (each already a mean over its targets)
  double grad_norm = 0;  // global L2 norm before clipping
  StepReport report;     // updated / refreshed / skipped parameters
};

// How full gradient averages run (see the top of this file); projected averaging ignores these.
struct FullAveraging {
  // false: blocking collectives after the backward pass (standard) or before each update
  // (per-layer), the baseline of the overlap benchmark and tests.
  bool overlap = true;
  // Standard mode: gradients per collective; large enough to amortise the latency, small enough
  // that the staging buffer stays a minor allocation (PyTorch DDP uses 25 MiB too).
  std::size_t bucket_bytes = std::size_t{25} << 20;
};

template <class T>
class TrainStep {
 public:
  // grad_clip <= 0 disables clipping (the norm is still measured and reported). `group`: the
  // data-parallel ranks (nullptr: one process); run() is then collective.
  TrainStep(LlamaModel<T>& model, Optimizer<T>& optimizer, bool per_layer, double grad_clip,
            ProcessGroup* group = nullptr, FullAveraging full_averaging = {});

  StepOutcome run(const ExecSpace& space, std::int64_t step, float lr,
                  const std::vector<MicroBatch>& micro_batches);

  // Times the steps: forward/backward (the model), optimizer and refresh (the optimizer, plus the
  // clipping here). Collectives are timed by handing the constructor a TimedProcessGroup.
  void set_phase_timer(PhaseTimer* timer);

  bool per_layer() const { return per_layer_; }
  // Whether the optimizer averages projected gradients (see the top of this file).
  bool projected_averaging() const { return projected_averaging_; }
  // Per-layer clipping state (the previous step's global norm), saved in checkpoints.
  double clip_reference_norm() const { return clipper_.previous_norm(); }
  void restore_clip_reference_norm(double norm) { clipper_.restore_previous_norm(norm); }

 private:
  // The last micro-batch in per-layer mode: every parameter averaged, clipped and updated as
  // the backward pass delivers it. Returns the micro-batch's loss.
  double per_layer_backward(const ExecSpace& space, const MicroBatch& mb, float grad_scale);

  LlamaModel<T>& model_;
  Optimizer<T>& optimizer_;
  bool per_layer_;
  double grad_clip_;
  PreviousNormClipper clipper_;  // per-layer mode only
  ProcessGroup* group_;
  PhaseTimer* timer_ = nullptr;
  FullAveraging full_averaging_;
  bool projected_averaging_;
  std::unique_ptr<BucketReducer> reducer_;  // overlapped full averaging only
};

}  // namespace galore
