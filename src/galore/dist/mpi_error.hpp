// Turns an MPI return code into a galore::Error naming the call and MPI's own message.
#pragma once

namespace galore::dist {

// Throws galore::Error("<call> failed: <MPI error string>") unless code is MPI_SUCCESS.
void check_mpi(int code, const char* call);

}  // namespace galore::dist
