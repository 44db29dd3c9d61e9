// Where the time of a training run goes: wall-clock seconds per phase (forward, backward,
// optimizer, projector refresh, communication, I/O, evaluation), with exclusive accounting.
//
// Phases nest: entering a phase pauses the one it is entered from, so every second is charged to
// exactly one phase and the phases of an interval sum to its wall time. This is what lets
// per-layer mode (optimizer updates run inside the backward pass, from the gradient callback)
// split correctly: backward is charged only for the time no update is running. Time inside no
// phase is charged to Other.
//
// Every phase boundary fences the execution space, so a phase is charged for the kernels it
// launched, not for the ones still running when it returns. On the host backends (Serial, OpenMP)
// kernels are synchronous and the fence costs nothing; on a GPU each fence drains the launch queue
// (a few microseconds plus the lost overlap of host and device; per-layer mode crosses a few
// boundaries per parameter). A component given no timer (nullptr, the default) never fences.
//
//   PhaseTimer timer(space);
//   { PhaseScope forward(&timer, Phase::Forward); ... }
//   PhaseSeconds step = timer.lap();  // seconds per phase since the previous lap
#pragma once

#include "galore/core/tensor.hpp"

#include <array>
#include <chrono>
#include <vector>

namespace galore {

enum class Phase {
  Forward,
  Backward,       // includes the fused LM-head loss and, with checkpointing, the recomputation
  Optimizer,      // gradient clipping and the updates
  Refresh,        // GaLore subspace recomputation (SVD / range finder), inside an update
  Communication,  // ProcessGroup collectives (TimedProcessGroup)
  Io,             // batch loading and checkpoint writing
  Evaluation,
  Other,  // inside no phase
};
inline constexpr int kPhaseCount = 8;

// "forward", "backward", "optimizer", "refresh", "communication", "io", "evaluation", "other".
const char* phase_name(Phase phase);

struct PhaseSeconds {
  std::array<double, kPhaseCount> seconds{};

  double& operator[](Phase phase) { return seconds[static_cast<int>(phase)]; }
  double operator[](Phase phase) const { return seconds[static_cast<int>(phase)]; }
  double total() const;
  PhaseSeconds& operator+=(const PhaseSeconds& other);
};

class PhaseTimer {
 public:
  explicit PhaseTimer(const ExecSpace& space);

  // Fence, charge the time since the last boundary to the current phase, make `phase` current.
  void enter(Phase phase);
  // Fence, charge the current phase, return to the phase it was entered from. `phase` must be
  // the current one (galore::Error otherwise: scopes closed out of order).
  void leave(Phase phase);
  // Fence, charge the current phase; the seconds per phase since the previous lap (or since
  // construction). Phases stay entered across a lap.
  PhaseSeconds lap();

 private:
  using Clock = std::chrono::steady_clock;
  void charge();

  ExecSpace space_;
  std::vector<Phase> stack_;  // entered phases, innermost last
  Clock::time_point last_;
  PhaseSeconds since_lap_;
};

// Enters `phase` for the lifetime of the scope; does nothing without a timer.
class PhaseScope {
 public:
  PhaseScope(PhaseTimer* timer, Phase phase) : timer_(timer), phase_(phase) {
    if (timer_ != nullptr) timer_->enter(phase_);
  }
  ~PhaseScope() {
    if (timer_ != nullptr) timer_->leave(phase_);
  }
  PhaseScope(const PhaseScope&) = delete;
  PhaseScope& operator=(const PhaseScope&) = delete;

 private:
  PhaseTimer* timer_;
  Phase phase_;
};

}  // namespace galore
