# Deliberately broken kernels and host code (tests/emu/broken): emu.broken.<case> passes only when
# the emulator flags the bug (a non-zero exit and the expected message); emu.broken.<case>-fixed runs
# the corrected code, which must exit 0 with the right numbers, so no case can pass vacuously.
file(GLOB CMT_EMU_BROKEN_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/emu/broken/*.cpp)
add_executable(cmt_emu_broken ${CMT_EMU_BROKEN_SOURCES})
target_link_libraries(cmt_emu_broken PRIVATE cmt_kernels)
# Instrumented as the kernels are (ThreadSanitizer, UBSan alignment).
target_compile_options(cmt_emu_broken PRIVATE ${CMT_EMU_KERNEL_FLAGS})
cmt_target_warnings(cmt_emu_broken)

function(cmt_emu_broken_case name regex)
  add_test(NAME emu.broken.${name}
           COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/emu/expect_flagged.sh "${regex}" $<TARGET_FILE:cmt_emu_broken> ${name})
  add_test(NAME emu.broken.${name}-fixed COMMAND $<TARGET_FILE:cmt_emu_broken> ${name}-fixed)
  set_tests_properties(emu.broken.${name} emu.broken.${name}-fixed PROPERTIES LABELS emu ENVIRONMENT "${cmt_emu_env}" TIMEOUT 120)
endfunction()

if(CMT_EMU_SANITIZER STREQUAL "thread")  # only ThreadSanitizer sees a missing barrier
  cmt_emu_broken_case(missing-barrier
    "ThreadSanitizer: data race.*the report above was raised in kernel .*neighbour_unsynced_kernel.* block \\(0,0,0\\) thread \\(")
endif()
cmt_emu_broken_case(divergent-barrier
  "split_barrier_kernel.*divergent barrier: this thread waits at .*barriers\\.cpp:[0-9]+ while thread .* waits at .*barriers\\.cpp:[0-9]+")
cmt_emu_broken_case(cp-async-early-read "read before cp\\.async\\.wait_group: NaN poison")
cmt_emu_broken_case(global-overrun
  "kernel .*scale_overrun_kernel.* (wrote past the end of a device allocation|out-of-bounds access)")
cmt_emu_broken_case(misaligned-float4 "misaligned address .*float4.*requires 16 byte alignment")
cmt_emu_broken_case(grid-y-overflow
  "launch of .*row_index_y_kernel.* refused: .*grid\\.y and grid\\.z may be at most 65535.*cudaErrorInvalidConfiguration")
cmt_emu_broken_case(dynamic-smem-no-attribute
  "launch of .*reverse_kernel.* refused: .*need cudaFuncSetAttribute\\(MaxDynamicSharedMemorySize\\)")
cmt_emu_broken_case(shfl-exited-lane
  "pair_sum_full_mask_kernel.*(__shfl_xor_sync with mask 0xffffffff names lane [0-9]+, which has exited|\
this lane exited while lanes of its warp wait for it in __shfl_xor_sync)")
cmt_emu_broken_case(mma-b-transposed "mma result differs from the host product")
cmt_emu_broken_case(host-deref "host access to device memory")
cmt_emu_broken_case(stream-no-event "consumer saw stale data")
cmt_emu_broken_case(nccl-host-pointer "ncclAllReduce: sendbuff .* is not device memory")
cmt_emu_broken_case(graph-freed-buffer "kernel .*fill_kernel.*: access to freed device memory")
cmt_emu_broken_case(barrier-deadlock
  "barrier_before_shuffle_kernel.* deadlock: no thread can move.* waits at __syncthreads.* waits in __shfl_sync")
cmt_emu_broken_case(sync-in-capture
  "cudaStreamSynchronize is not allowed while a CUDA Graph capture.*cudaErrorStreamCaptureUnsupported")
