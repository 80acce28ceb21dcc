# Install rules and the files that let other projects consume kaya:
# - find_package(kaya 0.2 REQUIRED) + target_link_libraries(app kaya::kaya), or
#   kaya::kaya_static for the static library;
# - pkg-config --cflags --libs kaya.
# Every file belongs to one component, one Debian package each (cmake/KayaPackage.cmake):
# runtime (the shared library), dev (headers, static library, the .so link, CMake and
# pkg-config files) and tool (kaya-wal).
include(CMakePackageConfigHelpers)

# The Debian package of each component (cmake/KayaPackage.cmake).
option(KAYA_DEB_LAYOUT "Install the documentation as the Debian packages want it" OFF)
set(KAYA_DEB_PACKAGE_runtime libkaya${KAYA_SOVERSION})
set(KAYA_DEB_PACKAGE_dev libkaya-dev)
set(KAYA_DEB_PACKAGE_tool kaya-wal)

set(KAYA_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/kaya)
set(kaya_install_targets kaya)
if(TARGET kaya_shared)
  list(APPEND kaya_install_targets kaya_shared)
endif()

install(TARGETS ${kaya_install_targets} EXPORT kayaTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime NAMELINK_COMPONENT dev
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
if(TARGET kaya-wal)
  install(TARGETS kaya-wal RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT tool)
endif()
# The public headers and nothing else (src/ holds the internal ones), with the
# generated one that says what this build has (build_config.h).
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/kaya
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT dev
  FILES_MATCHING PATTERN "*.h")
install(FILES ${KAYA_GENERATED_INCLUDE_DIR}/kaya/core/build_config.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/kaya/core COMPONENT dev)

# The license and the changelog: under share/doc/kaya in a plain install; in the
# Debian packages, in each package's own share/doc/PACKAGE (as `copyright`), so that
# two versions' runtime packages can be installed side by side.
if(KAYA_DEB_LAYOUT)
  foreach(component runtime dev tool)
    install(FILES ${PROJECT_SOURCE_DIR}/LICENSE
      DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/${KAYA_DEB_PACKAGE_${component}}
      RENAME copyright COMPONENT ${component})
    install(FILES ${PROJECT_SOURCE_DIR}/CHANGELOG.md
      DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/${KAYA_DEB_PACKAGE_${component}}
      COMPONENT ${component})
  endforeach()
else()
  install(FILES ${PROJECT_SOURCE_DIR}/LICENSE ${PROJECT_SOURCE_DIR}/CHANGELOG.md
    DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT runtime)
endif()

install(EXPORT kayaTargets NAMESPACE kaya:: DESTINATION ${KAYA_CMAKE_DIR} COMPONENT dev)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/kayaConfig.cmake.in
  ${PROJECT_BINARY_DIR}/kayaConfig.cmake
  INSTALL_DESTINATION ${KAYA_CMAKE_DIR})
# While the major version is 0, every minor version may break the API (semantic
# versioning), so find_package(kaya 0.2) accepts 0.2.x and nothing else. From 1.0 on
# this becomes SameMajorVersion.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/kayaConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/kayaConfig.cmake
              ${PROJECT_BINARY_DIR}/kayaConfigVersion.cmake
  DESTINATION ${KAYA_CMAKE_DIR} COMPONENT dev)

# pkg-config: the prefix is found from the .pc file's own place (${pcfiledir}), so the
# installed tree can be moved.
# A RADOS build's static library needs the dynamic loader (Libs.private, which
# `pkg-config --static` adds), never librados: kaya loads it at run time.
string(REGEX REPLACE "[^/]+" ".." KAYA_PC_UP "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
set(KAYA_PC_LIBS_PRIVATE "-pthread")
if(KAYA_HAVE_RADOS AND CMAKE_DL_LIBS)
  string(APPEND KAYA_PC_LIBS_PRIVATE " -l${CMAKE_DL_LIBS}")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/kaya.pc.in ${PROJECT_BINARY_DIR}/kaya.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/kaya.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig
  COMPONENT dev)
