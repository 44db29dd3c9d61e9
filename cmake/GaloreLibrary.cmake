# galore_add_library(<name> SOURCES ... [PUBLIC_LIBRARIES ...] [PRIVATE_LIBRARIES ...])
#
# One static library per layer of src/ and io/. Headers are included as "galore/<layer>/x.hpp"
# (src/) and "io/<part>/x.hpp" (io/). Every library made here is recorded in the global
# property GALORE_LIBRARIES, which the install/export rules read, so adding a module needs no edit
# anywhere else.
function(galore_add_library name)
  cmake_parse_arguments(arg "" "" "SOURCES;PUBLIC_LIBRARIES;PRIVATE_LIBRARIES" ${ARGN})
  add_library(${name} STATIC ${arg_SOURCES})
  target_include_directories(${name} PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/src>
                                            $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}>
                                            $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>
                                            $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}/galore>)
  target_link_libraries(${name} PUBLIC Kokkos::kokkos ${arg_PUBLIC_LIBRARIES}
                        PRIVATE $<BUILD_INTERFACE:galore_warnings> ${arg_PRIVATE_LIBRARIES})
  set_property(GLOBAL APPEND PROPERTY GALORE_LIBRARIES ${name})
endfunction()
