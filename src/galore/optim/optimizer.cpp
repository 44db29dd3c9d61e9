// Per-parameter dispatch: projection, moment rule, weight application, non-finite bookkeeping.
#include "galore/optim/optimizer.hpp"

#include "galore/core/cuda_dispatch.hpp"
#include "galore/core/error.hpp"
#include "galore/optim/weight_update.hpp"

#if GALORE_CUDA_DISPATCH
#include "galore/optim/fused_adam8bit_update.hpp"
#endif

#include <fmt/format.h>
#include <algorithm>

namespace galore {
namespace {

// SplitMix64 finaliser: decorrelates the sketch seeds of different parameters and refreshes.
std::uint64_t mix_seed(std::uint64_t seed, std::uint64_t slot, std::uint64_t step) {
  std::uint64_t z = seed + 0x9E3779B97F4A7C15ull * (slot + 1) + 0xBF58476D1CE4E5B9ull * step;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

template <class T>
Optimizer<T>::Optimizer(const OptimizerConfig& config, const std::vector<Parameter<T>>& parameters)
    : config_(config), choice_(parse_optimizer_config(config)) {
  slots_.reserve(parameters.size());
  for (const Parameter<T>& p : parameters) {
    if (index_.count(p.name)) {
      throw ConfigError(fmt::format("optimizer: parameter '{}' listed twice", p.name));
    }
    Slot slot;
    slot.name = p.name;
    slot.rows = static_cast<int>(p.value.extent(0));
    slot.cols = static_cast<int>(p.value.extent(1));
    // Vectors are stored [1 x n]; Adafactor factors only true matrices, as torch does for 2-D.
    const bool matrix = slot.rows > 1 && slot.cols > 1;
    if (choice_.galore && is_galore_projectable(p.role)) {
      const int limit = std::min(slot.rows, slot.cols);
      if (config.galore.rank > limit) {
        throw ConfigError(fmt::format(
            "optimizer.galore.rank = {} exceeds min(m, n) = {} of parameter '{}' {} (group "
            "'galore')",
            config.galore.rank, limit, p.name, shape_string(p.value)));
      }
      slot.projector = std::make_unique<GaLoreProjector<T>>(
          projection_side(choice_.proj_type, slot.rows, slot.cols), slot.rows, slot.cols,
          config.galore.rank);
      slot.projector->reserve_scratch(scratch_);
      slot.rule = make_moment_rule(choice_.kind, config, slot.projector->low_rank_rows(),
                                   slot.projector->low_rank_cols(), true);
    } else {
      slot.rule = make_moment_rule(choice_.kind, config, slot.rows, slot.cols, matrix);
    }
    index_.emplace(p.name, slots_.size());
    slots_.push_back(std::move(slot));
  }
  nonfinite_ = Kokkos::View<int*, MemSpace>("galore::optimizer_nonfinite", slots_.size());
}

template <class T>
Optimizer<T>::~Optimizer() = default;

template <class T>
void Optimizer<T>::begin_step(std::int64_t step, float lr) {
  if (in_step_) throw Error(fmt::format("optimizer: begin_step({}) before end_step()", step));
  in_step_ = true;
  step_ = step;
  lr_ = lr;
}

template <class T>
typename Optimizer<T>::Slot& Optimizer<T>::slot_for(const Parameter<T>& param) {
  const auto it = index_.find(param.name);
  if (it == index_.end()) {
    throw ConfigError(
        fmt::format("optimizer: parameter '{}' was not given to the optimizer", param.name));
  }
  return slots_[it->second];
}

template <class T>
void Optimizer<T>::update(const ExecSpace& space, Parameter<T>& param) {
  const Slot& s = update_slot(space, param);
  if (observer_) observer_(s.name, s.refreshed);
}

template <class T>
typename Optimizer<T>::Slot& Optimizer<T>::update_slot(const ExecSpace& space,
                                                       Parameter<T>& param) {
  if (!in_step_) throw Error("optimizer: update() outside begin_step()/end_step()");
  const PhaseScope phase(timer_, Phase::Optimizer);
  Slot& s = slot_for(param);
  if (s.touched) {
    throw Error(fmt::format("optimizer: parameter '{}' updated twice in step {}", s.name, step_));
  }
  if (param.grad.extent(0) != param.value.extent(0) ||
      param.grad.extent(1) != param.value.extent(1)) {
    throw ShapeError(fmt::format("optimizer: parameter '{}' {} has gradient {}", s.name,
                                 shape_string(param.value), shape_string(param.grad)));
  }
  s.touched = true;
  const std::size_t index = index_.at(s.name);
  int* flag = nonfinite_.data() + index;
  const GaLoreSettings& g = config_.galore;
  const bool refresh = s.projector && s.step % g.update_gap == 0;
  // Under data parallelism the full gradient is averaged only where it is consumed whole.
  const bool average_full = group_ != nullptr && (!s.projector || refresh);
  if (average_full) group_->average(space, param.grad);
  if (group_ == nullptr || average_full) count_nonfinite(space, param.grad, flag);
  const std::int64_t t = s.step + 1;

  if (!s.projector) {
#if GALORE_CUDA_DISPATCH
    // 8-bit Adam on CUDA: direction and weight update in one kernel (fused_adam8bit_update.hpp).
    if (fused_adam8bit_update(space, *s.rule, param.grad, param.value, t, lr_, flag)) return s;
#endif
    s.rule->compute_direction(space, param.grad, t, lr_, flag);
    apply_update(space, param.value, param.grad, s.rule->coefficients(t, lr_), flag);
    return s;
  }

  if (refresh) {
    const PhaseScope refresh_phase(timer_, Phase::Refresh);
    // The SVD needs a finite gradient: on refresh steps the flag is read here (one sync every T).
    int bad = 0;
    Kokkos::View<int, HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> host_flag(&bad);
    Kokkos::deep_copy(space, host_flag, Kokkos::subview(nonfinite_, index));
    space.fence();
    if (bad) {
      s.skipped_early = true;
      return s;
    }
    RangeFinderOptions options;
    options.oversampling = g.oversampling;
    options.power_iterations = g.power_iterations;
    options.seed = mix_seed(g.seed, index, static_cast<std::uint64_t>(s.step));
    const SubspaceTransition transition = s.projector->refresh(
        space, param.grad, choice_.refresh, options, g.reproject_moments && s.step > 0);
    if (transition.left.size() > 0 || transition.right.size() > 0) {
      s.rule->rotate_subspace(space, transition.left, transition.right);
    }
    s.refreshed = true;
  }
#if GALORE_CUDA_DISPATCH
  // GaLore 8-bit Adam on CUDA: projection, Adam and back-projection into the weight in three
  // kernels (fused_adam8bit_update.hpp). Not where the low-rank gradient must be averaged over
  // ranks between projection and Adam.
  const bool averages_low_rank = group_ != nullptr && !average_full;
  if (!averages_low_rank && fused_galore_adam8bit_update(space, *s.projector, *s.rule, param.grad,
                                                         param.value, t, lr_, g.scale, flag)) {
    return s;
  }
#endif
  const Matrix<float> low = scratch_.matrix(ScratchSlot::LowRank, s.projector->low_rank_rows(),
                                            s.projector->low_rank_cols());
  s.projector->project(space, param.grad, low, scratch_);
  if (group_ != nullptr && !average_full) {
    group_->average(space, low);
    count_nonfinite(space, low, flag);
  }
  s.rule->compute_direction(space, low, t, lr_, flag);
  s.projector->project_back(space, low, param.grad, scratch_);
  UpdateCoefficients c = s.rule->coefficients(t, lr_);
  c.scale *= g.scale;  // alpha: the effective learning rate on projected weights is lr * alpha
  apply_update(space, param.value, param.grad, c, flag);
  return s;
}

template <class T>
StepReport Optimizer<T>::end_step() {
  if (!in_step_) throw Error("optimizer: end_step() without begin_step()");
  auto flags = Kokkos::create_mirror_view_and_copy(HostSpace(), nonfinite_);
  StepReport report;
  report.step = step_;
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    Slot& s = slots_[i];
    if (!s.touched) continue;
    if (s.skipped_early || flags(i) != 0) {
      report.skipped.push_back(s.name);
    } else {
      ++s.step;
      ++report.updated;
      if (s.refreshed) ++report.refreshed;
    }
    s.touched = s.skipped_early = s.refreshed = false;
  }
  in_step_ = false;
  return report;
}

template <class T>
StepReport Optimizer<T>::step(const ExecSpace& space, std::vector<Parameter<T>>& parameters,
                              std::int64_t step, float lr) {
  begin_step(step, lr);
  for (Parameter<T>& p : parameters) {
    if (p.grad.size() > 0) update(space, p);
  }
  return end_step();
}

template <class T>
void Optimizer<T>::visit_state(const StateVisitor& visitor) {
  for (Slot& s : slots_) {
    visitor(StateTensor{s.name + ".step", {}, "int64", &s.step, sizeof(s.step), true});
    s.rule->visit_state(s.name, visitor);
    if (s.projector) {
      if (s.projector->left().size() > 0) {
        visitor(describe_state(s.name + ".galore.left", s.projector->left()));
      }
      if (s.projector->right().size() > 0) {
        visitor(describe_state(s.name + ".galore.right", s.projector->right()));
      }
    }
  }
}

template <class T>
std::size_t Optimizer<T>::state_bytes() {
  std::size_t bytes = 0;
  visit_state([&](const StateTensor& t) {
    if (!t.on_host) bytes += t.bytes;
  });
  return bytes;
}

template <class T>
OptimizerMemory Optimizer<T>::memory() {
  OptimizerMemory m;
  m.scratch = scratch_.bytes();
  for (Slot& s : slots_) {
    // 8-bit state names its scales "<state>.absmax" (the checkpoint names, adam8bit.cpp).
    s.rule->visit_state(s.name, [&](const StateTensor& t) {
      if (t.on_host) return;
      const std::string suffix = ".absmax";
      const bool scales = t.name.size() > suffix.size() &&
                          t.name.compare(t.name.size() - suffix.size(), suffix.size(), suffix) == 0;
      (scales ? m.quantization_scales : m.states) += t.bytes;
    });
    if (s.projector) {
      m.projections += (s.projector->left().span() + s.projector->right().span()) * sizeof(T);
    }
  }
  return m;
}

template <class T>
const typename Optimizer<T>::Slot* Optimizer<T>::find(const std::string& name) const {
  const auto it = index_.find(name);
  if (it == index_.end()) {
    throw ConfigError(fmt::format("optimizer: no parameter named '{}'", name));
  }
  return &slots_[it->second];
}

template <class T>
const GaLoreProjector<T>* Optimizer<T>::projector(const std::string& name) const {
  return find(name)->projector.get();
}

template <class T>
std::int64_t Optimizer<T>::parameter_step(const std::string& name) const {
  return find(name)->step;
}

template class Optimizer<float>;
template class Optimizer<bf16>;

}  // namespace galore
