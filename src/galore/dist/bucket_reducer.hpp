// The MPI BucketReducer (galore/core/process_group.hpp): each bucket is one MPI_Iallreduce (sum)
// on host memory, scaled by 1/ranks when it completes. A bucket of one tensor in host-accessible
// memory is reduced in place; several tensors, or device memory, are packed into a staging
// buffer, and the buffers are reused from bucket to bucket and from step to step. At most 4
// buckets are in flight (starting a fifth completes the oldest), so the staging memory stays
// under 4 x bucket_bytes.
#pragma once

#include "galore/core/process_group.hpp"

#include <mpi.h>

#include <cstdint>
#include <deque>
#include <vector>

namespace galore::dist {

class MpiBucketReducer final : public BucketReducer {
 public:
  // `bytes_reduced` (the communicator's counter) grows by the payload of every bucket started.
  MpiBucketReducer(MPI_Comm comm, std::size_t bucket_bytes, std::uint64_t& bytes_reduced);
  // Waits for the collectives still in flight: MPI must not write into freed buffers.
  ~MpiBucketReducer() override;
  MpiBucketReducer(const MpiBucketReducer&) = delete;
  MpiBucketReducer& operator=(const MpiBucketReducer&) = delete;

  void add(const ExecSpace& space, const Matrix<float>& tensor) override;
  void flush(const ExecSpace& space) override;
  std::size_t progress(const ExecSpace& space) override;
  void wait(const ExecSpace& space, std::size_t count) override;
  void wait_all(const ExecSpace& space) override;

 private:
  struct Bucket {
    std::vector<Matrix<float>> tensors;
    std::size_t floats = 0;
    std::vector<float> staging;  // empty when the single tensor is reduced in place
    float* data = nullptr;       // the host values being reduced
    std::vector<MPI_Request> requests;
  };

  std::size_t open_capacity() const;  // floats the bucket being filled may hold
  void start_open_bucket(const ExecSpace& space);
  void wait_front(const ExecSpace& space);    // completes the oldest bucket in flight
  void finish_front(const ExecSpace& space);  // the oldest bucket's collective has completed

  MPI_Comm comm_;
  int ranks_ = 1;
  std::size_t capacity_floats_;
  std::uint64_t& bytes_reduced_;
  Bucket open_;                 // being filled, not started
  std::deque<Bucket> started_;  // collectives in flight, oldest first
  std::vector<std::vector<float>> spare_staging_;
  std::size_t added_ = 0;            // tensors added in this sequence
  std::size_t completed_ = 0;        // of which hold their average
  std::size_t buckets_started_ = 0;  // in this sequence
};

}  // namespace galore::dist
