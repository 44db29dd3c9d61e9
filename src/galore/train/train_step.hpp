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
#pragma once

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
  // grad_clip <= 0 disables clipping (the norm is still measured and reported).
  TrainStep(LlamaModel<T>& model, Optimizer<T>& optimizer, bool per_layer, double grad_clip);

  StepOutcome run(const ExecSpace& space, std::int64_t step, float lr,
                  const std::vector<MicroBatch>& micro_batches);

  bool per_layer() const { return per_layer_; }
  // Per-layer clipping state (the previous step's global norm), saved in checkpoints.
  double clip_reference_norm() const { return clipper_.previous_norm(); }
  void restore_clip_reference_norm(double norm) { clipper_.restore_previous_norm(norm); }

 private:
  LlamaModel<T>& model_;
  Optimizer<T>& optimizer_;
  bool per_layer_;
  double grad_clip_;
  PreviousNormClipper clipper_;  // per-layer mode only
};

}  // namespace galore
