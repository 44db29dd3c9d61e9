// The processes that train one model together (data parallelism), as the optimizer and the
// trainer see them. The interface has no MPI in it: galore_dist implements it with MPI
// (galore/dist/communicator.hpp) and a single process simply has none (nullptr).
//
// Every call is collective: all ranks make the same calls in the same order, or they hang.
#pragma once

#include "galore/core/tensor.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace galore {

// Averages tensors over the ranks with non-blocking collectives, so that the reduction of the
// tensors added so far runs while the caller computes the next ones (gradients during the
// backward pass). Tensors are packed, in the order they are added, into buckets of at most
// `bucket_bytes` (a larger tensor is a bucket of its own); a bucket's all-reduce starts as soon
// as the next tensor does not fit, when it alone fills the bucket (always with bucket_bytes 0), or
// on flush(). The first bucket of each sequence holds at most min(bucket_bytes, 1 MiB), so that
// communication starts early in the backward pass (PyTorch DDP does the same). A tensor must not
// be read or written between add() and the wait() that covers it;
// a completed tensor holds the mean exactly as ProcessGroup::average would leave it.
//
// Collective: all ranks add tensors of the same sizes in the same order.
class BucketReducer {
 public:
  virtual ~BucketReducer() = default;

  // Queues `tensor` (this rank's values); may start the all-reduce of a bucket, and may first
  // complete older buckets (an implementation may bound the collectives in flight).
  virtual void add(const ExecSpace& space, const Matrix<float>& tensor) = 0;
  // Starts the all-reduce of the partly filled bucket, if any.
  virtual void flush(const ExecSpace& space) = 0;
  // Lets the collectives in flight progress (MPI implementations typically progress only inside
  // MPI calls) and returns how many of the tensors added since the last wait_all() hold their
  // average: always a prefix, in the order of add().
  virtual std::size_t progress(const ExecSpace& space) = 0;
  // Blocks until the first `count` tensors hold their average (starting their buckets if needed).
  virtual void wait(const ExecSpace& space, std::size_t count) = 0;
  // flush() and wait for every added tensor; the next add() begins a new sequence.
  virtual void wait_all(const ExecSpace& space) = 0;
};

class ProcessGroup {
 public:
  virtual ~ProcessGroup() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;

  // tensor <- mean of tensor over the ranks, in place. Counts the bytes this rank sends.
  virtual void average(const ExecSpace& space, const Matrix<float>& tensor) = 0;
  // The same for several tensors, packed into buckets of at most bucket_bytes per collective.
  virtual void average_bucketed(const ExecSpace& space, const std::vector<Matrix<float>>& tensors,
                                std::size_t bucket_bytes) = 0;
  // Non-blocking averaging in buckets (see BucketReducer). The reducer belongs to this group and
  // must not outlive it.
  virtual std::unique_ptr<BucketReducer> make_bucket_reducer(std::size_t bucket_bytes) = 0;
  // Sum of `value` over the ranks.
  virtual double sum(double value) = 0;
  // Whether `value` is true on any rank.
  virtual bool any(bool value) = 0;
  // Overwrites `bytes` bytes at host address `data` with rank 0's.
  virtual void broadcast_host(void* data, std::size_t bytes) = 0;
  // Throws galore::Error naming every rank whose `checksum` differs from rank 0's, and `what`.
  virtual void require_identical(std::uint64_t checksum, const std::string& what) = 0;
  virtual void barrier() = 0;

  // Gradient bytes this rank has sent into reductions so far (payload of the collectives).
  virtual std::uint64_t bytes_reduced() const = 0;
};

}  // namespace galore
