// The learning-rate schedule against its closed form: linear warm-up, cosine decay to
// min_lr_ratio x peak at the last step.
#include "catch.hpp"

#include "io/config/lr_schedule.hpp"
#include "io/config/run_config.hpp"

#include <cmath>

using namespace galore::config;

TEST_CASE("warm-up is linear and reaches the peak at its last step", "[schedule]") {
  const LrSchedule schedule{0.01, 100, 1001, 0.1};
  CHECK(schedule.at(0) == Approx(0.01 / 100));
  CHECK(schedule.at(49) == Approx(0.005));
  CHECK(schedule.at(99) == Approx(0.01));
  CHECK(schedule.at(100) == Approx(0.01));  // the decay starts from the peak
}

TEST_CASE("cosine decay ends at min_lr_ratio of the peak", "[schedule]") {
  const double pi = std::acos(-1.0);
  const LrSchedule schedule{0.01, 100, 1001, 0.1};              // 900 decay steps after warm-up
  CHECK(schedule.at(550) == Approx(0.01 * (0.1 + 0.9 * 0.5)));  // halfway: cos(pi/2) = 0
  CHECK(schedule.at(325) == Approx(0.01 * (0.1 + 0.9 * 0.5 * (1 + std::cos(pi / 4)))));
  CHECK(schedule.at(1000) == Approx(0.001));  // the last step runs at 10% of the peak
  CHECK(schedule.at(5000) == Approx(0.001));  // and stays there
  for (std::int64_t step = 100; step < 1000; ++step) {
    REQUIRE(schedule.at(step + 1) <= schedule.at(step));
  }
  const LrSchedule no_warmup{0.5, 0, 11, 0.0};
  CHECK(no_warmup.at(0) == Approx(0.5));
  CHECK(no_warmup.at(5) == Approx(0.25));
  CHECK(no_warmup.at(10) == Approx(0.0).margin(1e-15));
}

TEST_CASE("the schedule of a run follows its configuration", "[schedule]") {
  RunConfig config;
  config.run.steps = 2000;
  const LrSchedule schedule = lr_schedule(config);
  CHECK(schedule.peak_lr == config.optimizer.lr);
  CHECK(schedule.warmup_steps == 200);  // 10% of the steps
  CHECK(schedule.total_steps == 2000);
  CHECK(schedule.at(1999) == Approx(0.1 * config.optimizer.lr));
}
