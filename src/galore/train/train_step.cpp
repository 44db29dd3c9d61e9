#include "galore/train/train_step.hpp"

#include "galore/core/error.hpp"

#include <limits>

namespace galore {
namespace {

// Gradients per collective in the standard mode: large enough to amortise the latency, small
// enough that the staging buffer stays a minor allocation (PyTorch DDP uses 25 MiB).
constexpr std::size_t kBucketBytes = std::size_t{25} << 20;

}  // namespace

template <class T>
TrainStep<T>::TrainStep(LlamaModel<T>& model, Optimizer<T>& optimizer, bool per_layer,
                        double grad_clip, ProcessGroup* group)
    : model_(model),
      optimizer_(optimizer),
      per_layer_(per_layer),
      grad_clip_(grad_clip),
      // Without clipping the clipper still measures the norm, with a threshold no norm reaches.
      clipper_(grad_clip > 0 ? grad_clip : std::numeric_limits<double>::max()),
      group_(group),
      projected_averaging_(group != nullptr && grad_clip <= 0 && optimizer.choice().galore) {
  if (projected_averaging_) optimizer_.set_gradient_averaging(group_);
}

template <class T>
void TrainStep<T>::set_phase_timer(PhaseTimer* timer) {
  timer_ = timer;
  model_.set_phase_timer(timer);
  optimizer_.set_phase_timer(timer);
}

template <class T>
StepOutcome TrainStep<T>::run(const ExecSpace& space, std::int64_t step, float lr,
                              const std::vector<MicroBatch>& micro_batches) {
  if (micro_batches.empty()) throw ShapeError("TrainStep::run: no micro-batches");
  const int n = static_cast<int>(micro_batches.size());
  const float grad_scale = 1.0f / static_cast<float>(n);
  const bool full_averaging = group_ != nullptr && !projected_averaging_;
  StepOutcome outcome;
  double loss_sum = 0;
  for (int i = 0; i < n; ++i) {
    const MicroBatch& mb = micro_batches[i];
    if (per_layer_ && i == n - 1) {
      optimizer_.begin_step(step, lr);
      clipper_.begin_step();
      loss_sum += model_.forward_backward(space, mb.inputs, mb.targets, grad_scale,
                                          GradientMode::Deliver, [&](Parameter<T>& p) {
                                            const PhaseScope phase(timer_, Phase::Optimizer);
                                            if (full_averaging) group_->average(space, p.grad);
                                            clipper_.clip(space, p.grad);
                                            optimizer_.update(space, p);
                                            p.grad = Matrix<float>();
                                          });
      outcome.report = optimizer_.end_step();
      outcome.grad_norm = clipper_.end_step();
    } else {
      loss_sum += model_.forward_backward(space, mb.inputs, mb.targets, grad_scale,
                                          GradientMode::Accumulate);
    }
  }
  if (!per_layer_) {
    const PhaseScope phase(timer_, Phase::Optimizer);
    auto& parameters = model_.parameters();
    if (full_averaging) {
      std::vector<Matrix<float>> gradients;
      for (const Parameter<T>& p : parameters) {
        if (p.grad.size() > 0) gradients.push_back(p.grad);
      }
      group_->average_bucketed(space, gradients, kBucketBytes);
    }
    outcome.grad_norm = grad_clip_ > 0 ? clip_grad_norm(space, parameters, grad_clip_)
                                       : global_grad_norm(space, parameters);
    outcome.report = optimizer_.step(space, parameters, step, lr);
    model_.clear_gradients();
  }
  outcome.loss = group_ != nullptr ? group_->sum(loss_sum / n) / group_->size() : loss_sum / n;
  return outcome;
}

template class TrainStep<float>;
template class TrainStep<bf16>;

}  // namespace galore
