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
//   full averaging (clipping on, or a non-GaLore optimizer): standard mode averages every gradient
//     after the backward pass, in buckets; per-layer mode averages each gradient as it is
//     delivered. Clipping then measures the global norm of the averaged gradients, exactly.
//   projected averaging (a GaLore optimizer with grad_clip = 0): the optimizer averages the
//     low-rank projected gradients (Optimizer::set_gradient_averaging), which sends
//     r max(m, n) instead of m n floats per projected weight. The exact norm of the averaged full
//     gradients is then unknown, so this is used only without clipping, and the reported
//     grad_norm is this rank's local norm.
#pragma once

#include "galore/core/process_group.hpp"
#include "galore/model/llama_model.hpp"
#include "galore/optim/gradient_clipping.hpp"
#include "galore/optim/optimizer.hpp"

#include <cstdint>
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

template <class T>
class TrainStep {
 public:
  // grad_clip <= 0 disables clipping (the norm is still measured and reported). `group`: the
  // data-parallel ranks (nullptr: one process); run() is then collective.
  TrainStep(LlamaModel<T>& model, Optimizer<T>& optimizer, bool per_layer, double grad_clip,
            ProcessGroup* group = nullptr);

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
  LlamaModel<T>& model_;
  Optimizer<T>& optimizer_;
  bool per_layer_;
  double grad_clip_;
  PreviousNormClipper clipper_;  // per-layer mode only
  ProcessGroup* group_;
  PhaseTimer* timer_ = nullptr;
  bool projected_averaging_;
};

}  // namespace galore
