# FindLAPACKE: the C interface to LAPACK (lapacke.h), as the imported target LAPACKE::LAPACKE.
#
# Used by the build (kernels/host) and shipped next to GaloreKokkosConfig.cmake, so the installed
# package re-finds LAPACKE on the machine that uses it instead of carrying the build machine's
# library path. LAPACKE is a separate liblapacke on Debian and in spack's netlib-lapack+lapacke,
# and part of libopenblas in OpenBLAS builds (spack's openblas, Debian's openblas headers folder).
#
# Hints: LAPACKE_ROOT (CMake >= 3.12), or set LAPACKE_INCLUDE_DIR / LAPACKE_LIBRARY directly.
# Results: LAPACKE_FOUND, LAPACKE_INCLUDE_DIRS, LAPACKE_LIBRARIES, target LAPACKE::LAPACKE.
find_path(LAPACKE_INCLUDE_DIR lapacke.h PATH_SUFFIXES openblas)
find_library(LAPACKE_LIBRARY NAMES lapacke openblas)
mark_as_advanced(LAPACKE_INCLUDE_DIR LAPACKE_LIBRARY)

include(FindPackageHandleStandardArgs)
set(_lapacke_hint "needs lapacke.h and its library (Debian: liblapacke-dev, spack: openblas or ")
string(APPEND _lapacke_hint "netlib-lapack+lapacke)")
find_package_handle_standard_args(LAPACKE REQUIRED_VARS LAPACKE_LIBRARY LAPACKE_INCLUDE_DIR
                                  REASON_FAILURE_MESSAGE "${_lapacke_hint}")
unset(_lapacke_hint)

if(LAPACKE_FOUND)
  set(LAPACKE_INCLUDE_DIRS ${LAPACKE_INCLUDE_DIR})
  set(LAPACKE_LIBRARIES ${LAPACKE_LIBRARY})
  if(NOT TARGET LAPACKE::LAPACKE)
    add_library(LAPACKE::LAPACKE UNKNOWN IMPORTED)
    set_target_properties(LAPACKE::LAPACKE PROPERTIES
      IMPORTED_LOCATION "${LAPACKE_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${LAPACKE_INCLUDE_DIR}")
  endif()
endif()
