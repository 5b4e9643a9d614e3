# ms_add_test(NAME SOURCE LABEL TIMEOUT): one cmocka executable per test file.
# Tests find the source tree, the built binary and the real traces (MS_TESTDATA/data/...,
# by default tests/data: copies of public traces, see tests/data/README.md) through
# environment variables.
set(MS_TESTDATA_DIR "${CMAKE_SOURCE_DIR}/tests" CACHE PATH "directory whose data/ holds the real traces the tests read")
function(ms_add_test name src label timeout)
  add_executable(${name} ${src})
  target_link_libraries(${name} PRIVATE modserve_lib PkgConfig::CMOCKA)
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES TIMEOUT ${timeout} LABELS ${label}
    ENVIRONMENT "MS_SRC_DIR=${CMAKE_SOURCE_DIR};MS_BIN=$<TARGET_FILE:modserve>;MS_TESTDATA=${MS_TESTDATA_DIR};MS_TMP=${CMAKE_BINARY_DIR}/testtmp")
endfunction()

# ms_add_script_test(NAME SCRIPT LABEL TIMEOUT): a shell test that runs the built modserve.
function(ms_add_script_test name script label timeout)
  add_test(NAME ${name} COMMAND bash ${script})
  set_tests_properties(${name} PROPERTIES TIMEOUT ${timeout} LABELS ${label}
    ENVIRONMENT "MS_SRC_DIR=${CMAKE_SOURCE_DIR};MS_BIN=$<TARGET_FILE:modserve>;MS_TESTDATA=${MS_TESTDATA_DIR};MS_TMP=${CMAKE_BINARY_DIR}/testtmp")
endfunction()
