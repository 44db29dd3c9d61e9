// MPI for data-parallel training: the process group of an MPI communicator (collectives on
// fp32 gradients staged through host memory), the process-wide MPI lifetime, and stopping every
// rank when one fails.
#pragma once

#include "galore/core/process_group.hpp"

#include <mpi.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace galore::dist {

// MPI_Init (with thread support for Kokkos' OpenMP host threads: only this thread calls MPI)
// in the constructor, MPI_Finalize in the destructor. A program started without mpiexec runs as
// one rank.
class MpiSession {
 public:
  MpiSession(int& argc, char**& argv);
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
};

class Communicator final : public ProcessGroup {
 public:
  explicit Communicator(MPI_Comm comm = MPI_COMM_WORLD);

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void average(const ExecSpace& space, const Matrix<float>& tensor) override;
  void average_bucketed(const ExecSpace& space, const std::vector<Matrix<float>>& tensors,
                        std::size_t bucket_bytes) override;
  std::unique_ptr<BucketReducer> make_bucket_reducer(std::size_t bucket_bytes) override;
  double sum(double value) override;
  bool any(bool value) override;
  void broadcast_host(void* data, std::size_t bytes) override;
  void require_identical(std::uint64_t checksum, const std::string& what) override;
  void barrier() override;
  std::uint64_t bytes_reduced() const override { return bytes_reduced_; }

 private:
  void average_host(float* data, std::size_t count);

  MPI_Comm comm_;
  int rank_ = 0;
  int size_ = 1;
  std::uint64_t bytes_reduced_ = 0;
  std::vector<float> bucket_;
};

// MPI counts are int: larger payloads go in chunks of at most this many elements.
constexpr std::size_t kMaxMpiCount = static_cast<std::size_t>(std::numeric_limits<int>::max());

// The rank of MPI_COMM_WORLD, or -1 when MPI is not initialised.
int world_rank();
int world_size();

// Prints "<program>: rank R of N: message" to stderr and ends every rank (MPI_Abort) with
// `exit_code`, so one rank's error (bad data, NaN) never leaves the others waiting in a
// collective. Without an initialised MPI it prints the message and calls std::exit.
[[noreturn]] void abort_all(const std::string& program, const std::string& message, int exit_code);

}  // namespace galore::dist
