# The op-case table (tests/ops): one binary, one CTest test per case and mode, listed by the binary
# itself after each build (tests/ops/write_ctest.cmake). Included from tests/CMakeLists.txt with
#   cmt_op_case_tests(PREFIX <ctest prefix> MODES <regex of ids> [LABELS ...] [ENVIRONMENT ...])
set(CMT_OP_CASE_DIR ${CMAKE_CURRENT_LIST_DIR})
file(GLOB CMT_OP_CASE_SOURCES CONFIGURE_DEPENDS ${CMT_OP_CASE_DIR}/*.cpp)
add_executable(cmt_op_tests ${CMT_OP_CASE_SOURCES})
target_link_libraries(cmt_op_tests PRIVATE cmt_test_support)
cmt_target_warnings(cmt_op_tests)

# The comparisons themselves can fail: perturbed, missing and reshaped outputs are caught.
if(NOT CMT_CUDA_EMULATOR)
  add_test(NAME ops.driver_detects COMMAND cmt_op_tests selfcheck)
endif()

function(cmt_op_case_tests)
  cmake_parse_arguments(arg "" "PREFIX;MODES;PYTHON;TIMEOUT" "LABELS;ENVIRONMENT" ${ARGN})
  # Lists travel as '|'-separated text: a ';' would split the command's argument.
  string(REPLACE ";" "|" labels "${arg_LABELS}")
  string(REPLACE ";" "|" environment "${arg_ENVIRONMENT}")
  set(listing "${CMAKE_CURRENT_BINARY_DIR}/cmt_op_tests_ctest.cmake")
  add_custom_command(TARGET cmt_op_tests POST_BUILD
                     COMMAND ${CMAKE_COMMAND} -DEXE=$<TARGET_FILE:cmt_op_tests> -DOUT=${listing} -DPREFIX=${arg_PREFIX}
                             "-DMODES=${arg_MODES}" "-DLABELS=${labels}" "-DENVIRONMENT=${environment}"
                             -DPYTHON=${arg_PYTHON} -DORACLE=${CMT_OP_CASE_DIR}/torch_oracle.py -DTIMEOUT=${arg_TIMEOUT}
                             -P ${CMT_OP_CASE_DIR}/write_ctest.cmake
                     BYPRODUCTS ${listing} VERBATIM)
  # Before the first build the listing does not exist yet: one test says so instead of none.
  set(guard "${CMAKE_CURRENT_BINARY_DIR}/cmt_op_tests_include.cmake")
  file(WRITE ${guard} "if(EXISTS \"${listing}\")\n  include(\"${listing}\")\nelse()\n"
                      "  add_test(${arg_PREFIX}NOT_BUILT ${CMAKE_COMMAND} -E echo \"cmt_op_tests is not built\")\n"
                      "  set_tests_properties(${arg_PREFIX}NOT_BUILT PROPERTIES WILL_FAIL TRUE)\nendif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${guard})
endfunction()
