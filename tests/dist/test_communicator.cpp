// The collectives of galore::dist::Communicator on 2 ranks, against values computed here from
// both ranks' inputs; and the projected average the GaLore optimizer relies on.
#include "catch.hpp"

#include "galore/core/error.hpp"
#include "galore/core/rng.hpp"
#include "galore/dist/communicator.hpp"
#include "galore/optim/projector.hpp"
#include "galore/train/weight_checksum.hpp"

#include <cmath>
#include <string>
#include <vector>

namespace {

using galore::ExecSpace;
using galore::Matrix;

// Rank r's value at element i: small integers and halves, exact in fp32 and in their mean.
float input(int rank, std::size_t i) { return static_cast<float>(rank * 3) + 0.5f * (i % 11); }

Matrix<float> filled(int rows, int cols, int rank) {
  Matrix<float> m("m", rows, cols);
  auto h = Kokkos::create_mirror_view(m);
  for (std::size_t i = 0; i < h.span(); ++i) h.data()[i] = input(rank, i);
  Kokkos::deep_copy(m, h);
  return m;
}

// Largest |m[i] - mean over ranks of input(r, i)|.
double error_from_mean(const Matrix<float>& m, int ranks) {
  auto h = Kokkos::create_mirror_view_and_copy(galore::HostSpace(), m);
  double worst = 0;
  for (std::size_t i = 0; i < h.span(); ++i) {
    double mean = 0;
    for (int r = 0; r < ranks; ++r) mean += input(r, i);
    worst = std::max(worst, std::abs(h.data()[i] - mean / ranks));
  }
  return worst;
}

double max_abs_difference(const Matrix<float>& a, const Matrix<float>& b) {
  auto ha = Kokkos::create_mirror_view_and_copy(galore::HostSpace(), a);
  auto hb = Kokkos::create_mirror_view_and_copy(galore::HostSpace(), b);
  double worst = 0;
  for (std::size_t i = 0; i < ha.span(); ++i) {
    worst = std::max(worst, static_cast<double>(std::abs(ha.data()[i] - hb.data()[i])));
  }
  return worst;
}

double max_abs(const Matrix<float>& a) {
  return max_abs_difference(a, Matrix<float>("zero", a.extent(0), a.extent(1)));
}

}  // namespace

TEST_CASE("average and average_bucketed give the mean over the ranks", "[dist]") {
  galore::dist::Communicator world;
  REQUIRE(world.size() == 2);
  const ExecSpace space;
  const Matrix<float> single = filled(6, 5, world.rank());
  const std::uint64_t before = world.bytes_reduced();
  world.average(space, single);
  CHECK(error_from_mean(single, 2) == 0.0);
  CHECK(world.bytes_reduced() - before == 6 * 5 * sizeof(float));

  // 128-byte buckets: the first two tensors (60 + 56 bytes) share one, the third is alone.
  const std::vector<Matrix<float>> tensors{filled(3, 5, world.rank()), filled(7, 2, world.rank()),
                                           filled(40, 40, world.rank())};
  const std::uint64_t bucketed_before = world.bytes_reduced();
  world.average_bucketed(space, tensors, 128);
  for (const auto& t : tensors) CHECK(error_from_mean(t, 2) == 0.0);
  CHECK(world.bytes_reduced() - bucketed_before == (15 + 14 + 1600) * sizeof(float));

  CHECK(world.sum(world.rank() + 1.5) == 4.0);  // 1.5 + 2.5
  CHECK(world.any(world.rank() == 1));
  CHECK_FALSE(world.any(false));
  double value = world.rank() == 0 ? 2.75 : -1.0;
  world.broadcast_host(&value, sizeof(value));
  CHECK(value == 2.75);
}

