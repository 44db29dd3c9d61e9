// The optimizer a trainer drives: one update per parameter per step, in any order, so the same
// object serves the standard step (after the whole backward pass) and per-layer updates (from the
// model's gradient callback, each gradient freed right after its update).
//
//   optimizer.begin_step(step, lr);
//   for each parameter with a gradient:  optimizer.update(space, parameter);
//   StepReport report = optimizer.end_step();
//
// GaLore variants project the attention and MLP weights (is_galore_projectable) and run the
// base optimizer on every other parameter. update() consumes the gradient: its buffer is
// overwritten with the update direction (for projected weights, the projected-back update).
//
// Non-finite gradients: a parameter whose gradient holds a NaN or Inf is skipped — weights and
// optimizer state untouched, its step count not advanced — and named in the StepReport. Other
// parameters of the same step are updated normally: with per-layer updates earlier layers cannot
// be undone, so skipping per parameter is the one rule both modes can keep. The check is
// asynchronous (a device flag read by the update kernels); end_step() reads the flags once, except
// on a GaLore refresh step, where the flag is read before the SVD.
//
// Data parallelism: with set_gradient_averaging(group), update() averages over the ranks exactly
// what it consumes, from the rank-local gradient it is given: a regular parameter's gradient; for
// a projected weight the low-rank gradient (r x n or m x r: projection is linear, so this equals
// projecting the averaged gradient), except on subspace-refresh steps, where the full gradient is
// averaged so every rank computes the identical basis. The non-finite check then reads the
// averaged tensor, so every rank skips the same parameters.
//
// All state is allocated when the optimizer is built and can be enumerated (visit_state) with
// stable names for checkpoints. Updates of one optimizer must be issued on one execution space
// instance: they share scratch buffers.
#pragma once

#include "galore/core/parameter.hpp"
#include "galore/core/phase_timer.hpp"
#include "galore/core/process_group.hpp"
#include "galore/core/tensor.hpp"
#include "galore/optim/moment_rule.hpp"
#include "galore/optim/optimizer_config.hpp"
#include "galore/optim/projector.hpp"
#include "galore/optim/scratch_buffers.hpp"
#include "galore/optim/state_tensor.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace galore {

// Device bytes of an optimizer by component, as the memory accounting names them.
struct OptimizerMemory {
  std::size_t states = 0;               // moments and statistics (8-bit codes included)
  std::size_t quantization_scales = 0;  // per-block absmax of 8-bit state
  std::size_t projections = 0;          // GaLore bases
  std::size_t scratch = 0;              // fp32 scratch of one projected update
};

struct StepReport {
  std::int64_t step = 0;
  int updated = 0;                   // parameters whose weights were updated
  int refreshed = 0;                 // GaLore subspaces recomputed in this step
  std::vector<std::string> skipped;  // parameters skipped for a non-finite gradient
};

template <class T>
class Optimizer {
 public:
  // Validates `config` against the parameters' shapes: ConfigError naming the parameter, its
  // group ("galore" or "regular") and the value (e.g. a rank above min(m, n)).
  Optimizer(const OptimizerConfig& config, const std::vector<Parameter<T>>& parameters);
  ~Optimizer();
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  void begin_step(std::int64_t step, float lr);
  // Updates `param` (looked up by name) from param.grad and overwrites param.grad. Each parameter
  // at most once per step; ShapeError if the gradient is missing or misshapen.
  void update(const ExecSpace& space, Parameter<T>& param);
  StepReport end_step();

  // Called after every update() with the parameter's name and whether its GaLore subspace was
  // recomputed: progress reports during long steps.
  using UpdateObserver = std::function<void(const std::string& name, bool refreshed)>;
  void set_update_observer(UpdateObserver observer) { observer_ = std::move(observer); }

  // nullptr (the default): gradients are used as given (one process, or already averaged).
  void set_gradient_averaging(ProcessGroup* group) { group_ = group; }
  // update() charges Phase::Optimizer, and Phase::Refresh for a subspace recomputation. nullptr
  // (the default): untimed.
  void set_phase_timer(PhaseTimer* timer) { timer_ = timer; }

  // The standard step: begin_step, update every parameter holding a gradient, end_step.
  StepReport step(const ExecSpace& space, std::vector<Parameter<T>>& parameters, std::int64_t step,
                  float lr);

  // Every state tensor: "<param>.exp_avg", "<param>.galore.left", "<param>.step" (host int64), ...
  void visit_state(const StateVisitor& visitor);
  std::size_t state_bytes();  // device bytes of all state tensors (moments, scales, bases)
  OptimizerMemory memory();   // the same bytes by component, and the scratch

  const OptimizerConfig& config() const { return config_; }
  const OptimizerChoice& choice() const { return choice_; }
  // nullptr for parameters trained without projection.
  const GaLoreProjector<T>* projector(const std::string& name) const;
  std::int64_t parameter_step(const std::string& name) const;  // successful updates so far

 private:
  struct Slot {
    std::string name;
    int rows = 0, cols = 0;
    std::unique_ptr<GaLoreProjector<T>> projector;
    std::unique_ptr<MomentRule> rule;
    std::int64_t step = 0;       // successful updates: bias correction and refresh schedule
    bool touched = false;        // update() called in the current step
    bool skipped_early = false;  // skipped on the host (refresh step with a non-finite gradient)
    bool refreshed = false;
  };
  Slot& slot_for(const Parameter<T>& param);
  Slot& update_slot(const ExecSpace& space, Parameter<T>& param);  // update() less the observer
  const Slot* find(const std::string& name) const;

  OptimizerConfig config_;
  OptimizerChoice choice_;
  std::vector<Slot> slots_;
  std::unordered_map<std::string, std::size_t> index_;
  Kokkos::View<int*, MemSpace> nonfinite_;  // per slot, this step
  ScratchBuffers scratch_;
  ProcessGroup* group_ = nullptr;
  PhaseTimer* timer_ = nullptr;
  UpdateObserver observer_;
  bool in_step_ = false;
  std::int64_t step_ = 0;
  float lr_ = 0.0f;
};

template <class T>
std::unique_ptr<Optimizer<T>> make_optimizer(const OptimizerConfig& config,
                                             const std::vector<Parameter<T>>& parameters) {
  return std::make_unique<Optimizer<T>>(config, parameters);
}

}  // namespace galore
