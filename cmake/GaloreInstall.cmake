# Install rules and the CMake package GaloreKokkos.
#
# Installs every library made by galore_add_library() (global property GALORE_LIBRARIES), the
# project's own libraries they link (galore_kernels_host, and with a CUDA Kokkos
# galore_cuda_dispatch and galore_kernels_cuda, which static linking makes part of the link
# interface), the umbrella target exported as GaloreKokkos::galore, the public headers, the
# command-line programs, and GaloreKokkosConfig.cmake with its version file.
#
# The exported link interface is walked here: every external package it names is re-found by the
# installed config, so optional dependencies (HDF5, MPI, toml++, CUDA) are required downstream only
# when this build used them. Included at the end of the top-level CMakeLists.txt, after every
# library and program exists.
include(CMakePackageConfigHelpers)

set(GALORE_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/GaloreKokkos" CACHE STRING
    "Where GaloreKokkosConfig.cmake goes, relative to the install prefix")
mark_as_advanced(GALORE_INSTALL_CMAKEDIR)

# _galore_exported_link_items(<out> <target>): the entries of <target>'s link interface as an
# installed consumer sees them: BUILD_INTERFACE parts dropped, LINK_ONLY and INSTALL_INTERFACE
# unwrapped.
function(_galore_exported_link_items out target)
  get_target_property(items ${target} INTERFACE_LINK_LIBRARIES)
  if(NOT items)
    set(items "")
  endif()
  string(REGEX REPLACE "\\$<BUILD_INTERFACE:[^>]*>" "" items "${items}")
  string(REGEX REPLACE "\\$<(LINK_ONLY|INSTALL_INTERFACE):" "" items "${items}")
  string(REPLACE ">" "" items "${items}")
  set(${out} "${items}" PARENT_SCOPE)
endfunction()

# _galore_walk_link_interface(<own-out> <external-out> <paths-out> <targets>...): the project's
# own targets reachable from <targets> through exported link interfaces, the external imported
# targets they name, and any plain absolute library paths (which tie the package to this machine).
function(_galore_walk_link_interface own_out external_out paths_out)
  set(queue ${ARGN})
  set(own "")
  set(external "")
  set(paths "")
  list(LENGTH queue pending)
  while(pending GREATER 0)
    list(POP_FRONT queue target)
    get_target_property(aliased ${target} ALIASED_TARGET)
    if(aliased)
      set(target ${aliased})
    endif()
    if(NOT target IN_LIST own)
      list(APPEND own ${target})
      _galore_exported_link_items(items ${target})
      foreach(item IN LISTS items)
        if(item STREQUAL "" OR item MATCHES "\\$<")
          continue()
        endif()
        set(is_own FALSE)
        if(TARGET ${item})
          get_target_property(imported ${item} IMPORTED)
          if(NOT imported)
            set(is_own TRUE)
          endif()
        endif()
        if(is_own)
          list(APPEND queue ${item})
        elseif(item MATCHES "::")
          list(APPEND external ${item})
        elseif(IS_ABSOLUTE "${item}")
          list(APPEND paths ${item})
        endif()
      endforeach()
    endif()
    list(LENGTH queue pending)
  endwhile()
  list(REMOVE_DUPLICATES external)
  list(REMOVE_DUPLICATES paths)
  set(${own_out} "${own}" PARENT_SCOPE)
  set(${external_out} "${external}" PARENT_SCOPE)
  set(${paths_out} "${paths}" PARENT_SCOPE)
endfunction()

