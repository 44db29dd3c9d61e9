// The processes that train one model together (data parallelism), as the optimizer and the
// trainer see them. The interface has no MPI in it: galore_dist implements it with MPI
// (galore/dist/communicator.hpp) and a single process simply has none (nullptr).
//
// Every call is collective: all ranks make the same calls in the same order, or they hang.
#pragma once

#include "galore/core/tensor.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace galore {

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
