# Helpers that give every Cloister target the same warnings, sanitizers and layout.
#
#   cloister_library(NAME SOURCES ... DEPS ...)   -> target cloister_NAME (alias cloister::NAME)
#   cloister_test(NAME SOURCES ... DEPS ...)      -> GoogleTest executable registered with CTest
#   cloister_executable(NAME SOURCES ... DEPS ...)

set(CLOISTER_WARNINGS
    -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Werror
    -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual -Wnull-dereference
    -Wimplicit-fallthrough
    # Designated initializers with default member initializers are how we build option structs;
    # GCC 12 warns about every omitted field, which -Wextra would turn into an error.
    -Wno-missing-field-initializers
    # GCC 12 reports -Wnull-dereference false positives from inlined library code at -O2 (Boost.Asio's
    # scheduler, std::optional in tee/nitro.cc): still reported, but an error only in Debug builds
    # (the dev and fuzz presets), where it has no such false positives.
    $<$<NOT:$<CONFIG:Debug>>:-Wno-error=null-dereference>)

add_library(cloister_options INTERFACE)
target_compile_options(cloister_options INTERFACE ${CLOISTER_WARNINGS})
if(CLOISTER_SANITIZE)
  target_compile_options(cloister_options INTERFACE
      -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  target_link_options(cloister_options INTERFACE -fsanitize=address,undefined)
endif()

function(cloister_target_setup target)
  target_link_libraries(${target} PRIVATE cloister_options)
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/src)
endfunction()

function(cloister_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(cloister_${name} STATIC ${ARG_SOURCES})
  add_library(cloister::${name} ALIAS cloister_${name})
  target_include_directories(cloister_${name} PUBLIC ${PROJECT_SOURCE_DIR}/include)
  target_link_libraries(cloister_${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  cloister_target_setup(cloister_${name})
endfunction()

function(cloister_executable name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  cloister_target_setup(${name})
endfunction()

# Each test executable is discovered when CTest runs (not at build time), so a sanitizer
# build does not execute tests during the build. Tests find the shared vectors through
# CLOISTER_VECTORS (see testing/vectors.h).
function(cloister_test name)
  if(NOT CLOISTER_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 600)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  cloister_target_setup(${name})
  gtest_discover_tests(${name}
      DISCOVERY_MODE PRE_TEST
      DISCOVERY_TIMEOUT 60
      PROPERTIES
        ENVIRONMENT "CLOISTER_VECTORS=${CLOISTER_VECTORS_DIR};CLOISTER_SOURCE_DIR=${PROJECT_SOURCE_DIR}"
        TIMEOUT ${ARG_TIMEOUT}
        LABELS "${ARG_LABELS}")
endfunction()
