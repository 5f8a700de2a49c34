# Tests of the emulated build (CMT_CUDA_EMULATOR): the CUDA test suite, the emulator's own tests and
# the deliberately broken cases, all labelled `emu`. Included from tests/CMakeLists.txt.
set(cmt_emu_env "OMP_NUM_THREADS=1;TSAN_OPTIONS=halt_on_error=1:abort_on_error=1:report_signal_unsafe=0;CMT_EMU_COVERAGE_DIR=${CMAKE_BINARY_DIR}/emu-coverage")

file(GLOB CMT_CUDA_TESTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/cuda/*.cpp)
add_executable(cmt_cuda_tests ${CMT_CUDA_TESTS})
target_link_libraries(cmt_cuda_tests PRIVATE cmt_test_support)
cmt_target_warnings(cmt_cuda_tests)
doctest_discover_tests(cmt_cuda_tests TEST_PREFIX "emu.cuda." PROPERTIES LABELS emu SKIP_RETURN_CODE 77 TIMEOUT 900)

# The op-case table's CUDA rows on the emulated device.
include(${CMAKE_CURRENT_SOURCE_DIR}/ops/register.cmake)
cmt_op_case_tests(PREFIX "emu.ops." MODES "^cuda[.]" LABELS emu ENVIRONMENT "${cmt_emu_env}" TIMEOUT 900)

file(GLOB CMT_EMU_TESTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/emu/test_*.cpp)
add_executable(cmt_emu_tests ${CMAKE_CURRENT_SOURCE_DIR}/unit/main.cpp ${CMT_EMU_TESTS})
target_link_libraries(cmt_emu_tests PRIVATE cmt_test_support)
target_compile_options(cmt_emu_tests PRIVATE ${CMT_EMU_KERNEL_FLAGS})
target_compile_definitions(cmt_emu_tests PRIVATE CMT_SOURCE_DIR="${CMAKE_SOURCE_DIR}" CMT_BINARY_DIR="${CMAKE_BINARY_DIR}")
cmt_target_warnings(cmt_emu_tests)
doctest_discover_tests(cmt_emu_tests TEST_PREFIX "emu." PROPERTIES LABELS emu ENVIRONMENT "${cmt_emu_env}" TIMEOUT 300)

file(GLOB CMT_RUNNER_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/oracle/runner/*.cpp)
add_executable(cmt_op_runner ${CMT_RUNNER_SOURCES})
target_link_libraries(cmt_op_runner PRIVATE cmt_models cmt_data cmt_engine)
cmt_target_warnings(cmt_op_runner)

add_executable(cmt_mpi_check ${CMAKE_CURRENT_SOURCE_DIR}/mpi/mpi_check.cpp)
target_include_directories(cmt_mpi_check PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(cmt_mpi_check PRIVATE cmt_models cmt_data cmt_engine)
cmt_target_warnings(cmt_mpi_check)

# Deliberately broken kernels and host code, each of which the emulator must flag.
include(${CMAKE_CURRENT_SOURCE_DIR}/emu/broken.cmake OPTIONAL)
# Every __global__ function of kernels/cuda launched by the suite; access counters.
include(${CMAKE_CURRENT_SOURCE_DIR}/emu/coverage.cmake OPTIONAL)
# `cmt train` and the PyTorch oracles on the emulated device.
include(${CMAKE_CURRENT_SOURCE_DIR}/emu/e2e.cmake OPTIONAL)
# Two ranks over emulated NCCL.
include(${CMAKE_CURRENT_SOURCE_DIR}/emu/mpi.cmake OPTIONAL)
