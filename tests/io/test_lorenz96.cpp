// The Lorenz-96 system and the built-in corpus: the right-hand side against hand values and the
// energy identity, RK4's fourth-order convergence, and the corpus layout, determinism, entropy.
#include "catch.hpp"
#include "require_error.hpp"

#include "galore/core/error.hpp"
#include "io/data/lorenz96.hpp"
#include "io/data/lorenz96_corpus.hpp"
#include "io/data/token_statistics.hpp"

#include <cmath>
#include <cstdlib>
#include <map>

using namespace galore::data;

namespace {

double max_difference(const std::vector<double>& a, const std::vector<double>& b) {
  double worst = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(a[i] - b[i]));
  return worst;
}

std::vector<double> integrate(Lorenz96& system, std::vector<double> x, double dt, int steps) {
  for (int step = 0; step < steps; ++step) system.rk4_step(x, dt);
  return x;
}

// -sum p log p of the empirical distribution, counted with a map (independent of the library).
template <class T>
double entropy_of(const std::vector<T>& values) {
  std::map<T, double> counts;
  for (const T& value : values) counts[value] += 1.0;
  double entropy = 0.0;
  for (const auto& [value, count] : counts) {
    const double p = count / static_cast<double>(values.size());
    entropy -= p * std::log(p);
  }
  return entropy;
}

}  // namespace

TEST_CASE("Lorenz-96 derivative: hand values, fixed point and energy identity", "[lorenz96]") {
  Lorenz96 four(4, 8.0);
  const double x[4] = {1, 2, 3, 4};
  double dxdt[4];
  four.derivative(x, dxdt);
  // dx_i/dt = (x_{i+1} - x_{i-2}) x_{i-1} - x_i + F, indices mod 4.
  CHECK(dxdt[0] == Approx((2 - 3) * 4 - 1 + 8));
  CHECK(dxdt[1] == Approx((3 - 4) * 1 - 2 + 8));
  CHECK(dxdt[2] == Approx((4 - 1) * 2 - 3 + 8));
  CHECK(dxdt[3] == Approx((1 - 2) * 3 - 4 + 8));

  for (const int n : {5, 8, 13, 40}) {
    Lorenz96 system(n, 8.0);
    std::vector<double> state(n, 8.0);
    std::vector<double> rate(n);
    system.derivative(state.data(), rate.data());
    for (const double r : rate) CHECK(r == 0.0);  // x_i = F is an equilibrium
    system.rk4_step(state, 0.05);
    for (const double v : state) CHECK(v == 8.0);

    // The advection term conserves energy: sum x_i dx_i/dt = -sum x_i^2 + F sum x_i.
    for (int i = 0; i < n; ++i) state[i] = std::sin(1.7 * i + 0.3 * n) * 5.0 + 1.0;
    system.derivative(state.data(), rate.data());
    double power = 0.0, square = 0.0, sum = 0.0;
    for (int i = 0; i < n; ++i) {
      power += state[i] * rate[i];
      square += state[i] * state[i];
      sum += state[i];
    }
    CHECK(power == Approx(-square + 8.0 * sum).margin(1e-9));
  }
  require_error<galore::ConfigError>([] { Lorenz96(3, 8.0); }, {"3 variables", "at least 4"});
}

TEST_CASE("RK4 converges at fourth order", "[lorenz96]") {
  Lorenz96 system(8, 8.0);
  std::vector<double> start(8, 8.0);
  start[0] += 0.5;
  start = integrate(system, start, 0.01, 500);  // onto the attractor
  const std::vector<double> reference = integrate(system, start, 0.4 / 1600, 1600);
  const double coarse = max_difference(integrate(system, start, 0.02, 20), reference);
  const double fine = max_difference(integrate(system, start, 0.01, 40), reference);
  INFO("errors at t = 0.4: dt 0.02 -> " << coarse << ", dt 0.01 -> " << fine);
  CHECK(fine < 1e-5);
  CHECK(coarse / fine > 12.0);  // 2^4 = 16 for a fourth-order method
  CHECK(coarse / fine < 20.0);
}

TEST_CASE("quantization maps the range onto the levels and clamps outside", "[lorenz96]") {
  Lorenz96CorpusOptions options;  // [-10, 15] onto 256 levels
  CHECK(quantize_lorenz96_value(-10.0, options) == 0);
  CHECK(quantize_lorenz96_value(-50.0, options) == 0);
  CHECK(quantize_lorenz96_value(2.5, options) == 128);
  CHECK(quantize_lorenz96_value(2.5 - 1e-9, options) == 127);
  CHECK(quantize_lorenz96_value(14.999, options) == 255);
  CHECK(quantize_lorenz96_value(15.0, options) == 255);
  CHECK(quantize_lorenz96_value(99.0, options) == 255);
  require_error<galore::NumericError>([&] { quantize_lorenz96_value(NAN, options); }, {"diverged"});
}