# _galore_find_dependency_calls(<out> <imported-targets>...): the find_dependency() lines that
# recreate <imported-targets> downstream, preceded by the dependencies the build always requires.
# Kokkos is handled by the config template itself (it also checks the backends).
function(_galore_find_dependency_calls out)
  set(packages BLAS LAPACK LAPACKE fmt nlohmann_json)
  set(version_nlohmann_json " 3.9")
  foreach(imported IN LISTS ARGN)
    string(REGEX REPLACE "::.*" "" namespace "${imported}")
    string(REGEX REPLACE "^[^:]*::" "" member "${imported}")
    set(package ${namespace})
    set(components "")
    if(namespace STREQUAL "Kokkos")
      continue()
    elseif(namespace MATCHES "^(hdf5|HDF5)$")
      set(package HDF5)
      if(member MATCHES "_cpp")
        list(APPEND components CXX)
      else()
        list(APPEND components C)
      endif()
      if(member MATCHES "_hl")
        list(APPEND components HL)
      endif()
    elseif(namespace MATCHES "^(MPI|OpenMP)$")
      string(REGEX REPLACE "^(MPI|OpenMP)_" "" components "${member}")
    elseif(namespace STREQUAL "CUDA")
      set(package CUDAToolkit)
    elseif(NOT namespace MATCHES
           "^(BLAS|LAPACK|LAPACKE|fmt|nlohmann_json|tomlplusplus|CLI11|Threads)$")
      message(WARNING "GaloreKokkos export: no rule for the imported target ${imported}; the "
                      "installed config will call find_dependency(${namespace}). Add a rule to "
                      "cmake/GaloreInstall.cmake if that is not the package's name.")
    endif()
    list(APPEND packages ${package})
    list(APPEND components_${package} ${components})
  endforeach()
  list(REMOVE_DUPLICATES packages)
  set(calls "")
  set(c_enabled FALSE)
  foreach(package IN LISTS packages)
    set(call "find_dependency(${package}${version_${package}}")
    if(components_${package})
      list(REMOVE_DUPLICATES components_${package})
      if("C" IN_LIST components_${package} AND NOT c_enabled)
        # FindHDF5 and FindMPI compile C test programs for their C components.
        string(APPEND calls "get_property(_galore_languages GLOBAL PROPERTY ENABLED_LANGUAGES)\n"
                            "list(FIND _galore_languages C _galore_c_index)\n"
                            "if(_galore_c_index EQUAL -1)\n"
                            "  enable_language(C)  # for the C components of ${package}\n"
                            "endif()\n")
        set(c_enabled TRUE)
      endif()
      list(JOIN components_${package} " " components)
      string(APPEND call " COMPONENTS ${components}")
    endif()
    string(APPEND calls "${call})\n")
  endforeach()
  set(${out} "${calls}" PARENT_SCOPE)
endfunction()

# --- libraries, headers, programs ------------------------------------------------------------
get_property(galore_libraries GLOBAL PROPERTY GALORE_LIBRARIES)
_galore_walk_link_interface(galore_export_targets galore_imported_dependencies
                            galore_exported_paths galore ${galore_libraries})
if(galore_exported_paths)
  message(STATUS "GaloreKokkos export: the link interface names absolute library paths of this "
                 "machine (a relocated install needs them at the same place): "
                 "${galore_exported_paths}")
endif()

install(TARGETS ${galore_export_targets} EXPORT GaloreKokkosTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# Headers keep their include spelling: "galore/core/x.hpp" under include/, "io/data/x.hpp" under
# include/galore/ (both directories are in the exported INTERFACE_INCLUDE_DIRECTORIES).
install(DIRECTORY ${PROJECT_SOURCE_DIR}/src/galore/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/galore
        FILES_MATCHING PATTERN "*.hpp")
install(DIRECTORY ${PROJECT_SOURCE_DIR}/io/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/galore/io
        FILES_MATCHING PATTERN "*.hpp")

foreach(app galore-train galore-data galore-memory)
  if(TARGET ${app})
    # Shared dependencies outside the system paths (a spack or module Kokkos) stay reachable.
    set_target_properties(${app} PROPERTIES INSTALL_RPATH_USE_LINK_PATH TRUE)
    install(TARGETS ${app} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  endif()
endforeach()

# --- the CMake package -----------------------------------------------------------------------
_galore_find_dependency_calls(GALORE_CONFIG_FIND_DEPENDENCIES ${galore_imported_dependencies})
set(GALORE_BLA_VENDOR "")  # FindBLAS leaves "All" behind when no vendor was asked for
if(BLA_VENDOR AND NOT BLA_VENDOR STREQUAL "All")
  set(GALORE_BLA_VENDOR "${BLA_VENDOR}")
endif()
foreach(flag GALORE_ENABLE_MPI GALORE_ENABLE_HDF5 GALORE_ENABLE_CUDA_KERNELS GALORE_CUDA_DISPATCH)
  if(${flag})
    set(${flag}_VALUE ON)
  else()
    set(${flag}_VALUE OFF)
  endif()
endforeach()

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/GaloreKokkosConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/GaloreKokkosConfig.cmake
                              INSTALL_DESTINATION ${GALORE_INSTALL_CMAKEDIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/GaloreKokkosConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/GaloreKokkosConfig.cmake
              ${PROJECT_BINARY_DIR}/GaloreKokkosConfigVersion.cmake
              ${PROJECT_SOURCE_DIR}/cmake/FindLAPACKE.cmake
        DESTINATION ${GALORE_INSTALL_CMAKEDIR})
install(EXPORT GaloreKokkosTargets NAMESPACE GaloreKokkos:: DESTINATION ${GALORE_INSTALL_CMAKEDIR})
