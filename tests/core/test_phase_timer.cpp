// PhaseTimer: nested phases are charged exclusively and an interval's phases sum to its wall time.
#include "catch.hpp"

#include "galore/core/error.hpp"
#include "galore/core/phase_timer.hpp"

#include <chrono>
#include <string>
#include <thread>

namespace {

using galore::Phase;
using galore::PhaseScope;
using Clock = std::chrono::steady_clock;

void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

}  // namespace

TEST_CASE("nested phases pause their parent; the phases sum to the wall time", "[phase_timer]") {
  galore::PhaseTimer timer{galore::ExecSpace()};
  timer.lap();
  const Clock::time_point start = Clock::now();
  {
    const PhaseScope forward(&timer, Phase::Forward);
    sleep_ms(30);
    {
      const PhaseScope optimizer(&timer, Phase::Optimizer);
      sleep_ms(30);
      const PhaseScope refresh(&timer, Phase::Refresh);
      sleep_ms(30);
    }
    sleep_ms(30);
  }
  sleep_ms(10);  // inside no phase
  const galore::PhaseSeconds split = timer.lap();
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();

  // Sleeps last at least as asked; a busy machine may add to each, never 30 ms of a nested phase.
  // Inclusive accounting would give forward >= 120 ms and optimizer >= 60 ms.
  const double slack = 0.028;
  CHECK(split[Phase::Forward] >= 0.060);
  CHECK(split[Phase::Forward] < 0.060 + slack);
  CHECK(split[Phase::Optimizer] >= 0.030);
  CHECK(split[Phase::Optimizer] < 0.030 + slack);
  CHECK(split[Phase::Refresh] >= 0.030);
  CHECK(split[Phase::Refresh] < 0.030 + slack);
  CHECK(split[Phase::Other] >= 0.010);
  CHECK(split[Phase::Backward] == 0.0);
  CHECK(split[Phase::Communication] == 0.0);
  // The lap covers [previous lap, this lap], which brackets [start, now] up to two clock reads.
  CHECK(split.total() >= wall - 1e-3);
  CHECK(split.total() <= wall + 1e-3);
}

TEST_CASE("a lap starts a new interval; open phases carry over", "[phase_timer]") {
  galore::PhaseTimer timer{galore::ExecSpace()};
  timer.enter(Phase::Io);
  sleep_ms(40);
  const galore::PhaseSeconds first = timer.lap();
  sleep_ms(10);
  timer.leave(Phase::Io);
  const galore::PhaseSeconds second = timer.lap();
  CHECK(first[Phase::Io] >= 0.040);
  CHECK(second[Phase::Io] >= 0.010);
  CHECK(second[Phase::Io] < 0.040);  // the 10 ms since the lap, not the 50 ms since entering
  galore::PhaseSeconds sum = first;
  sum += second;
  CHECK(sum[Phase::Io] == Approx(first[Phase::Io] + second[Phase::Io]));
}

TEST_CASE("phases must be left in the order they were entered", "[phase_timer]") {
  galore::PhaseTimer timer{galore::ExecSpace()};
  CHECK_THROWS_AS(timer.leave(Phase::Forward), galore::Error);
  timer.enter(Phase::Forward);
  timer.enter(Phase::Optimizer);
  CHECK_THROWS_AS(timer.leave(Phase::Forward), galore::Error);
  timer.leave(Phase::Optimizer);
  timer.leave(Phase::Forward);
  CHECK(galore::phase_name(Phase::Refresh) == std::string("refresh"));
}
