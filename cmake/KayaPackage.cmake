# Debian packages with CPack (scripts/package.sh builds them, scripts/check-install.sh
# installs and uses them). CPack rather than a debian/ directory: the packages come out
# of the same build and install rules every other check uses (no second build), and it
# needs nothing beyond cmake, dpkg-dev and file. Three packages, one per install
# component (cmake/KayaInstall.cmake):
# - libkaya0.2 (runtime): libkaya.so.0.2*; named after the SONAME so that the runtime
#   packages of two 0.x versions install side by side. Its dependencies (libc,
#   libstdc++) are computed by dpkg-shlibdeps; it ships a shlibs file and runs
#   ldconfig. A RADOS build suggests librados2: kaya loads it only when a program
#   opens a rados:// log.
# - libkaya-dev (dev): headers, libkaya.a, the libkaya.so link, the CMake package and
#   kaya.pc; depends on exactly this version of libkaya0.2.
# - kaya-wal (tool): the tool, linked with the static library; dpkg-shlibdeps computes
#   its dependencies; a RADOS build suggests librados2 like the library.
# Configure with -DCMAKE_INSTALL_PREFIX=/usr -DKAYA_DEB_LAYOUT=ON (Debian's multiarch
# library directory and per-package documentation); scripts/package.sh does.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME kaya)
set(CPACK_PACKAGE_VENDOR "kaya")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(KAYA_PACKAGE_MAINTAINER "kaya developers <kaya@localhost>" CACHE STRING
    "The Maintainer field of the Debian packages")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${KAYA_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime dev tool)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS OFF)

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME ${KAYA_DEB_PACKAGE_runtime})
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)  # only the runtime package has one
# A program built against 0.2.0 runs with any later 0.2.x (same SONAME, same ABI).
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
if(KAYA_HAVE_RADOS)
  set(CPACK_DEBIAN_RUNTIME_PACKAGE_SUGGESTS librados2)
  set(CPACK_DEBIAN_TOOL_PACKAGE_SUGGESTS librados2)
endif()
set(CPACK_COMPONENT_RUNTIME_DESCRIPTION
    "kaya write-ahead log library: the shared library (SONAME libkaya.so.${KAYA_SOVERSION})")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME ${KAYA_DEB_PACKAGE_dev})
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_SHLIBDEPS OFF)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "${KAYA_DEB_PACKAGE_runtime} (= ${PROJECT_VERSION})")
set(CPACK_COMPONENT_DEV_DESCRIPTION
    "kaya write-ahead log library: headers, static library, CMake and pkg-config files")

set(CPACK_DEBIAN_TOOL_PACKAGE_NAME ${KAYA_DEB_PACKAGE_tool})
set(CPACK_DEBIAN_TOOL_PACKAGE_SECTION utils)
set(CPACK_COMPONENT_TOOL_DESCRIPTION
    "kaya-wal: write, read, inspect, verify and recover kaya write-ahead logs")

include(CPack)
