#include "galore/train/train_step.hpp"

#include "galore/core/error.hpp"

#include <deque>
#include <limits>

namespace galore {
namespace {

// Per-layer mode with overlapped averaging: delivered gradients whose average is in flight or
// whose update has not run yet, at most (the memory bound of train_step.hpp).
constexpr std::size_t kMaxPendingGradients = 2;

}  // namespace

template <class T>
TrainStep<T>::TrainStep(LlamaModel<T>& model, Optimizer<T>& optimizer, bool per_layer,
                        double grad_clip, ProcessGroup* group, FullAveraging full_averaging)
    : model_(model),
      optimizer_(optimizer),
      per_layer_(per_layer),
      grad_clip_(grad_clip),
      // Without clipping the clipper still measures the norm, with a threshold no norm reaches.
      clipper_(grad_clip > 0 ? grad_clip : std::numeric_limits<double>::max()),
      group_(group),
      full_averaging_(full_averaging),
      projected_averaging_(group != nullptr && grad_clip <= 0 && optimizer.choice().galore) {
  if (projected_averaging_) optimizer_.set_gradient_averaging(group_);
  if (group_ != nullptr && !projected_averaging_ && full_averaging_.overlap) {
    // Per-layer: one gradient per collective, started the moment it is delivered.
    reducer_ = group_->make_bucket_reducer(per_layer_ ? 0 : full_averaging_.bucket_bytes);
  }
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
  StepOutcome outcome;
  double loss_sum = 0;
  for (int i = 0; i < n; ++i) {
    const MicroBatch& mb = micro_batches[i];
    const bool last = i == n - 1;
    if (per_layer_ && last) {
      optimizer_.begin_step(step, lr);
      clipper_.begin_step();
      loss_sum += per_layer_backward(space, mb, grad_scale);
      outcome.report = optimizer_.end_step();
      outcome.grad_norm = clipper_.end_step();
    } else if (reducer_ && last) {
      // Each gradient's all-reduce starts (in its bucket) once the backward pass completes it.
      loss_sum += model_.forward_backward(space, mb.inputs, mb.targets, grad_scale,
                                          GradientMode::Deliver, [&](Parameter<T>& p) {
                                            reducer_->add(space, p.grad);
                                            reducer_->progress(space);
                                          });
      reducer_->wait_all(space);
    } else {
      loss_sum += model_.forward_backward(space, mb.inputs, mb.targets, grad_scale,
                                          GradientMode::Accumulate);
    }
  }
  if (!per_layer_) {
    const PhaseScope phase(timer_, Phase::Optimizer);
    auto& parameters = model_.parameters();
    if (group_ != nullptr && !projected_averaging_ && !reducer_) {
      std::vector<Matrix<float>> gradients;
      for (const Parameter<T>& p : parameters) {
        if (p.grad.size() > 0) gradients.push_back(p.grad);
      }
      group_->average_bucketed(space, gradients, full_averaging_.bucket_bytes);
    }
    outcome.grad_norm = grad_clip_ > 0 ? clip_grad_norm(space, parameters, grad_clip_)
                                       : global_grad_norm(space, parameters);
    outcome.report = optimizer_.step(space, parameters, step, lr);
    model_.clear_gradients();
  }
  outcome.loss = group_ != nullptr ? group_->sum(loss_sum / n) / group_->size() : loss_sum / n;
  return outcome;
}

template <class T>
double TrainStep<T>::per_layer_backward(const ExecSpace& space, const MicroBatch& mb,
                                        float grad_scale) {
  // Clip, update and release a gradient that holds its average (the same order as delivered, so
  // the clipper sums the norm in the order the blocking path does).
  const auto apply = [&](Parameter<T>& p) {
    const PhaseScope phase(timer_, Phase::Optimizer);
    clipper_.clip(space, p.grad);
    optimizer_.update(space, p);
    p.grad = Matrix<float>();
  };
  if (!reducer_) {
    const bool full_averaging = group_ != nullptr && !projected_averaging_;
    return model_.forward_backward(space, mb.inputs, mb.targets, grad_scale, GradientMode::Deliver,
                                   [&](Parameter<T>& p) {
                                     const PhaseScope phase(timer_, Phase::Optimizer);
                                     if (full_averaging) group_->average(space, p.grad);
                                     apply(p);
                                   });
  }
  std::deque<Parameter<T>*> pending;  // delivered, not yet applied, oldest first
  std::size_t applied = 0;
  const auto apply_oldest = [&] {
    apply(*pending.front());
    pending.pop_front();
    ++applied;
  };
  const double loss = model_.forward_backward(
      space, mb.inputs, mb.targets, grad_scale, GradientMode::Deliver, [&](Parameter<T>& p) {
        reducer_->add(space, p.grad);
        pending.push_back(&p);
        const std::size_t averaged = reducer_->progress(space);
        while (applied < averaged) apply_oldest();
        if (pending.size() > kMaxPendingGradients) {
          reducer_->wait(space, applied + 1);
          apply_oldest();
        }
      });
  reducer_->wait_all(space);
  while (!pending.empty()) apply_oldest();
  return loss;
}

template class TrainStep<float>;
template class TrainStep<bf16>;

}  // namespace galore
