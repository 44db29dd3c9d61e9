#include "galore/core/phase_timer.hpp"

#include "galore/core/error.hpp"

#include <numeric>
#include <string>

namespace galore {

const char* phase_name(Phase phase) {
  switch (phase) {
    case Phase::Forward: return "forward";
    case Phase::Backward: return "backward";
    case Phase::Optimizer: return "optimizer";
    case Phase::Refresh: return "refresh";
    case Phase::Communication: return "communication";
    case Phase::Io: return "io";
    case Phase::Evaluation: return "evaluation";
    case Phase::Other: return "other";
  }
  return "unknown";
}

double PhaseSeconds::total() const { return std::accumulate(seconds.begin(), seconds.end(), 0.0); }

PhaseSeconds& PhaseSeconds::operator+=(const PhaseSeconds& other) {
  for (int i = 0; i < kPhaseCount; ++i) seconds[i] += other.seconds[i];
  return *this;
}

PhaseTimer::PhaseTimer(const ExecSpace& space) : space_(space), last_(Clock::now()) {}

void PhaseTimer::charge() {
  space_.fence();
  const Clock::time_point now = Clock::now();
  since_lap_[stack_.empty() ? Phase::Other : stack_.back()] +=
      std::chrono::duration<double>(now - last_).count();
  last_ = now;
}

void PhaseTimer::enter(Phase phase) {
  charge();
  stack_.push_back(phase);
}

void PhaseTimer::leave(Phase phase) {
  if (stack_.empty() || stack_.back() != phase) {
    throw Error(std::string("PhaseTimer: leaving phase '") + phase_name(phase) + "' while in '" +
                (stack_.empty() ? "no phase" : phase_name(stack_.back())) + "'");
  }
  charge();
  stack_.pop_back();
}

PhaseSeconds PhaseTimer::lap() {
  charge();
  const PhaseSeconds interval = since_lap_;
  since_lap_ = PhaseSeconds();
  return interval;
}

}  // namespace galore
