# Installs headers, libraries, the CMake package (coringConfig.cmake + version file)
# and a pkg-config file, so another project can `find_package(coring)` and link
# `coring::coring`, or use `pkg-config --cflags --libs coring`.
include(CMakePackageConfigHelpers)

install(TARGETS coring_core coring_io coring_sched coring
        EXPORT coringTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
foreach(layer core io sched)
  if(EXISTS ${PROJECT_SOURCE_DIR}/${layer}/include)  # io has no public headers yet
    install(DIRECTORY ${PROJECT_SOURCE_DIR}/${layer}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  endif()
endforeach()

set(CORING_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/coring)
install(EXPORT coringTargets NAMESPACE coring:: DESTINATION ${CORING_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/tools/cmake/coringConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/coringConfig.cmake
                              INSTALL_DESTINATION ${CORING_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/coringConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/coringConfig.cmake ${PROJECT_BINARY_DIR}/coringConfigVersion.cmake
        DESTINATION ${CORING_CMAKE_DIR})

# The .pc file locates the prefix relative to itself, so `cmake --install --prefix X`
# works wherever X is.
file(RELATIVE_PATH CORING_PC_TO_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
configure_file(${PROJECT_SOURCE_DIR}/tools/cmake/coring.pc.in ${PROJECT_BINARY_DIR}/coring.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/coring.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
