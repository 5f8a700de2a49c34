# Kernel coverage and access counters of the emulated suite. Every emu test records the kernels it
# launches (CMT_EMU_COVERAGE_DIR in cmt_emu_env, emu/coverage.cpp); emu.coverage_reset empties the
# records before any of them runs and emu.kernel_coverage checks them after all of them ran: every
# __global__ function of kernels/cuda must have been launched. A failing emu test leaves the check
# not run (a fixture setup failed): its kernels may be the missing ones.
set(cmt_emu_coverage_dir ${CMAKE_BINARY_DIR}/emu-coverage)
find_program(CMT_EMU_PYTHON NAMES python3 REQUIRED)

add_test(NAME emu.coverage_reset COMMAND ${CMAKE_COMMAND} -E rm -rf ${cmt_emu_coverage_dir})
set_tests_properties(emu.coverage_reset PROPERTIES LABELS emu FIXTURES_SETUP emu_coverage_clean)

add_test(NAME emu.kernel_coverage COMMAND ${CMT_EMU_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/kernel_coverage.py
                                          --kernels ${CMAKE_SOURCE_DIR}/kernels/cuda --records ${cmt_emu_coverage_dir})
set_tests_properties(emu.kernel_coverage PROPERTIES LABELS emu FIXTURES_REQUIRED emu_all TIMEOUT 60)

# The conv benchmark on a tiny 2D layer set: per-pass tensor-core work against the problem's FLOPs,
# then the emulator's counters table (cp.async sectors, shared wavefronts) on stderr.
add_test(NAME emu.bench_conv_counters
         COMMAND $<TARGET_FILE:cmt_bench_conv> --device cuda:0 --quick --dims 2 --batch2d 1 --res2d 16 --precision both
                 --budget-s 10)
set_tests_properties(emu.bench_conv_counters PROPERTIES LABELS emu ENVIRONMENT "${cmt_emu_env}" TIMEOUT 120
                     PASS_REGULAR_EXPRESSION "kernel \\(emulated device\\) +launches.*tc_kernel<")

# Tests declared at configure time, here and in the files included after this one: between the
# reset and the check. Deferred to the end of the directory so that every one of them exists.
function(cmt_emu_coverage_order)
  get_property(tests DIRECTORY PROPERTY TESTS)
  foreach(t IN LISTS tests)
    get_test_property(${t} LABELS labels)
    if(t STREQUAL "emu.coverage_reset" OR t STREQUAL "emu.kernel_coverage" OR NOT "emu" IN_LIST labels)
      continue()
    endif()
    set_property(TEST ${t} APPEND PROPERTY FIXTURES_REQUIRED emu_coverage_clean)
    set_property(TEST ${t} APPEND PROPERTY FIXTURES_SETUP emu_all)
    get_test_property(${t} ENVIRONMENT env)
    if(NOT env MATCHES "CMT_EMU_COVERAGE_DIR=")
      set_property(TEST ${t} APPEND PROPERTY ENVIRONMENT CMT_EMU_COVERAGE_DIR=${cmt_emu_coverage_dir})
    endif()
  endforeach()
endfunction()
cmake_language(DEFER CALL cmt_emu_coverage_order)

# Tests doctest_discover_tests finds at build time: CTest reads their names from the <target>_TESTS
# lists the discovery scripts set, in this file included after theirs. cmt_emu_env is added to
# their ENVIRONMENT (CTest appends): doctest_discover_tests passes a list-valued property on as
# separate arguments, so only its first element (OMP_NUM_THREADS) arrives there.
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/emu_coverage_order.cmake "set(cmt_emu_env [==[${cmt_emu_env}]==])\n" [=[
get_cmake_property(cmt_vars VARIABLES)
foreach(cmt_var IN LISTS cmt_vars)
  if(cmt_var MATCHES "_TESTS$")
    set(cmt_names)
    foreach(cmt_t IN LISTS ${cmt_var})
      if(cmt_t MATCHES "^emu\\.")
        list(APPEND cmt_names "${cmt_t}")
      endif()
    endforeach()
    if(cmt_names)
      set_tests_properties(${cmt_names} PROPERTIES ENVIRONMENT "${cmt_emu_env}" FIXTURES_REQUIRED emu_coverage_clean
                           FIXTURES_SETUP emu_all)
    endif()
  endif()
endforeach()
]=])
set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${CMAKE_CURRENT_BINARY_DIR}/emu_coverage_order.cmake)