TEST_CASE("a bucket reducer averages tensors in buckets, completing them in order", "[dist]") {
  galore::dist::Communicator world;
  REQUIRE(world.size() == 2);
  const ExecSpace space;
  // 128-byte buckets: [15 + 14 floats] (started when the 1600-float tensor does not fit),
  // [1600] (alone over the capacity: started at once), [3] (started by flush or wait).
  const std::vector<Matrix<float>> tensors{filled(3, 5, world.rank()), filled(7, 2, world.rank()),
                                           filled(40, 40, world.rank()),
                                           filled(1, 3, world.rank())};
  const auto reducer = world.make_bucket_reducer(128);
  const std::uint64_t before = world.bytes_reduced();
  for (int round = 0; round < 2; ++round) {  // wait_all starts a new sequence: the same again
    INFO("round " << round);
    for (std::size_t i = 0; i < tensors.size(); ++i) {
      if (round == 1)
        Kokkos::deep_copy(tensors[i],
                          filled(tensors[i].extent(0), tensors[i].extent(1), world.rank()));
      reducer->add(space, tensors[i]);
      CHECK(reducer->progress(space) <= i);  // the tensor just added is in flight or queued
    }
    // The first three are in two buckets in flight; the last one is still queued.
    reducer->wait(space, 3);
    CHECK(reducer->progress(space) == 3);  // the last bucket has not started
    for (std::size_t i = 0; i < 3; ++i) CHECK(error_from_mean(tensors[i], 2) == 0.0);
    CHECK(world.bytes_reduced() - before == (round * 1632 + 1629) * sizeof(float));
    reducer->wait_all(space);
    CHECK(error_from_mean(tensors[3], 2) == 0.0);
    CHECK(world.bytes_reduced() - before == (round + 1) * 1632 * sizeof(float));
    CHECK(reducer->progress(space) == 0);  // a new sequence
  }
  CHECK_THROWS_AS(reducer->wait(space, 1), galore::Error);  // nothing added yet

  // Bucket size 0: every tensor is its own collective, started at once (per-layer mode).
  const auto each = world.make_bucket_reducer(0);
  const std::vector<Matrix<float>> more{filled(2, 2, world.rank()), filled(5, 3, world.rank())};
  const std::uint64_t before_each = world.bytes_reduced();
  for (const auto& t : more) each->add(space, t);
  CHECK(world.bytes_reduced() - before_each == 19 * sizeof(float));  // both started
  each->wait(space, 2);
  for (const auto& t : more) CHECK(error_from_mean(t, 2) == 0.0);
  each->wait_all(space);

  // At most 4 buckets in flight: after 10 one-bucket tensors the first 6 hold their average.
  std::vector<Matrix<float>> ten;
  for (int i = 0; i < 10; ++i) {
    ten.push_back(filled(4, 8, world.rank()));
    each->add(space, ten.back());
  }
  CHECK(each->progress(space) >= 6);
  for (int i = 0; i < 6; ++i) CHECK(error_from_mean(ten[i], 2) == 0.0);
  each->wait_all(space);
  for (const auto& t : ten) CHECK(error_from_mean(t, 2) == 0.0);

  // The first bucket of a sequence holds at most 1 MiB, the others bucket_bytes (here 4 MiB):
  // 0.5 MiB tensors start the first bucket after two, the next after eight more.
  const auto large = world.make_bucket_reducer(std::size_t{4} << 20);
  std::vector<Matrix<float>> halves;
  const std::uint64_t before_large = world.bytes_reduced();
  for (int i = 0; i < 10; ++i) {
    halves.push_back(filled(512, 256, world.rank()));
    large->add(space, halves.back());
    const std::uint64_t started = world.bytes_reduced() - before_large;
    CHECK(started == (i < 1 ? 0 : i < 9 ? 1 : 5) * (std::uint64_t{1} << 20));
  }
  large->wait_all(space);
  for (const auto& t : halves) CHECK(error_from_mean(t, 2) == 0.0);
}

TEST_CASE("require_identical names the ranks whose checksum differs", "[dist]") {
  galore::dist::Communicator world;
  CHECK_NOTHROW(world.require_identical(42, "weights"));
  std::string message;
  try {
    world.require_identical(world.rank() == 1 ? 43 : 42, "weights after step 7");
  } catch (const galore::Error& e) {
    message = e.what();
  }
  INFO(message);
  CHECK(message.find("weights after step 7") != std::string::npos);
  CHECK(message.find("rank(s) 1") != std::string::npos);
}

TEST_CASE("weights_checksum changes with one bit of one weight and with the order", "[dist]") {
  const ExecSpace space;
  std::vector<galore::Parameter<float>> params(2);
  params[0].value = filled(9, 7, 0);
  params[1].value = filled(1, 13, 1);
  const std::uint64_t original = galore::weights_checksum(space, params);
  CHECK(galore::weights_checksum(space, params) == original);
  // The same bytes in another order (positions enter the hash).
  std::swap(params[0], params[1]);
  CHECK(galore::weights_checksum(space, params) != original);
  std::swap(params[0], params[1]);
  auto h = Kokkos::create_mirror_view_and_copy(galore::HostSpace(), params[1].value);
  h(0, 4) = std::nextafter(h(0, 4), 100.0f);  // one bit of one weight
  Kokkos::deep_copy(params[1].value, h);
  CHECK(galore::weights_checksum(space, params) != original);
}

TEST_CASE("projected average equals the full average followed by the projection", "[dist]") {
  galore::dist::Communicator world;
  const ExecSpace space;
  const int m = 24, n = 40, rank = 6;
  for (const auto side : {galore::ProjectionSide::Left, galore::ProjectionSide::Right}) {
    INFO(galore::projection_side_name(side));
    // The same basis on every rank (as after a refresh from the averaged gradient).
    galore::GaLoreProjector<float> projector(side, m, n, rank);
    galore::ScratchBuffers scratch;
    projector.reserve_scratch(scratch);
    Matrix<float> common("common", m, n);
    galore::fill_normal(space, common, galore::CounterRng(7, 0), 0.0f, 1.0f);
    projector.refresh(space, common, galore::RefreshMethod::Svd, {}, false);

    // A different gradient on each rank.
    Matrix<float> local("local", m, n);
    galore::fill_normal(space, local, galore::CounterRng(11, world.rank() + 1), 0.0f, 1.0f);
    Matrix<float> full("full", m, n);
    Kokkos::deep_copy(full, local);
    const Matrix<float> expected("expected", projector.low_rank_rows(), projector.low_rank_cols());
    const Matrix<float> projected("projected", projector.low_rank_rows(),
                                  projector.low_rank_cols());

    const std::uint64_t b0 = world.bytes_reduced();
    world.average(space, full);
    projector.project(space, full, expected, scratch);
    const std::uint64_t b1 = world.bytes_reduced();
    projector.project(space, local, projected, scratch);
    world.average(space, projected);
    const std::uint64_t b2 = world.bytes_reduced();

    CHECK(max_abs(expected) > 0.1);
    CHECK(max_abs_difference(expected, projected) <= 1e-5 * max_abs(expected));
    CHECK(b1 - b0 == std::uint64_t{m} * n * sizeof(float));
    CHECK(b2 - b1 == (side == galore::ProjectionSide::Left ? std::uint64_t{rank} * n
                                                           : std::uint64_t{m} * rank) *
                         sizeof(float));
  }
}
