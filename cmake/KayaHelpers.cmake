# Compiler flags and the kaya_test() helper.

function(kaya_setup_compiler)
  add_compile_options(-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                      -Wimplicit-fallthrough)
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

# kaya_test(NAME src1.cc [src2.cc ...]): a GoogleTest executable linked with kaya whose
# cases are each registered with CTest (a failure names the case).
function(kaya_test name)
  add_executable(${name} ${ARGN})
  target_link_libraries(${name} PRIVATE kaya kaya_testing GTest::gtest GTest::gmock
                                        GTest::gtest_main)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60
                       PROPERTIES TIMEOUT 300
                                  ENVIRONMENT "KAYA_GOLDEN_DIR=${PROJECT_SOURCE_DIR}/tests/golden")
endfunction()
