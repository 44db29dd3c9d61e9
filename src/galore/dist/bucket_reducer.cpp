#include "galore/dist/bucket_reducer.hpp"

#include "galore/core/error.hpp"
#include "galore/dist/communicator.hpp"
#include "galore/dist/mpi_error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

namespace galore::dist {
namespace {

using HostFloats = Kokkos::View<float*, HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
using DeviceFloats = Kokkos::View<float*, MemSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;

constexpr bool kHostAccessible = Kokkos::SpaceAccessibility<HostSpace, MemSpace>::accessible;

// Buckets in flight at most: starting another first completes the oldest. Bounds the staging
// memory to kMaxBucketsInFlight x bucket_bytes while keeping several collectives overlapped.
constexpr std::size_t kMaxBucketsInFlight = 4;

// The first bucket of a sequence (see process_group.hpp).
constexpr std::size_t kFirstBucketFloats = (std::size_t{1} << 20) / sizeof(float);

}  // namespace

MpiBucketReducer::MpiBucketReducer(MPI_Comm comm, std::size_t bucket_bytes,
                                   std::uint64_t& bytes_reduced)
    : comm_(comm), capacity_floats_(bucket_bytes / sizeof(float)), bytes_reduced_(bytes_reduced) {
  check_mpi(MPI_Comm_size(comm_, &ranks_), "MPI_Comm_size");
}

MpiBucketReducer::~MpiBucketReducer() {
  for (Bucket& b : started_) {
    MPI_Waitall(static_cast<int>(b.requests.size()), b.requests.data(), MPI_STATUSES_IGNORE);
  }
}

std::size_t MpiBucketReducer::open_capacity() const {
  return buckets_started_ == 0 ? std::min(capacity_floats_, kFirstBucketFloats) : capacity_floats_;
}

void MpiBucketReducer::add(const ExecSpace& space, const Matrix<float>& tensor) {
  if (!open_.tensors.empty() && open_.floats + tensor.span() > open_capacity()) {
    start_open_bucket(space);
  }
  open_.tensors.push_back(tensor);
  open_.floats += tensor.span();
  ++added_;
  if (open_.floats >= open_capacity()) start_open_bucket(space);
}

void MpiBucketReducer::flush(const ExecSpace& space) {
  if (!open_.tensors.empty()) start_open_bucket(space);
}

void MpiBucketReducer::start_open_bucket(const ExecSpace& space) {
  while (started_.size() >= kMaxBucketsInFlight) wait_front(space);
  Bucket b = std::move(open_);
  open_ = Bucket();
  if (kHostAccessible && b.tensors.size() == 1) {
    b.data = b.tensors.front().data();
  } else {
    if (spare_staging_.empty()) spare_staging_.emplace_back();
    b.staging = std::move(spare_staging_.back());
    spare_staging_.pop_back();
    b.staging.resize(b.floats);
    b.data = b.staging.data();
    std::size_t offset = 0;
    for (const Matrix<float>& t : b.tensors) {
      Kokkos::deep_copy(space, HostFloats(b.data + offset, t.span()),
                        DeviceFloats(t.data(), t.span()));
      offset += t.span();
    }
  }
  space.fence();  // the kernels that wrote the gradients (and the packing copies) are done
  std::size_t done = 0;
  do {  // one request even for an empty bucket, so that every tensor completes through MPI
    const std::size_t n = std::min(kMaxMpiCount, b.floats - done);
    b.requests.emplace_back();
    check_mpi(MPI_Iallreduce(MPI_IN_PLACE, b.data + done, static_cast<int>(n), MPI_FLOAT, MPI_SUM,
                             comm_, &b.requests.back()),
              "MPI_Iallreduce");
    done += n;
  } while (done < b.floats);
  bytes_reduced_ += b.floats * sizeof(float);
  started_.push_back(std::move(b));
  ++buckets_started_;
}

void MpiBucketReducer::finish_front(const ExecSpace& space) {
  Bucket& b = started_.front();
  // The arithmetic of Communicator::average: the sum, then times 1/ranks.
  const float inverse = 1.0f / static_cast<float>(ranks_);
  for (std::size_t i = 0; i < b.floats; ++i) b.data[i] *= inverse;
  if (!b.staging.empty()) {
    std::size_t offset = 0;
    for (const Matrix<float>& t : b.tensors) {
      Kokkos::deep_copy(space, DeviceFloats(t.data(), t.span()),
                        HostFloats(b.data + offset, t.span()));
      offset += t.span();
    }
    space.fence();  // before the staging buffer is reused
    spare_staging_.push_back(std::move(b.staging));
  }
  completed_ += b.tensors.size();
  started_.pop_front();
}

std::size_t MpiBucketReducer::progress(const ExecSpace& space) {
  while (!started_.empty()) {
    Bucket& b = started_.front();
    int done = 0;
    check_mpi(MPI_Testall(static_cast<int>(b.requests.size()), b.requests.data(), &done,
                          MPI_STATUSES_IGNORE),
              "MPI_Testall");
    if (!done) break;
    finish_front(space);
  }
  return completed_;
}

void MpiBucketReducer::wait(const ExecSpace& space, std::size_t count) {
  if (count > added_) {
    throw Error(fmt::format("BucketReducer::wait: {} tensors asked for, {} added", count, added_));
  }
  while (completed_ < count) {
    if (started_.empty()) start_open_bucket(space);  // the tensor waited for is still queued
    wait_front(space);
  }
}

void MpiBucketReducer::wait_front(const ExecSpace& space) {
  Bucket& b = started_.front();
  check_mpi(
      MPI_Waitall(static_cast<int>(b.requests.size()), b.requests.data(), MPI_STATUSES_IGNORE),
      "MPI_Waitall");
  finish_front(space);
}

void MpiBucketReducer::wait_all(const ExecSpace& space) {
  flush(space);
  wait(space, added_);
  added_ = completed_ = buckets_started_ = 0;
}

}  // namespace galore::dist
