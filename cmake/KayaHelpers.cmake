# Compiler flags and the kaya_test() helper.

function(kaya_setup_compiler)
  add_compile_options(-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                      -Wimplicit-fallthrough)
  # clang checks the lock contracts written with src/core/mutex.h's annotations.
  if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    add_compile_options(-Wthread-safety)
  endif()
  if(KAYA_WERROR)
    add_compile_options(-Werror)
  endif()
  if(KAYA_SANITIZE STREQUAL "address")
    add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all
                        -fno-omit-frame-pointer)
    add_link_options(-fsanitize=address,undefined)
  elseif(KAYA_SANITIZE STREQUAL "thread")
    add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
    add_link_options(-fsanitize=thread)
    add_compile_definitions(KAYA_TSAN=1)
  elseif(NOT KAYA_SANITIZE STREQUAL "")
    message(FATAL_ERROR "KAYA_SANITIZE must be empty, 'address' or 'thread'")
  endif()
endfunction()

# kaya_test(NAME src1.cc [src2.cc ...] [COST seconds]): a GoogleTest executable linked
# with kaya whose cases are each registered with CTest (a failure names the case).
# COST gives the seconds of its longest case in the slower sanitizer build, roughly:
# `ctest -j` starts the costliest cases first, which matters on a fresh build tree (CI),
# where CTest has no timings of its own yet and would start them in declaration order,
# the longest last, with one core idle meanwhile.
function(kaya_test name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "COST" "")
  add_executable(${name} ${arg_UNPARSED_ARGUMENTS})
  target_link_libraries(${name} PRIVATE kaya kaya_testing GTest::gtest GTest::gmock
                                        GTest::gtest_main)
  if(KAYA_UNITY_TESTS)
    set_target_properties(${name} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE 0)
  endif()
  set(cost 0)
  if(arg_COST)
    set(cost ${arg_COST})
  endif()
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60
                       PROPERTIES TIMEOUT 300 COST ${cost}
                                  ENVIRONMENT "KAYA_GOLDEN_DIR=${PROJECT_SOURCE_DIR}/tests/golden")
endfunction()
