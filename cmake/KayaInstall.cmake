# Install rules and the files that let other projects consume kaya:
# - find_package(kaya 0.1 REQUIRED) + target_link_libraries(app kaya::kaya), or
#   kaya::kaya_static for the static library;
# - pkg-config --cflags --libs kaya.
include(CMakePackageConfigHelpers)

set(KAYA_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/kaya)
set(kaya_install_targets kaya)
if(TARGET kaya_shared)
  list(APPEND kaya_install_targets kaya_shared)
endif()

install(TARGETS ${kaya_install_targets} EXPORT kayaTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS kaya-wal RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# The public headers and nothing else: src/ holds the internal ones.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/kaya
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.h")

install(FILES ${PROJECT_SOURCE_DIR}/LICENSE ${PROJECT_SOURCE_DIR}/CHANGELOG.md
  DESTINATION ${CMAKE_INSTALL_DOCDIR})

install(EXPORT kayaTargets NAMESPACE kaya:: DESTINATION ${KAYA_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/kayaConfig.cmake.in
  ${PROJECT_BINARY_DIR}/kayaConfig.cmake
  INSTALL_DESTINATION ${KAYA_CMAKE_DIR})
# While the major version is 0, every minor version may break the API (semantic
# versioning), so find_package(kaya 0.1) accepts 0.1.x and nothing else. From 1.0 on
# this becomes SameMajorVersion.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/kayaConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/kayaConfig.cmake
              ${PROJECT_BINARY_DIR}/kayaConfigVersion.cmake
  DESTINATION ${KAYA_CMAKE_DIR})

# pkg-config: the prefix is found from the .pc file's own place (${pcfiledir}), so the
# installed tree can be moved.
string(REGEX REPLACE "[^/]+" ".." KAYA_PC_UP "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
configure_file(${PROJECT_SOURCE_DIR}/cmake/kaya.pc.in ${PROJECT_BINARY_DIR}/kaya.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/kaya.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
