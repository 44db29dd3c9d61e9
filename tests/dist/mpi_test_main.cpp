// main() of the MPI test binary: MPI outlives Kokkos, every rank runs every test case in the same
// order (the tests are collective), and the exit status is a failure on every rank when any rank
// failed. Only rank 0 prints Catch's report unless a rank failed.
#include "galore/dist/communicator.hpp"

#include <Kokkos_Core.hpp>

#if __has_include(<catch2/catch_session.hpp>)
#include <catch2/catch_session.hpp>
#else
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#endif

int main(int argc, char* argv[]) {
  galore::dist::MpiSession mpi(argc, argv);
  int failed = 0;
  {
    Kokkos::ScopeGuard kokkos(argc, argv);
    failed = Catch::Session().run(argc, argv) != 0 ? 1 : 0;
  }
  int any_failed = 0;
  MPI_Allreduce(&failed, &any_failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return any_failed;
}
