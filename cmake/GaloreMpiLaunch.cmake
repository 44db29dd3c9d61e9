# GALORE_MPIEXEC_FLAGS: what mpiexec needs to start ctest's MPI runs anywhere. OpenMPI refuses to
# start as root (CI containers) or more ranks than cores without --allow-run-as-root
# --oversubscribe; other MPIs need nothing.
execute_process(COMMAND ${MPIEXEC_EXECUTABLE} --version OUTPUT_VARIABLE _galore_mpiexec_version
                ERROR_QUIET)
set(GALORE_MPIEXEC_FLAGS)
if(_galore_mpiexec_version MATCHES "Open MPI|OpenRTE")
  set(GALORE_MPIEXEC_FLAGS --allow-run-as-root --oversubscribe)
endif()
