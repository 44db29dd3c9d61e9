#include "galore/dist/communicator.hpp"

#include "galore/core/error.hpp"
#include "galore/dist/bucket_reducer.hpp"
#include "galore/dist/mpi_error.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <limits>

namespace galore::dist {
namespace {

bool mpi_active() {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  return initialized && !finalized;
}

}  // namespace

MpiSession::MpiSession(int& argc, char**& argv) {
  int provided = 0;
  check_mpi(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
}

MpiSession::~MpiSession() {
  if (mpi_active()) MPI_Finalize();
}

Communicator::Communicator(MPI_Comm comm) : comm_(comm) {
  check_mpi(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
  check_mpi(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
}

void Communicator::average_host(float* data, std::size_t count) {
  for (std::size_t done = 0; done < count; done += kMaxMpiCount) {
    const int n = static_cast<int>(std::min(kMaxMpiCount, count - done));
    check_mpi(MPI_Allreduce(MPI_IN_PLACE, data + done, n, MPI_FLOAT, MPI_SUM, comm_),
              "MPI_Allreduce");
  }
  const float inverse = 1.0f / static_cast<float>(size_);
  for (std::size_t i = 0; i < count; ++i) data[i] *= inverse;
  bytes_reduced_ += count * sizeof(float);
}

void Communicator::average(const ExecSpace& space, const Matrix<float>& tensor) {
  if (size_ == 1 || tensor.size() == 0) return;
  // On a host memory space the mirror is the tensor itself and the copies are no-ops.
  auto host = Kokkos::create_mirror_view(tensor);
  Kokkos::deep_copy(space, host, tensor);
  space.fence();
  average_host(host.data(), host.span());
  Kokkos::deep_copy(space, tensor, host);
}

void Communicator::average_bucketed(const ExecSpace& space,
                                    const std::vector<Matrix<float>>& tensors,
                                    std::size_t bucket_bytes) {
  if (size_ == 1) return;
  const std::size_t capacity = std::max<std::size_t>(1, bucket_bytes / sizeof(float));
  space.fence();
  std::size_t first = 0;
  while (first < tensors.size()) {
    // One bucket: tensors [first, last), or a single tensor larger than the bucket.
    std::size_t floats = tensors[first].span();
    std::size_t last = first + 1;
    while (last < tensors.size() && floats + tensors[last].span() <= capacity) {
      floats += tensors[last++].span();
    }
    if (last == first + 1) {
      average(space, tensors[first]);
    } else {
      bucket_.resize(floats);
      std::size_t offset = 0;
      for (std::size_t i = first; i < last; ++i) {
        Kokkos::View<float*, HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> slice(
            bucket_.data() + offset, tensors[i].span());
        Kokkos::View<float*, MemSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> flat(
            tensors[i].data(), tensors[i].span());
        Kokkos::deep_copy(space, slice, flat);
        offset += tensors[i].span();
      }
      space.fence();
      average_host(bucket_.data(), floats);
      offset = 0;
      for (std::size_t i = first; i < last; ++i) {
        Kokkos::View<float*, HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> slice(
            bucket_.data() + offset, tensors[i].span());
        Kokkos::View<float*, MemSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> flat(
            tensors[i].data(), tensors[i].span());
        Kokkos::deep_copy(space, flat, slice);
        offset += tensors[i].span();
      }
      space.fence();  // the bucket is reused by the next iteration
    }
    first = last;
  }
}

std::unique_ptr<BucketReducer> Communicator::make_bucket_reducer(std::size_t bucket_bytes) {
  return std::make_unique<MpiBucketReducer>(comm_, bucket_bytes, bytes_reduced_);
}

double Communicator::sum(double value) {
  double total = 0;
  check_mpi(MPI_Allreduce(&value, &total, 1, MPI_DOUBLE, MPI_SUM, comm_), "MPI_Allreduce");
  return total;
}

bool Communicator::any(bool value) {
  int local = value ? 1 : 0, result = 0;
  check_mpi(MPI_Allreduce(&local, &result, 1, MPI_INT, MPI_MAX, comm_), "MPI_Allreduce");
  return result != 0;
}

void Communicator::broadcast_host(void* data, std::size_t bytes) {
  auto* p = static_cast<char*>(data);
  for (std::size_t done = 0; done < bytes; done += kMaxMpiCount) {
    const int n = static_cast<int>(std::min(kMaxMpiCount, bytes - done));
    check_mpi(MPI_Bcast(p + done, n, MPI_BYTE, 0, comm_), "MPI_Bcast");
  }
}

void Communicator::require_identical(std::uint64_t checksum, const std::string& what) {
  std::vector<std::uint64_t> all(static_cast<std::size_t>(size_));
  check_mpi(MPI_Allgather(&checksum, 1, MPI_UINT64_T, all.data(), 1, MPI_UINT64_T, comm_),
            "MPI_Allgather");
  std::string differing;
  for (int r = 1; r < size_; ++r) {
    if (all[r] != all[0])
      differing += fmt::format("{}{} ({:016x})", differing.empty() ? "" : ", ", r, all[r]);
  }
  if (!differing.empty()) {
    throw Error(fmt::format("{} differ between ranks: rank 0 has checksum {:016x}, rank(s) {}",
                            what, all[0], differing));
  }
}

void Communicator::barrier() { check_mpi(MPI_Barrier(comm_), "MPI_Barrier"); }

int world_rank() {
  if (!mpi_active()) return -1;
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

int world_size() {
  if (!mpi_active()) return 1;
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}

void abort_all(const std::string& program, const std::string& message, int exit_code) {
  if (!mpi_active()) {
    std::cerr << program << ": " << message << std::endl;
    std::exit(exit_code);
  }
  // One write of the whole line: the ranks' reports share the terminal and must not interleave.
  std::cerr << fmt::format("{}: rank {} of {}: {}\n", program, world_rank(), world_size(), message)
            << std::flush;
  if (world_size() == 1) {
    MPI_Finalize();
    std::exit(exit_code);
  }
  MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::exit(exit_code);  // MPI_Abort does not return; this satisfies [[noreturn]]
}

}  // namespace galore::dist