TEST_CASE("the Lorenz-96 corpus: layout, determinism, held-out initial conditions", "[lorenz96]") {
  Lorenz96CorpusOptions options;
  options.variables = 6;
  options.records_per_trajectory = 40;
  options.train_tokens = 3000;
  options.validation_tokens = 1000;
  options.seed = 11;
  const TokenCorpus corpus = generate_lorenz96_corpus(options);
  REQUIRE(corpus.train.size() == 3000);
  REQUIRE(corpus.validation.size() == 1000);
  CHECK(corpus.vocab_size == 258);
  CHECK(generate_lorenz96_corpus(options).train == corpus.train);

  // START, then per record SEP x_0..x_5.
  const std::int64_t period = options.variables + 1;
  const std::int64_t trajectory_tokens = 1 + options.records_per_trajectory * period;
  for (std::size_t i = 0; i < corpus.train.size(); ++i) {
    const std::int64_t position = static_cast<std::int64_t>(i) % trajectory_tokens;
    const std::int32_t id = corpus.train[i];
    if (position == 0) {
      REQUIRE(id == options.trajectory_start());
    } else if ((position - 1) % period == 0) {
      REQUIRE(id == options.step_separator());
    } else {
      REQUIRE(id < options.levels);
    }
  }
  // A variable moves little from one record to the next (same slot, one period back) compared
  // with 25 records (0.5 time units) apart: the serialization keeps each variable in its slot.
  auto mean_change = [&](std::int64_t records) {
    double total = 0.0;
    int count = 0;
    for (std::size_t i = 0; i < corpus.train.size(); ++i) {
      const std::int64_t position = static_cast<std::int64_t>(i) % trajectory_tokens;
      if (position == 0 || (position - 1) % period == 0 || position <= records * period) continue;
      total += std::abs(corpus.train[i] - corpus.train[i - records * period]);
      ++count;
    }
    return total / count;
  };
  INFO("mean change in levels: next record " << mean_change(1) << ", 25 records later "
                                             << mean_change(25));
  CHECK(8.0 * mean_change(1) < mean_change(25));

  const std::vector<std::int32_t> head(corpus.train.begin(), corpus.train.begin() + 100);
  const std::vector<std::int32_t> validation_head(corpus.validation.begin(),
                                                  corpus.validation.begin() + 100);
  CHECK(head != validation_head);
  options.seed = 12;
  CHECK(generate_lorenz96_corpus(options).train != corpus.train);

  options.variables = 2;
  require_error<galore::ConfigError>([&] { generate_lorenz96_corpus(options); }, {"variables"});
}

TEST_CASE("unigram entropy matches an independent count; the corpus is predictable",
          "[lorenz96][entropy]") {
  CHECK(unigram_entropy(token_histogram({0, 0, 1, 1}, 4)) == Approx(std::log(2.0)));
  CHECK(unigram_entropy(token_histogram({0, 1, 2, 3}, 4)) == Approx(std::log(4.0)));
  CHECK(unigram_entropy(token_histogram({5}, 6)) == 0.0);
  const TokenHistogram histogram = token_histogram({3, 1, 3}, 5);
  CHECK(histogram.distinct() == 2);
  CHECK(histogram.min_id() == 1);
  CHECK(histogram.max_id() == 3);

  Lorenz96CorpusOptions options;
  options.train_tokens = 300000;
  options.validation_tokens = 50000;
  const TokenCorpus corpus = generate_lorenz96_corpus(options);
  CHECK(unigram_entropy(token_histogram(corpus.validation, corpus.vocab_size)) ==
        Approx(entropy_of(corpus.validation)).epsilon(1e-12));

  // Next-token prediction carries real information: the change of a variable since the previous
  // record (N + 1 tokens back) is far more predictable than the value itself.
  const int period = options.variables + 1;
  std::vector<std::int32_t> values;
  std::vector<std::int32_t> changes;
  for (std::size_t i = period; i < corpus.train.size(); ++i) {
    const std::int32_t now = corpus.train[i];
    const std::int32_t before = corpus.train[i - period];
    if (now < options.levels && before < options.levels) {
      values.push_back(now);
      changes.push_back(now - before);
    }
  }
  const double value_entropy = entropy_of(values);
  const double change_entropy = entropy_of(changes);
  INFO("H(value) " << value_entropy << " nats, H(change since last record) " << change_entropy);
  CHECK(change_entropy < value_entropy - 1.5);
}
