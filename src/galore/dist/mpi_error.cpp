#include "galore/dist/mpi_error.hpp"

#include "galore/core/error.hpp"

#include <fmt/format.h>
#include <mpi.h>

#include <string>

namespace galore::dist {

void check_mpi(int code, const char* call) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw Error(fmt::format("{} failed: {}", call, std::string(text, length)));
}

}  // namespace galore::dist
