# Two ranks on emulated devices over the emulated NCCL (NCCL's contract enforced, collectives over MPI).
find_program(CMT_MPIRUN NAMES mpirun mpiexec)
if(CMT_MPIRUN)
  set(cmt_emu_mpirun ${CMT_MPIRUN} --oversubscribe --allow-run-as-root --mca btl self,vader --mca btl_vader_single_copy_mechanism none -np)
  set(cmt_emu_mpi_check $<TARGET_FILE:cmt_mpi_check>)
  add_test(NAME emu.mpi_nccl_collectives COMMAND ${cmt_emu_mpirun} 2 ${cmt_emu_mpi_check} comm-ops-cuda)
  add_test(NAME emu.mpi_nccl_equal_no_bn COMMAND ${cmt_emu_mpirun} 2 ${cmt_emu_mpi_check} equal-nobn-cuda)
  add_test(NAME emu.mpi_nccl_equal_sync_bn COMMAND ${cmt_emu_mpirun} 2 ${cmt_emu_mpi_check} equal-syncbn-cuda)
  add_test(NAME emu.mpi_nccl_host_pointer
           COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/mpi/expect_failure.sh 120 "ncclAllReduce: sendbuff .*not device memory"
                   ${cmt_emu_mpirun} 2 ${cmt_emu_mpi_check} nccl-host-pointer)
  set_tests_properties(emu.mpi_nccl_collectives emu.mpi_nccl_equal_no_bn emu.mpi_nccl_equal_sync_bn emu.mpi_nccl_host_pointer
                       PROPERTIES LABELS emu ENVIRONMENT "${cmt_emu_env};OMPI_MCA_mpi_yield_when_idle=1" PROCESSORS 2 TIMEOUT 900)
endif()
